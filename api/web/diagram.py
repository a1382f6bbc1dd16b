"""The distance diagram of an item's page: the school's geofence, the ring the GPS accuracy
adds to it, and where the photo was taken, drawn to scale as an inline SVG (no map tiles:
school networks are often offline, and a map would send positions to a third party)."""

from __future__ import annotations

from dataclasses import dataclass
from math import atan2, cos, floor, hypot, log10, radians, sin

from evidence.geo import accuracy_allowance_m, distance_m

_M_PER_DEGREE_LAT = 110_574.0
_M_PER_DEGREE_LON_AT_EQUATOR = 111_320.0


@dataclass(frozen=True)
class FenceDiagram:
    """Everything the SVG draws, in metres from the fence's centre (y grows southwards)."""

    radius_m: float
    limit_m: float  # radius plus the accuracy allowance
    x_m: float
    y_m: float
    distance_m: float
    accuracy_m: float | None
    extent_m: float  # half the side of the square drawn
    scale_m: float  # the length of the scale bar
    is_outside: bool

    @property
    def view_box(self) -> str:
        """The SVG viewBox: a square centred on the fence."""
        e = self.extent_m
        return f"{-e:.1f} {-e:.1f} {2 * e:.1f} {2 * e:.1f}"

    @property
    def unit(self) -> float:
        """One "pixel" of a 360-wide drawing, in metres: sizes of marks and text."""
        return 2 * self.extent_m / 360


def nice_length(target_m: float) -> float:
    """The 1, 2 or 5 times a power of ten nearest below ``target_m`` (a scale bar's length)."""
    if target_m <= 0:
        return 1.0
    power = 10 ** floor(log10(target_m))
    for step in (5, 2, 1):
        if step * power <= target_m:
            return float(step * power)
    return float(power)


def fence_diagram(
    fence_lat: float,
    fence_lon: float,
    radius_m: float,
    point_lat: float,
    point_lon: float,
    accuracy_m: float | None,
    allowance_cap_m: float,
) -> FenceDiagram:
    """The diagram of a position against a geofence, with the same allowance the flag uses."""
    distance = distance_m(fence_lat, fence_lon, point_lat, point_lon)
    # the direction from a local flat projection; the length from the great-circle distance
    east = (point_lon - fence_lon) * _M_PER_DEGREE_LON_AT_EQUATOR * cos(radians(fence_lat))
    north = (point_lat - fence_lat) * _M_PER_DEGREE_LAT
    bearing = atan2(north, east) if hypot(east, north) > 0 else 0.0
    x, y = distance * cos(bearing), -distance * sin(bearing)
    limit = radius_m + accuracy_allowance_m(accuracy_m, allowance_cap_m)
    reach = max(limit, distance + min(accuracy_m or 0.0, distance + limit), 10.0)
    extent = reach * 1.12
    return FenceDiagram(
        radius_m=radius_m,
        limit_m=limit,
        x_m=x,
        y_m=y,
        distance_m=distance,
        accuracy_m=accuracy_m,
        extent_m=extent,
        scale_m=nice_length(extent * 0.6),
        is_outside=distance > limit,
    )
