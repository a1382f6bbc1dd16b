"""Verification of an item's facts: every mismatch is a Flag, never an exception."""

from __future__ import annotations

from evidence.facts import CaptureFacts
from evidence.flags import Code, Flag


def metadata_flags(facts: CaptureFacts, client_location_sent: bool = False) -> list[Flag]:
    """Flags that follow from the metadata alone: no capture time, no location."""
    flags: list[Flag] = []
    if facts.captured_local is None:
        flags.append(
            Flag.raise_(
                Code.NO_CAPTURE_TIME,
                "no capture time in the photo's metadata (DateTimeOriginal missing or unusable); "
                "forwarded chat photos, screenshots and stripped files look like this",
            )
        )
    if facts.location is None and not client_location_sent:
        flags.append(
            Flag.raise_(
                Code.NO_LOCATION,
                "no GPS position in the photo's metadata and none sent with the upload",
            )
        )
    return flags
