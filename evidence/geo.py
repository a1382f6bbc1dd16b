"""Distances on the Earth and the geofence rule with its GPS-accuracy allowance."""

from __future__ import annotations

from math import asin, cos, radians, sin, sqrt

# IUGG mean Earth radius. The sphere is off from the ellipsoid by at most 0.5 %: under a metre
# at geofence scale, and nothing a 150 km/h travel check could notice.
EARTH_RADIUS_M = 6_371_008.8

# SPEC: the allowance for reported GPS error is capped, so that a fix claiming 2 km of error
# cannot stretch a 150 m geofence over half a town.
ACCURACY_ALLOWANCE_CAP_M = 100.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS84 points (haversine)."""
    phi1, phi2 = radians(lat1), radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = radians(lon2 - lon1)
    h = sin(d_phi / 2) ** 2 + cos(phi1) * cos(phi2) * sin(d_lambda / 2) ** 2
    # min(): rounding can push h a hair above 1 for antipodal points, and asin would fail.
    return 2 * EARTH_RADIUS_M * asin(min(1.0, sqrt(h)))


def accuracy_allowance_m(
    accuracy_m: float | None, cap_m: float = ACCURACY_ALLOWANCE_CAP_M
) -> float:
    """The slack a fix's reported error earns: min(accuracy, cap); none when not reported."""
    if accuracy_m is None or accuracy_m <= 0:
        return 0.0
    return min(accuracy_m, cap_m)


def fence_limit_m(
    radius_m: float, accuracy_m: float | None, cap_m: float = ACCURACY_ALLOWANCE_CAP_M
) -> float:
    """The distance beyond which a fix is outside a geofence: radius + accuracy allowance."""
    return radius_m + accuracy_allowance_m(accuracy_m, cap_m)


def is_outside_fence(
    distance: float,
    radius_m: float,
    accuracy_m: float | None,
    cap_m: float = ACCURACY_ALLOWANCE_CAP_M,
) -> bool:
    """True when a fix at ``distance`` metres from the centre is outside the geofence."""
    return distance > fence_limit_m(radius_m, accuracy_m, cap_m)
