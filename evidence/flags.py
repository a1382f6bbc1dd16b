"""The flag codes and severities of SPEC.md, in one place.

A flag never rejects anything by itself: it sends the item to a reviewer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

#: a value a detail names: JSON-safe, and typed by its name's ending (see :class:`Phrase`)
Value = str | int | float


class Severity(StrEnum):
    """How much a flag weighs; medium and high send the item to a reviewer."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def needs_review(self) -> bool:
        """True for the severities that stop an item from being accepted on its own."""
        return self in (Severity.MEDIUM, Severity.HIGH)


class Code(StrEnum):
    """The public flag codes: clients and reviewers depend on these strings."""

    TIME_ZONE_ASSUMED = "time_zone_assumed"
    NO_CAPTURE_TIME = "no_capture_time"
    TIME_OUTSIDE_ACTIVITY = "time_outside_activity"
    WRONG_DAY = "wrong_day"
    TIME_IN_FUTURE = "time_in_future"
    GPS_TIME_MISMATCH = "gps_time_mismatch"
    NO_LOCATION = "no_location"
    OUTSIDE_GEOFENCE = "outside_geofence"
    LOW_GPS_ACCURACY = "low_gps_accuracy"
    EDITED = "edited"
    FORWARDED_OR_SCREENSHOT = "forwarded_or_screenshot"
    EXACT_DUPLICATE = "exact_duplicate"
    NEAR_DUPLICATE = "near_duplicate"
    REPEATED_LOCATION = "repeated_location"
    IMPOSSIBLE_TRAVEL = "impossible_travel"
    VIDEO_TOO_SHORT = "video_too_short"
    YOUTUBE_UNAVAILABLE = "youtube_unavailable"
    YOUTUBE_WRONG_CHANNEL = "youtube_wrong_channel"
    YOUTUBE_OUTSIDE_PERIOD = "youtube_outside_period"
    YOUTUBE_REUSED = "youtube_reused"
    MISSING_MONTHLY_VIDEO = "missing_monthly_video"
    TRK_UNDER_TARGET = "trk_under_target"
    ACTIVITY_OVERLAP = "activity_overlap"
    LATE_CHECK_IN = "late_check_in"
    EARLY_CHECK_OUT = "early_check_out"
    TRAILING_DATA = "trailing_data"
    # issue 9: the rules as a school coordinator applies them
    CHECK_TIME_MISMATCH = "check_time_mismatch"
    TIME_ZONE_MISMATCH = "time_zone_mismatch"
    EVIDENCE_ON_LEAVE_DAY = "evidence_on_leave_day"
    VIDEO_OUTSIDE_PERIOD = "video_outside_period"
    TRK_IMPLAUSIBLE_TIME = "trk_implausible_time"


SEVERITY: dict[Code, Severity] = {
    Code.TIME_ZONE_ASSUMED: Severity.INFO,
    Code.NO_CAPTURE_TIME: Severity.MEDIUM,
    Code.TIME_OUTSIDE_ACTIVITY: Severity.HIGH,
    Code.WRONG_DAY: Severity.HIGH,
    Code.TIME_IN_FUTURE: Severity.HIGH,
    Code.GPS_TIME_MISMATCH: Severity.LOW,
    Code.NO_LOCATION: Severity.MEDIUM,
    Code.OUTSIDE_GEOFENCE: Severity.HIGH,
    Code.LOW_GPS_ACCURACY: Severity.LOW,
    Code.EDITED: Severity.MEDIUM,
    Code.FORWARDED_OR_SCREENSHOT: Severity.MEDIUM,
    Code.EXACT_DUPLICATE: Severity.HIGH,
    Code.NEAR_DUPLICATE: Severity.HIGH,
    Code.REPEATED_LOCATION: Severity.MEDIUM,
    Code.IMPOSSIBLE_TRAVEL: Severity.MEDIUM,
    Code.VIDEO_TOO_SHORT: Severity.MEDIUM,
    Code.YOUTUBE_UNAVAILABLE: Severity.HIGH,
    Code.YOUTUBE_WRONG_CHANNEL: Severity.HIGH,
    Code.YOUTUBE_OUTSIDE_PERIOD: Severity.HIGH,
    Code.YOUTUBE_REUSED: Severity.HIGH,
    Code.MISSING_MONTHLY_VIDEO: Severity.MEDIUM,
    Code.TRK_UNDER_TARGET: Severity.MEDIUM,
    Code.ACTIVITY_OVERLAP: Severity.MEDIUM,
    Code.LATE_CHECK_IN: Severity.MEDIUM,
    Code.EARLY_CHECK_OUT: Severity.MEDIUM,
    Code.TRAILING_DATA: Severity.MEDIUM,
    Code.CHECK_TIME_MISMATCH: Severity.MEDIUM,
    Code.TIME_ZONE_MISMATCH: Severity.LOW,
    Code.EVIDENCE_ON_LEAVE_DAY: Severity.MEDIUM,
    Code.VIDEO_OUTSIDE_PERIOD: Severity.HIGH,
    Code.TRK_IMPLAUSIBLE_TIME: Severity.MEDIUM,
}


@dataclass(frozen=True)
class Phrase:
    """One sentence of a flag's detail as a message id and the values it names.

    The pages word it in the reader's language from the id; each value is formatted by how
    its name ends: ``_at`` an ISO instant shown with its date, ``_clock`` one shown as a time
    of day (both in ``zone``, an IANA name, when the values have one), ``_day`` an ISO date,
    ``_days`` ISO dates joined by ", ", ``_month`` "YYYY-MM", ``_time`` "HH:MM[:SS]",
    ``_window`` "HH:MM", or two joined by an en dash, ``_wall`` a camera's ISO local time, ``_s``
    seconds, ``_m`` metres, ``_bytes`` a size, ``_n`` a number, ``_word`` an English phrase
    the catalog translates; other names are shown as they are.
    """

    message: str
    values: Mapping[str, Value] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The phrase as it is stored beside the flag."""
        return {"message": self.message, "values": dict(self.values)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Phrase:
        """The phrase :meth:`to_json` stored."""
        return cls(str(data["message"]), dict(data.get("values") or {}))


@dataclass(frozen=True)
class Flag:
    """One finding about an item, with a detail a reviewer can read on its own.

    ``detail`` is the English sentence the API gives; ``phrases`` say the same as message
    ids and values, so the pages can word it in the reader's language.
    """

    code: Code
    severity: Severity
    detail: str
    related_evidence_id: int | None = None
    phrases: tuple[Phrase, ...] = field(default=(), compare=False)

    @classmethod
    def raise_(
        cls,
        code: Code,
        detail: str,
        related_evidence_id: int | None = None,
        *,
        phrases: tuple[Phrase, ...] = (),
    ) -> Flag:
        """A flag of `code` at the severity SPEC.md gives it."""
        return cls(code, SEVERITY[code], detail, related_evidence_id, phrases)

    def to_json(self) -> dict[str, Any]:
        """The flag as the API shows it."""
        return {
            "code": self.code.value,
            "severity": self.severity.value,
            "detail": self.detail,
            "related_evidence_id": self.related_evidence_id,
        }

    def phrases_json(self) -> list[dict[str, Any]] | None:
        """The phrases as stored beside the flag; None for a flag that has none."""
        return [phrase.to_json() for phrase in self.phrases] or None


def needs_review(flags: list[Flag]) -> bool:
    """True when any flag is of medium or high severity."""
    return any(flag.severity.needs_review for flag in flags)
