"""Distances and the geofence rule with its capped GPS-accuracy allowance."""

from __future__ import annotations

from math import pi

import pytest

from evidence.geo import (
    EARTH_RADIUS_M,
    accuracy_allowance_m,
    distance_m,
    fence_limit_m,
    is_outside_fence,
)

SCHOOL = (-6.8200, 107.1400)  # Cianjur


def north_of(lat: float, lon: float, metres: float) -> tuple[float, float]:
    """A point due north: along a meridian the haversine distance is exactly R * dlat."""
    return lat + metres / EARTH_RADIUS_M * 180 / pi, lon


def test_distance_to_the_same_point_is_zero() -> None:
    assert distance_m(*SCHOOL, *SCHOOL) == 0


def test_one_degree_of_latitude_is_about_111_km() -> None:
    assert distance_m(0, 107, 1, 107) == pytest.approx(111_195, abs=1)


def test_distance_along_a_parallel_shrinks_with_latitude() -> None:
    at_equator = distance_m(0, 107, 0, 108)
    near_cianjur = distance_m(-6.82, 107, -6.82, 108)
    assert near_cianjur == pytest.approx(at_equator * 0.99292, rel=1e-4)  # cos(6.82 deg)


def test_distance_is_symmetric() -> None:
    bandung = (-6.9025, 107.6188)
    assert distance_m(*SCHOOL, *bandung) == pytest.approx(distance_m(*bandung, *SCHOOL))


def test_jakarta_to_bandung_is_about_118_km() -> None:
    monas, gedung_sate = (-6.1754, 106.8272), (-6.9025, 107.6188)
    assert distance_m(*monas, *gedung_sate) == pytest.approx(119_000, rel=0.02)


def test_antipodal_points_are_half_the_circumference_apart() -> None:
    assert distance_m(-6.82, 107.14, 6.82, 107.14 - 180) == pytest.approx(pi * EARTH_RADIUS_M)


def test_north_of_helper_gives_exact_distances() -> None:
    assert distance_m(*SCHOOL, *north_of(*SCHOOL, 162.0)) == pytest.approx(162.0, abs=1e-6)


@pytest.mark.parametrize(
    ("accuracy_m", "allowance"),
    [(None, 0.0), (0.0, 0.0), (-5.0, 0.0), (12.0, 12.0), (99.9, 99.9), (100.0, 100.0)],
)
def test_allowance_is_the_reported_accuracy(accuracy_m: float | None, allowance: float) -> None:
    assert accuracy_allowance_m(accuracy_m) == allowance


@pytest.mark.parametrize("accuracy_m", [100.1, 250.0, 5_000.0])
def test_accuracy_allowance_is_capped_at_100_m(accuracy_m: float) -> None:
    assert accuracy_allowance_m(accuracy_m) == 100.0
    assert fence_limit_m(150.0, accuracy_m) == 250.0


def test_allowance_cap_is_a_parameter() -> None:
    assert accuracy_allowance_m(80.0, cap_m=50.0) == 50.0


def test_exactly_radius_plus_allowance_is_inside() -> None:
    assert not is_outside_fence(162.0, 150.0, 12.0)
    assert is_outside_fence(162.01, 150.0, 12.0)


def test_exactly_radius_plus_capped_allowance_is_inside() -> None:
    assert not is_outside_fence(250.0, 150.0, 400.0)
    assert is_outside_fence(250.01, 150.0, 400.0)


def test_unreported_accuracy_earns_no_allowance() -> None:
    assert not is_outside_fence(150.0, 150.0, None)
    assert is_outside_fence(150.01, 150.0, None)
