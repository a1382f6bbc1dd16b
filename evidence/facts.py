"""What an item's metadata says, each value with the place it came from.

Sources are short strings such as ``exif:DateTimeOriginal``, ``exif:GPS``, ``heif:exif``,
``client`` or ``assumed:school_zone``, so a reviewer can see why Bukti believes a value.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Sourced(Generic[T]):
    """A value and where it was read from."""

    value: T
    source: str


@dataclass(frozen=True)
class Location:
    """A position in WGS84, with the horizontal error the device reported when it did."""

    lat: float
    lon: float
    altitude_m: float | None = None
    accuracy_m: float | None = None


@dataclass(frozen=True)
class CaptureFacts:
    """Everything extracted from a photo's metadata that verification needs.

    ``captured_local`` is the wall-clock time the camera wrote (naive); ``utc_offset_min``
    is the offset written beside it, when there was one. ``gps_time_utc`` is the GPS fix
    time, which is always UTC and often older than the photo (phones cache fixes).
    """

    width: int
    height: int
    format: str
    captured_local: Sourced[datetime] | None = None
    utc_offset_min: Sourced[int] | None = None
    modified_local: Sourced[datetime] | None = None
    gps_time_utc: Sourced[datetime] | None = None
    location: Sourced[Location] | None = None
    make: Sourced[str] | None = None
    model: Sourced[str] | None = None
    software: Sourced[str] | None = None
    creator_tool: Sourced[str] | None = None
    orientation: Sourced[int] | None = None
    has_exif_thumbnail: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_camera_tags(self) -> bool:
        """True when a camera make or model was written, as real camera files have."""
        return self.make is not None or self.model is not None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: each sourced value as ``{"value": ..., "source": ...}``."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Sourced):
                out[f.name] = {"value": plain(value.value), "source": value.source}
            elif value is not None:
                out[f.name] = plain(value)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaptureFacts:
        """The inverse of :meth:`to_json`."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            raw = data[f.name]
            if isinstance(raw, dict) and set(raw) == {"value", "source"}:
                kwargs[f.name] = Sourced(
                    parse(f.name, raw["value"], _DATETIME_FIELDS), raw["source"]
                )
            else:
                kwargs[f.name] = raw
        return cls(**kwargs)


_DATETIME_FIELDS = {"captured_local", "modified_local", "gps_time_utc"}


def plain(value: Any) -> Any:
    """A fact's value as JSON takes it: datetimes as ISO text, locations as objects."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Location):
        return {
            "lat": value.lat,
            "lon": value.lon,
            "altitude_m": value.altitude_m,
            "accuracy_m": value.accuracy_m,
        }
    return value


def parse(name: str, value: Any, datetime_fields: frozenset[str] | set[str]) -> Any:
    """The inverse of :func:`plain` for the field ``name``."""
    if name in datetime_fields:
        return datetime.fromisoformat(value)
    if name == "location":
        return Location(**value)
    return value
