"""One way to show a flag to a reader, for the API and the pages alike.

A flag may point at another item (a duplicate), and that item may be another teacher's, or
another school's. A reader is told only what they may see: a teacher learns that "a photo
already submitted by another teacher on 13 Okt" exists, never whose; a reviewer of another
school learns that it is "a photo of another school, uploaded 13 Okt 2026"; the reviewers
of its school and admins get the full link (owner, NIP, activity, the item's id).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.schemas import FlagOut
from api.web.i18n import N_, Translator
from evidence.flags import Code, Phrase, Value
from evidence.review import DUPLICATE_CODES
from evidence.status import Kind
from evidence.timeresolve import in_zone, zone_abbreviation
from storage.models import Activity, Evidence, EvidenceFlag, School, Teacher

#: each flag code's name as reviewers and teachers read it
FLAG_TITLES: dict[str, str] = {
    Code.TIME_ZONE_ASSUMED: N_("Time zone assumed"),
    Code.NO_CAPTURE_TIME: N_("No capture time"),
    Code.TIME_OUTSIDE_ACTIVITY: N_("Taken outside the activity's time"),
    Code.WRONG_DAY: N_("Taken on another day"),
    Code.TIME_IN_FUTURE: N_("Capture time in the future"),
    Code.GPS_TIME_MISMATCH: N_("GPS time differs"),
    Code.NO_LOCATION: N_("No location"),
    Code.OUTSIDE_GEOFENCE: N_("Outside the area"),
    Code.LOW_GPS_ACCURACY: N_("Rough GPS position"),
    Code.EDITED: N_("Edited"),
    Code.FORWARDED_OR_SCREENSHOT: N_("Forwarded or screenshot"),
    Code.EXACT_DUPLICATE: N_("Same file submitted before"),
    Code.NEAR_DUPLICATE: N_("Looks like an earlier photo"),
    Code.REPEATED_LOCATION: N_("Same coordinates on many days"),
    Code.IMPOSSIBLE_TRAVEL: N_("Impossible travel"),
    Code.VIDEO_TOO_SHORT: N_("Video too short"),
    Code.YOUTUBE_UNAVAILABLE: N_("YouTube video unavailable"),
    Code.YOUTUBE_WRONG_CHANNEL: N_("Another YouTube channel"),
    Code.YOUTUBE_OUTSIDE_PERIOD: N_("Uploaded outside the month"),
    Code.YOUTUBE_REUSED: N_("Video submitted before"),
    Code.MISSING_MONTHLY_VIDEO: N_("Monthly video missing"),
    Code.TRK_UNDER_TARGET: N_("Under 450 minutes"),
    Code.ACTIVITY_OVERLAP: N_("Activities overlap"),
    Code.LATE_CHECK_IN: N_("Late check-in"),
    Code.EARLY_CHECK_OUT: N_("Early check-out"),
    Code.TRAILING_DATA: N_("Another file hidden in it"),
    Code.CHECK_TIME_MISMATCH: N_("Typed check time differs from the selfie"),
    Code.TIME_ZONE_MISMATCH: N_("Phone's time zone set by hand"),
    Code.EVIDENCE_ON_LEAVE_DAY: N_("Evidence on a day of leave"),
    Code.VIDEO_OUTSIDE_PERIOD: N_("Video filmed outside the month"),
    Code.TRK_IMPLAUSIBLE_TIME: N_("Implausible activity times"),
}

#: each message id of a flag's detail (evidence.flags.Phrase) as the pages word it; the
#: values' placeholders are formatted by their names' endings (see Phrase)
FLAG_DETAILS: dict[str, str] = {
    "time_zone_assumed.no_position": N_(
        "the camera wrote %(written_wall)s with no time zone and the photo has no position: "
        "%(abbreviation)s assumed"
    ),
    "time_zone_assumed.no_zone": N_(
        "the camera wrote %(written_wall)s with no time zone and none is known at its "
        "position: %(abbreviation)s assumed"
    ),
    "time_zone_assumed.utc_label.future": N_(
        "the video's time is labelled UTC but holds local time, as some phones write it: read "
        "as %(local_clock)s, not %(utc_clock)s; read as UTC it would be %(ahead_s)s after the "
        "server received it"
    ),
    "time_zone_assumed.utc_label.activity": N_(
        "the video's time is labelled UTC but holds local time, as some phones write it: read "
        "as %(local_clock)s, not %(utc_clock)s; read as UTC it falls outside the activity, read "
        "as local time inside it"
    ),
    "time_zone_assumed.document": N_(
        "%(source)s has no time zone: read as the school's local time (%(offset)s)"
    ),
    "no_capture_time": N_(
        "no capture time in the photo's data; forwarded chat photos, screenshots and stripped "
        "files look like this"
    ),
    "no_capture_time.document": N_(
        "the document has no creation date; scanner apps and web exporters often write none"
    ),
    "time_outside_activity.activity.before": N_(
        "taken at %(taken_clock)s, outside the activity's time %(activity_window)s "
        "(%(gap_s)s before it starts)"
    ),
    "time_outside_activity.activity.after": N_(
        "taken at %(taken_clock)s, outside the activity's time %(activity_window)s "
        "(%(gap_s)s after it ends)"
    ),
    "time_outside_activity.check_in.before": N_(
        "taken at %(taken_clock)s, %(gap_s)s before the check-in at %(activity_window)s"
    ),
    "time_outside_activity.check_in.after": N_(
        "taken at %(taken_clock)s, %(gap_s)s after the check-in at %(activity_window)s"
    ),
    "time_outside_activity.check_out.before": N_(
        "taken at %(taken_clock)s, %(gap_s)s before the check-out at %(activity_window)s"
    ),
    "time_outside_activity.check_out.after": N_(
        "taken at %(taken_clock)s, %(gap_s)s after the check-out at %(activity_window)s"
    ),
    "time_outside_activity.document_late": N_(
        "created %(created_at)s, %(after_s)s after the activity ended (%(end_at)s); documents "
        "made up to %(grace_s)s afterwards pass"
    ),
    "time_outside_activity.document_old": N_(
        "last changed %(touched_at)s, %(before_s)s before the activity: a document reused from "
        "an earlier year?"
    ),
    "wrong_day.activity": N_(
        "taken %(taken_at)s; the activity is on %(activity_day)s, %(activity_window)s"
    ),
    "wrong_day.check_in": N_(
        "taken %(taken_at)s; the check-in is on %(activity_day)s, %(activity_window)s"
    ),
    "wrong_day.check_out": N_(
        "taken %(taken_at)s; the check-out is on %(activity_day)s, %(activity_window)s"
    ),
    "wrong_day.selfie_in": N_(
        "check-in selfie taken %(taken_at)s; the attendance day is %(attendance_day)s"
    ),
    "wrong_day.selfie_out": N_(
        "check-out selfie taken %(taken_at)s; the attendance day is %(attendance_day)s"
    ),
    "time_in_future": N_(
        "taken %(taken_at)s, %(ahead_s)s after the server received it (%(received_at)s): the "
        "phone's clock or the metadata is wrong"
    ),
    "time_in_future.document_created": N_(
        "created %(dated_at)s (%(source)s), after the file was received at %(received_at)s: a "
        "wrong clock or a forged date"
    ),
    "time_in_future.document_modified": N_(
        "modified %(dated_at)s (%(source)s), after the file was received at %(received_at)s: a "
        "wrong clock or a forged date"
    ),
    "gps_time_mismatch": N_(
        "the GPS fix is from %(gps_at)s but the photo was taken %(taken_at)s: %(apart_s)s "
        "apart, more than %(limit_n)s min (phones reuse old fixes; a faked clock or position "
        "looks like this too)"
    ),
    "no_location": N_("no GPS position in the photo's data and none sent with the upload"),
    "outside_geofence.school": N_("%(distance_m)s from %(place)s (area radius %(radius_m)s)"),
    "outside_geofence.home": N_(
        "%(distance_m)s from the registered home (WFH; radius %(radius_m)s)"
    ),
    "outside_geofence.dl": N_(
        "%(distance_m)s from %(place)s, the DL destination (radius %(radius_m)s)"
    ),
    "outside_geofence.accuracy": N_("GPS accuracy %(accuracy_m)s"),
    "outside_geofence.phone_position": N_("position reported by the phone"),
    "low_gps_accuracy": N_(
        "the GPS error is %(accuracy_m)s, more than %(limit_m)s: the position is only roughly known"
    ),
    "edited.editor": N_("%(tag)s is “%(value)s” (%(editor)s is an image editor)"),
    "edited.saved_later": N_(
        "saved again %(later_s)s after it was taken (saved %(saved_wall)s, taken %(taken_wall)s)"
    ),
    "edited.thumbnail": N_(
        "the embedded thumbnail differs from the image (distance %(distance_n)s of 64, limit "
        "%(limit_n)s): editors change the image but often keep the camera's thumbnail"
    ),
    "forwarded_or_screenshot.chat_name": N_(
        "the file name “%(filename)s” follows %(app)s's naming, not a camera's"
    ),
    "forwarded_or_screenshot.screen_size": N_(
        "%(width)s×%(height)s with no camera data: the size of a phone screen, as screenshots are"  # noqa: RUF001
    ),
    "forwarded_or_screenshot.png": N_(
        "a PNG with no camera data: phone cameras save JPEG or HEIC, screenshots PNG"
    ),
    "repeated_location": N_(
        "exactly the same coordinates (%(lat)s, %(lon)s) on %(count_n)s different days "
        "(%(listed_days)s); real GPS positions differ by metres from day to day, fake-GPS apps "
        "repeat them"
    ),
    "impossible_travel": N_(
        "%(distance_m)s from item #%(other_id)s taken %(other_at)s, %(apart_s)s apart: "
        "%(speed_n)s km/h, more than %(limit_n)s km/h"
    ),
    "impossible_travel.same_moment": N_(
        "%(distance_m)s from item #%(other_id)s taken at the same moment (%(other_at)s)"
    ),
    "video_too_short": N_(
        "the video lasts %(duration_s)s, less than the %(minimum_s)s a monthly video must last"
    ),
    "youtube_unavailable": N_("the video is %(reason_word)s"),
    "youtube_wrong_channel": N_(
        "the video is on %(channel)s (%(channel_id)s), not on the teacher's registered channel "
        "%(registered)s"
    ),
    "youtube_wrong_channel.none_registered": N_(
        "the teacher has no registered YouTube channel to compare with; the video is on "
        "%(channel)s (%(channel_id)s)"
    ),
    "youtube_outside_period": N_(
        "uploaded %(uploaded_at)s, outside the reporting month %(period_month)s"
    ),
    "youtube_outside_period.no_time": N_(
        "YouTube gives no upload time, so it cannot be placed in %(period_month)s"
    ),
    "youtube_outside_period.upload_day": N_(
        "uploaded on %(uploaded_day)s (a UTC date, no exact time given), outside the reporting "
        "month %(period_month)s"
    ),
    "youtube_reused.another_teacher": N_("the same video was already submitted by another teacher"),
    "youtube_reused.another_month": N_("the same video was already submitted for %(other_month)s"),
    "youtube_reused.as_learning": N_("the same video was already submitted as the learning video"),
    "youtube_reused.as_problem_solving": N_(
        "the same video was already submitted as the problem-solving video"
    ),
    "trk_under_target": N_(
        "only %(logged_n)s of the day's %(target_n)s min logged on %(activity_day)s "
        "(%(short_n)s min short)"
    ),
    "activity_overlap": N_(
        "on %(activity_day)s, %(first_window)s “%(first_title)s” and %(second_window)s "
        "“%(second_title)s” overlap by %(overlap_s)s"
    ),
    "late_check_in": N_("checked in at %(check_clock)s, after %(deadline_time)s (%(late_s)s late)"),
    "early_check_out": N_(
        "checked out at %(check_clock)s, before %(opening_time)s (%(early_s)s early)"
    ),
    "trailing_data": N_(
        "%(payload_word)s follows the end of the %(format)s (%(size_bytes)s after byte "
        "%(offset_n)s): other programs read the file as something else"
    ),
    "check_time_mismatch.in": N_(
        "check-in written as %(typed_time)s but the selfie was taken at %(taken_clock)s "
        "(%(apart_s)s apart, more than %(limit_n)s min); the selfie's time counts"
    ),
    "check_time_mismatch.out": N_(
        "check-out written as %(typed_time)s but the selfie was taken at %(taken_clock)s "
        "(%(apart_s)s apart, more than %(limit_n)s min); the selfie's time counts"
    ),
    "time_zone_mismatch": N_(
        "the phone wrote UTC offset %(written)s but its GPS position is in %(place_zone)s "
        "(%(abbreviation)s, %(expected)s): its clock or zone was set by hand"
    ),
    "evidence_on_leave_day": N_(
        "evidence for %(attendance_day)s, a day recorded as %(status)s: no work is expected "
        "that day"
    ),
    "video_outside_period": N_("filmed %(taken_at)s, outside the reporting month %(period_month)s"),
    "trk_implausible_time.day": N_("on %(activity_day)s:"),
    "trk_implausible_time.leave": N_("%(logged_n)s min logged on a %(status)s day"),
    "trk_implausible_time.night": N_("%(activity_window)s “%(title)s” is at night"),
    "trk_implausible_time.before_check_in": N_(
        "%(activity_window)s “%(title)s” begins before the check-in at %(check_time)s"
    ),
    "trk_implausible_time.after_check_out": N_(
        "%(activity_window)s “%(title)s” ends after the check-out at %(check_time)s"
    ),
}

#: the English phrases a detail's ``_word`` values hold (why a YouTube video cannot be
#: watched, what follows a file's end), so that the catalogs translate them
FLAG_WORDS = (
    N_("private"),
    N_("for YouTube Premium members only"),
    N_("for the channel's members only"),
    N_("visible only when signed in (age-restricted)"),
    N_("age-restricted: visible only when signed in"),
    N_("not a single video (a playlist or a channel)"),
    N_("a scheduled live stream or premiere that has not started"),
    N_("a scheduled live stream that has not started"),
    N_("a premiere that has not started"),
    N_("a live stream still in progress"),
    N_("a finished live stream that YouTube is still processing"),
    N_("removed by the uploader"),
    N_("removed with its channel"),
    N_("removed after a copyright claim"),
    N_("removed for violating YouTube's policies"),
    N_("blocked in Indonesia"),
    N_("paid content"),
    N_("unavailable (removed or never published)"),
    N_("not found"),
    N_("a ZIP archive"),
    N_("a RAR archive"),
    N_("a 7-Zip archive"),
    N_("a PDF document"),
    N_("a Linux program"),
    N_("an HTML page"),
    N_("a script"),
    N_("an SVG image with markup"),
    N_("a PHP script"),
    N_("a Windows program"),
    N_("a gzip archive"),
)

# West Java's schools all live in WIB: a time there needs no zone named, one elsewhere (a DL
# destination in Bali) does.
_HOME_ZONE = "Asia/Jakarta"

_BY_ANOTHER_TEACHER = {
    Kind.PHOTO: N_("a photo already submitted by another teacher on %(day)s"),
    Kind.VIDEO: N_("a video already submitted by another teacher on %(day)s"),
    Kind.DOCUMENT: N_("a document already submitted by another teacher on %(day)s"),
    Kind.YOUTUBE: N_("a link already submitted by another teacher on %(day)s"),
}
_OF_ANOTHER_SCHOOL = {
    Kind.PHOTO: N_("a photo of another school, uploaded %(day)s"),
    Kind.VIDEO: N_("a video of another school, uploaded %(day)s"),
    Kind.DOCUMENT: N_("a document of another school, uploaded %(day)s"),
    Kind.YOUTUBE: N_("a link of another school, uploaded %(day)s"),
}


@dataclass(frozen=True)
class RelatedItem:
    """The other item a flag points at, with what may be said of it to those allowed."""

    id: int
    kind: str
    teacher_id: int
    school_id: int
    teacher_name: str
    nip: str
    received_at: datetime
    timezone: str
    activity_title: str | None
    activity_date: date | None


def related_items(db: Session, flags: Iterable[EvidenceFlag]) -> dict[int, RelatedItem]:
    """The items that ``flags`` point at, by id, loaded at once."""
    ids = {f.related_evidence_id for f in flags if f.related_evidence_id is not None}
    if not ids:
        return {}
    rows = db.execute(
        select(Evidence, Teacher, School, Activity)
        .join(Teacher, Teacher.id == Evidence.teacher_id)
        .join(School, School.id == Teacher.school_id)
        .outerjoin(Activity, Activity.id == Evidence.activity_id)
        .where(Evidence.id.in_(ids))
    ).all()
    return {
        item.id: RelatedItem(
            id=item.id,
            kind=item.kind,
            teacher_id=teacher.id,
            school_id=school.id,
            teacher_name=teacher.name,
            nip=teacher.nip,
            received_at=item.received_at,
            timezone=school.timezone,
            activity_title=activity.title if activity else None,
            activity_date=activity.date if activity else None,
        )
        for item, teacher, school, activity in rows
    }


def may_see(reader: Principal | None, related: RelatedItem) -> bool:
    """True when ``reader`` may see the other item itself (and so whose it is)."""
    return reader is not None and reader.can_see_teacher(related.teacher_id, related.school_id)


def flag_title(code: str, t: Translator) -> str:
    """The flag's name in the reader's language (its code when it has none)."""
    title = FLAG_TITLES.get(code)
    return t.gettext(title) if title else code


def render_flag(
    flag: EvidenceFlag,
    reader: Principal | None,
    related: RelatedItem | None,
    t: Translator,
    *,
    as_stored: bool = False,
) -> FlagOut:
    """The flag as ``reader`` may read it; None as reader means the least they may see.

    Its detail is worded in ``t``'s language from its phrases, or is the stored English
    sentence when it has none or ``as_stored`` asks for it (the API's contract). A
    duplicate's detail is rebuilt from the other item, saying only what ``reader`` may see.
    """
    visible = related is not None and may_see(reader, related)
    related_id = flag.related_evidence_id if visible else None
    if flag.code not in DUPLICATE_CODES or flag.related_evidence_id is None:
        worded = None if as_stored else phrases_text(flag.detail_phrases, t)
        detail = flag.detail if worded is None else worded
    elif related is None:
        # the other item is gone: nothing of it is left to tell
        detail = t.gettext("an item submitted earlier")
    elif visible:
        detail = _full_link(flag.code, related, t)
    else:
        kind = Kind(related.kind) if related.kind in Kind.__members__.values() else Kind.PHOTO
        if reader is not None and reader.teacher_id is not None:
            detail = t.gettext(
                _BY_ANOTHER_TEACHER[kind], day=t.short_day(related.received_at, related.timezone)
            )
        else:
            local = in_zone(related.received_at, related.timezone).date()
            detail = t.gettext(_OF_ANOTHER_SCHOOL[kind], day=t.day(local, "d MMM y"))
    return FlagOut(
        code=flag.code, severity=flag.severity, detail=detail, related_evidence_id=related_id
    )


def _full_link(code: str, related: RelatedItem, t: Translator) -> str:
    values = {
        "id": related.id,
        "name": related.teacher_name,
        "nip": related.nip,
        "day": t.moment(related.received_at, related.timezone),
    }
    if code == Code.EXACT_DUPLICATE:
        text = t.gettext(
            "the same file was already submitted as item #%(id)s by %(name)s "
            "(NIP %(nip)s), uploaded %(day)s",
            **values,
        )
    else:
        text = t.gettext(
            "looks like item #%(id)s by %(name)s (NIP %(nip)s), uploaded %(day)s", **values
        )
    if related.activity_title is not None and related.activity_date is not None:
        text += t.gettext(
            ", for the activity '%(title)s' of %(day)s",
            title=related.activity_title,
            day=t.day(related.activity_date),
        )
    return text


def render_flags(
    db: Session,
    flags: list[EvidenceFlag],
    reader: Principal | None,
    t: Translator,
    *,
    as_stored: bool = False,
) -> list[FlagOut]:
    """Every flag of an item as ``reader`` may read it (see :func:`render_flag`)."""
    related = related_items(db, flags)
    return [
        render_flag(
            f,
            reader,
            related.get(f.related_evidence_id) if f.related_evidence_id else None,
            t,
            as_stored=as_stored,
        )
        for f in flags
    ]


def phrases_text(phrases: Sequence[Mapping[str, Any]] | None, t: Translator) -> str | None:
    """A detail's stored phrases worded in ``t``'s language; None when it has none, or when
    one names a message or value this version does not know (then the stored detail is
    shown)."""
    if not phrases:
        return None
    parts: list[str] = []
    for stored in phrases:
        phrase = Phrase.from_json(stored)
        template = FLAG_DETAILS.get(phrase.message)
        if template is None:
            return None
        values = {
            name: _value_text(name, value, phrase.values, t)
            for name, value in phrase.values.items()
        }
        try:
            parts.append(t.gettext(template, **values) if values else t.gettext(template))
        except (KeyError, ValueError, TypeError):
            return None
    text = parts[0]
    for part in parts[1:]:
        # "on 13 Oct 2026: ..." leads the reasons it introduces
        text += (" " if text.endswith(":") else "; ") + part
    return text[:1].upper() + text[1:]


def _value_text(name: str, value: Value, values: Mapping[str, Value], t: Translator) -> str:
    """One value of a phrase in ``t``'s formats, as its name's ending says (see Phrase)."""
    zone = str(values.get("zone", ""))
    text = str(value)
    if name.endswith(("_at", "_clock")):
        moment = datetime.fromisoformat(text)
        if zone:
            moment = in_zone(moment, zone)
        clock = t.time_of_day(moment.time().replace(microsecond=0))
        if zone and zone != _HOME_ZONE:
            clock += " " + zone_abbreviation(zone, moment.replace(tzinfo=None))
        return clock if name.endswith("_clock") else f"{t.day(moment.date(), 'd MMM y')}, {clock}"
    if name.endswith("_days"):
        return ", ".join(t.day(date.fromisoformat(day), "d MMM") for day in text.split(", "))
    if name.endswith("_day"):
        return t.day(date.fromisoformat(text), "d MMM y")
    if name.endswith("_month"):
        return t.day(date.fromisoformat(f"{text}-01"), "MMMM y")
    if name.endswith("_window"):
        return "\N{EN DASH}".join(
            t.time_of_day(time.fromisoformat(part)) for part in text.split("\N{EN DASH}")
        )
    if name.endswith("_time"):
        return t.time_of_day(time.fromisoformat(text))
    if name.endswith("_wall"):
        return t.wall_clock(datetime.fromisoformat(text))
    if name.endswith("_s") and isinstance(value, int | float):
        return t.duration(value)
    if name.endswith("_m") and isinstance(value, int | float):
        return t.distance(value)
    if name.endswith("_bytes") and isinstance(value, int):
        return t.size(value)
    if name.endswith("_n") and isinstance(value, int | float):
        return t.number(value)
    if name.endswith("_word"):
        return t.gettext(text)
    return text
