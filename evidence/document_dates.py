"""A document's dates checked against its activity, like a photo's capture time but milder.

A photo is taken during the activity; a document is not. A lesson plan (modul ajar) is
written days or weeks before the lesson, minutes and reports are typed up the same day or a few
days after, a certificate is issued after the event, and teachers routinely "Save As" last
year's lesson plan, which keeps its old creation date. So:

- created **before** the activity: normal, no flag (no ``wrong_day`` for documents either);
- created more than a grace period (7 days) **after** the activity ended: evidence made up
  afterwards, ``time_outside_activity`` at medium (a photo gets high);
- last touched more than a year **before** the activity: perhaps a recycled document,
  ``time_outside_activity`` at low, which informs a reviewer without stopping the item;
- created or modified after the server received the file: ``time_in_future`` at medium (a
  school PC's wrong clock is the usual cause, a forged date the other);
- no creation date at all: ``no_capture_time`` at low, because scanner apps and web exporters
  often write none;
- a date without an offset (LibreOffice writes local time) is read in the school's zone and
  noted with ``time_zone_assumed`` (info), as for photos.

Document metadata is easy to forge and often absent, which is why none of these is high.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from evidence.document_facts import DocumentFacts
from evidence.facts import Sourced
from evidence.flags import Code, Flag, Phrase, Severity


@dataclass(frozen=True)
class DocumentDateRules:
    """The thresholds of :func:`document_date_flags`; the defaults are the documented ones."""

    created_after_grace: timedelta = timedelta(days=7)
    stale_before: timedelta = timedelta(days=365)
    future_tolerance: timedelta = timedelta(minutes=5)
    school_utc_offset_min: int = 7 * 60  # WIB


def document_date_flags(
    facts: DocumentFacts,
    *,
    activity_start: datetime,
    activity_end: datetime,
    received_at: datetime,
    rules: DocumentDateRules | None = None,
) -> list[Flag]:
    """Flags for a document's creation and modification dates; all datetimes given are aware."""
    rules = rules or DocumentDateRules()
    zone = timezone(timedelta(minutes=rules.school_utc_offset_min))
    flags: list[Flag] = []
    naive = [d for d in (facts.created, facts.modified) if d and d.value.tzinfo is None]
    if naive:
        flags.append(
            Flag(
                Code.TIME_ZONE_ASSUMED,
                Severity.INFO,
                f"{naive[0].source} has no UTC offset: read as the school's local time "
                f"(UTC{_offset_text(rules.school_utc_offset_min)})",
                phrases=(
                    Phrase(
                        "time_zone_assumed.document",
                        {
                            "source": naive[0].source,
                            "offset": f"UTC{_offset_text(rules.school_utc_offset_min)}",
                        },
                    ),
                ),
            )
        )
    created = _aware(facts.created, zone)
    modified = _aware(facts.modified, zone)
    if created is None:
        flags.append(
            Flag(
                Code.NO_CAPTURE_TIME,
                Severity.LOW,
                "the document carries no creation date; scanner apps and web exporters often "
                "write none",
                phrases=(Phrase("no_capture_time.document"),),
            )
        )
    for label, dated in (("created", created), ("modified", modified)):
        if dated is not None and dated.value - received_at > rules.future_tolerance:
            flags.append(
                Flag(
                    Code.TIME_IN_FUTURE,
                    Severity.MEDIUM,
                    f"{label} {_local(dated.value, zone)} ({dated.source}), after the file was "
                    f"received at {_local(received_at, zone)}: a wrong clock or a forged date",
                    phrases=(
                        Phrase(
                            f"time_in_future.document_{label}",
                            {
                                "dated_at": dated.value.astimezone(zone).isoformat(),
                                "received_at": received_at.astimezone(zone).isoformat(),
                                "source": dated.source,
                            },
                        ),
                    ),
                )
            )
    if created is not None and created.value - activity_end > rules.created_after_grace:
        flags.append(
            Flag(
                Code.TIME_OUTSIDE_ACTIVITY,
                Severity.MEDIUM,
                f"created {_local(created.value, zone)} ({created.source}), "
                f"{_span(created.value - activity_end)} after the activity ended "
                f"({_local(activity_end, zone)}); documents made up to "
                f"{_span(rules.created_after_grace)} afterwards pass",
                phrases=(
                    Phrase(
                        "time_outside_activity.document_late",
                        {
                            "created_at": created.value.astimezone(zone).isoformat(),
                            "end_at": activity_end.astimezone(zone).isoformat(),
                            "after_s": int((created.value - activity_end).total_seconds()),
                            "grace_s": int(rules.created_after_grace.total_seconds()),
                        },
                    ),
                ),
            )
        )
    # Save As keeps the creation date of last year's file, so staleness goes by the last change.
    touched = modified or created
    if touched is not None and activity_start - touched.value > rules.stale_before:
        flags.append(
            Flag(
                Code.TIME_OUTSIDE_ACTIVITY,
                Severity.LOW,
                f"last changed {_local(touched.value, zone)} ({touched.source}), "
                f"{_span(activity_start - touched.value)} before the activity: a document "
                "reused from an earlier year?",
                phrases=(
                    Phrase(
                        "time_outside_activity.document_old",
                        {
                            "touched_at": touched.value.astimezone(zone).isoformat(),
                            "before_s": int((activity_start - touched.value).total_seconds()),
                        },
                    ),
                ),
            )
        )
    return flags


def _aware(value: Sourced[datetime] | None, zone: timezone) -> Sourced[datetime] | None:
    """``value`` with the school's zone attached when the file gave no offset."""
    if value is None or value.value.tzinfo is not None:
        return value
    return Sourced(value.value.replace(tzinfo=zone), value.source)


def _local(moment: datetime, zone: timezone) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _span(span: timedelta) -> str:
    days = span.total_seconds() / 86_400
    return f"{days:.0f} days" if days >= 2 else f"{span.total_seconds() / 3600:.0f} h"


def _offset_text(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
