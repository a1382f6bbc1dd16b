"""Intake: how a file or a link becomes an item, whichever door it came in by.

The multipart route (:mod:`api.routes.evidence`) and the resumable route
(:mod:`api.routes.resumable`) call this module, and the teacher's pages send their files
through those two; none of them records an item itself. The intake resolves what a file
proves (an activity, an attendance check, a day for the TRK draft, a monthly requirement,
or the item a reviewer asked to replace), honours an ``Idempotency-Key``, inserts the item
with its ``received`` event, moves its file where the workers take it, and queues its job.
The routes keep what is HTTP: reading the body, statuses and headers.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Principal
from api.evidence_views import evidence_out
from api.schemas import EvidenceOut, LinkIn, parse_record_id
from api.scoping import visible_activity, visible_attendance, visible_evidence, visible_teacher
from api.upload import ReceivedUpload
from bukti import operations
from bukti.bootstrap import Services
from bukti.errors import ConflictError, ForbiddenError, InvalidRequestError
from evidence.months import REQUIREMENTS
from evidence.review import Decision
from evidence.status import Kind, Status
from evidence.youtube import InvalidYouTubeUrlError, parse_youtube_url, watch_url
from storage.db import transaction
from storage.models import Evidence
from storage.repositories import add_event

log = logging.getLogger(__name__)

#: sends an item's job to the workers (the app's ``state.enqueue``)
Enqueue = Callable[[int], None]


def upload_limits(services: Services) -> dict[str, int]:
    """The size limit of each kind of upload, multipart or resumable."""
    settings = services.settings
    return {
        Kind.PHOTO: settings.max_photo_bytes,
        Kind.VIDEO: settings.max_video_bytes,
        Kind.DOCUMENT: settings.max_document_bytes,
    }


def check_target(services: Services, who: Principal, fields: dict[str, str]) -> None:
    """Refuse, before any byte is sent, an upload whose form fields name nothing the caller
    may prove (raises as recording it would)."""
    with transaction(services.sessions) as db:
        _target(db, who, fields)


def record_upload(
    services: Services, who: Principal, upload: ReceivedUpload, idempotency_key: str | None
) -> tuple[EvidenceOut, bool]:
    """Record the item and move its file into place; returns (item, was it a replay). An
    ``idempotency_key`` the caller used before answers with that item, if for the same file."""
    replay = _replay(services, who, upload, idempotency_key)
    if replay is not None:
        return replay, True
    try:
        return insert_upload(services, who, upload, idempotency_key), False
    except IntegrityError:
        # a concurrent retry with the same key won the race: answer with its item
        replay = _replay(services, who, upload, idempotency_key)
        if replay is None:
            raise
        return replay, True


def _replay(
    services: Services, who: Principal, upload: ReceivedUpload, idempotency_key: str | None
) -> EvidenceOut | None:
    if idempotency_key is None:
        return None
    with transaction(services.sessions) as db:
        existing = _by_idempotency_key(db, who, idempotency_key)
        if existing is None:
            return None
        if existing.sha256 != upload.sha256:
            raise ConflictError("this Idempotency-Key was already used for a different file")
        upload.discard()
        return evidence_out(existing, services.store.name, who)


def insert_upload(
    services: Services,
    who: Principal,
    upload: ReceivedUpload,
    idempotency_key: str | None = None,
    also: Callable[[Session, int], None] | None = None,
) -> EvidenceOut:
    """Record the item and move its file into place; ``also`` writes, in the same
    transaction, what else must exist exactly when the item does (given the item's id)."""
    with transaction(services.sessions) as db:
        target = _target(db, who, upload.fields)
        if not who.can_write_teacher(target.teacher_id):
            raise ForbiddenError("only the teacher themselves or an admin uploads evidence")
        lat, lon, accuracy = _client_location(upload.fields)
        item = Evidence(
            teacher_id=target.teacher_id,
            activity_id=target.activity_id,
            attendance_id=target.attendance_id,
            check=target.check,
            claimed_date=target.claimed_date,
            month=target.month,
            requirement=target.requirement,
            answers_evidence_id=target.answers,
            client_lat=lat,
            client_lon=lon,
            client_accuracy_m=accuracy,
            uploaded_by=who.user_id,
            idempotency_key=idempotency_key,
            kind=upload.sniffed.kind,
            mime=upload.sniffed.mime,
            status=Status.RECEIVED.value,
            client_filename=upload.client_filename,
            sha256=upload.sha256,
            original_bytes=upload.size_bytes,
        )
        db.add(item)
        db.flush()
        add_event(
            db,
            item.id,
            "upload",
            "received",
            f"{upload.size_bytes} bytes, {upload.sniffed.mime}, sha256 {upload.sha256}",
        )
        if also is not None:
            also(db, item.id)
        # renamed inside the transaction: if the commit fails, the caller removes the file
        upload.path.replace(operations.staged_path(services, item.id))
        upload.path = operations.staged_path(services, item.id)
        return evidence_out(item, services.store.name, who)


@dataclass(frozen=True)
class _Target:
    """What an upload proves: an activity, an attendance check, a day (for the draft), a
    monthly requirement; or, answering a reviewer's "ask again", what the asked item proved."""

    teacher_id: int
    activity_id: int | None = None
    attendance_id: int | None = None
    check: str | None = None
    claimed_date: date | None = None
    month: str | None = None
    requirement: str | None = None
    answers: int | None = None


def _target(db: Session, who: Principal, fields: dict[str, str]) -> _Target:
    if "answers" in fields:
        return _answer_target(db, who, _int_field(fields, "answers"))
    named = [n for n in ("activity_id", "attendance_id", "date", "month") if n in fields]
    if len(named) != 1:
        raise InvalidRequestError(
            "name what the file proves with exactly one of: activity_id; attendance_id with "
            "check (in or out); date (YYYY-MM-DD) for the TRK day draft; or month (YYYY-MM) "
            "with requirement (learning or problem_solving) for a monthly video"
        )
    if named == ["month"]:
        return _monthly_target(db, who, fields)
    if named == ["activity_id"]:
        activity = visible_activity(db, who, _int_field(fields, "activity_id"))
        return _Target(activity.teacher_id, activity_id=activity.id)
    if named == ["attendance_id"]:
        record = visible_attendance(db, who, _int_field(fields, "attendance_id"))
        check = fields.get("check", "").strip()
        if check not in ("in", "out"):
            raise InvalidRequestError("an attendance selfie needs check=in or check=out")
        return _Target(record.teacher_id, attendance_id=record.id, check=check)
    try:
        claimed = date.fromisoformat(fields["date"].strip())
    except ValueError:
        raise InvalidRequestError("the form field 'date' is written YYYY-MM-DD") from None
    teacher_id = who.acting_for(_optional_id(fields, "teacher_id"))
    visible_teacher(db, who, teacher_id)
    return _Target(teacher_id, claimed_date=claimed)


def _answer_target(db: Session, who: Principal, evidence_id: int) -> _Target:
    """A new item for one a reviewer asked to replace: it proves what that one did."""
    asked = visible_evidence(db, who, evidence_id)
    latest = asked.reviews[-1] if asked.reviews else None
    if latest is None or latest.decision != Decision.ASK_AGAIN:
        raise ConflictError(f"evidence {evidence_id} was not asked for another proof")
    return _Target(
        asked.teacher_id,
        activity_id=asked.activity_id,
        attendance_id=asked.attendance_id,
        check=asked.check,
        claimed_date=asked.claimed_date,
        month=asked.month,
        requirement=asked.requirement,
        answers=asked.id,
    )


def _monthly_target(db: Session, who: Principal, fields: dict[str, str]) -> _Target:
    month = fields["month"].strip()
    requirement = fields.get("requirement", "").strip()
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise InvalidRequestError("the form field 'month' is written YYYY-MM")
    if requirement not in REQUIREMENTS:
        raise InvalidRequestError("a monthly video needs requirement=learning or problem_solving")
    teacher_id = who.acting_for(_optional_id(fields, "teacher_id"))
    visible_teacher(db, who, teacher_id)
    return _Target(teacher_id, month=month, requirement=requirement)


def _client_location(fields: dict[str, str]) -> tuple[float | None, float | None, float | None]:
    """The phone's position at capture, when the app sent one (lat, lon, accuracy_m)."""
    if "lat" not in fields and "lon" not in fields:
        return None, None, None
    lat = _float_field(fields, "lat", -90, 90)
    lon = _float_field(fields, "lon", -180, 180)
    accuracy = _float_field(fields, "accuracy_m", 0, 100_000) if "accuracy_m" in fields else None
    return lat, lon, accuracy


def _float_field(fields: dict[str, str], name: str, low: float, high: float) -> float:
    raw = fields.get(name)
    if raw is None:
        raise InvalidRequestError(f"the form field {name!r} is required with lat and lon")
    try:
        value = float(raw.strip())
    except ValueError:
        raise InvalidRequestError(f"the form field {name!r} must be a number") from None
    if not (low <= value <= high) or value != value:
        raise InvalidRequestError(f"the form field {name!r} must be between {low} and {high}")
    return value


def record_link(
    services: Services, who: Principal, link: LinkIn, idempotency_key: str | None
) -> tuple[EvidenceOut, bool]:
    """Record a link item (nothing is fetched here: the workers read its metadata); returns
    (item, was it a replay), as :func:`record_upload` does."""
    try:
        video_id = parse_youtube_url(link.url)
    except InvalidYouTubeUrlError as exc:
        raise InvalidRequestError(f"not a single YouTube video: {exc.reason}") from None
    canonical = watch_url(video_id)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    with transaction(services.sessions) as db:
        if idempotency_key is not None:
            existing = _by_idempotency_key(db, who, idempotency_key)
            if existing is not None:
                if existing.video_id != video_id:
                    raise ConflictError("this Idempotency-Key was already used for another link")
                return evidence_out(existing, services.store.name, who), True
        teacher = visible_teacher(db, who, who.acting_for(link.teacher_id))
        if not who.can_write_teacher(teacher.id):
            raise ForbiddenError("only the teacher themselves or an admin submits links")
        item = Evidence(
            teacher_id=teacher.id,
            uploaded_by=who.user_id,
            idempotency_key=idempotency_key,
            kind=Kind.YOUTUBE.value,
            mime="text/uri-list",
            status=Status.RECEIVED.value,
            sha256=digest,
            original_bytes=0,
            video_id=video_id,
            source_url=link.url,
            month=link.month,
            requirement=link.requirement.value,
        )
        db.add(item)
        db.flush()
        add_event(db, item.id, "upload", "received", f"link to {canonical}")
        return evidence_out(item, services.store.name, who), False


def _by_idempotency_key(db: Session, who: Principal, key: str) -> Evidence | None:
    return db.scalar(
        select(Evidence).where(Evidence.uploaded_by == who.user_id, Evidence.idempotency_key == key)
    )


def _int_field(fields: dict[str, str], name: str) -> int:
    raw = fields.get(name)
    if raw is None:
        raise InvalidRequestError(f"the form field {name!r} is required")
    return parse_record_id(raw, name)


def _optional_id(fields: dict[str, str], name: str) -> int | None:
    return _int_field(fields, name) if name in fields else None


def queue(services: Services, enqueue: Enqueue, evidence_id: int) -> None:
    """Send a recorded item's job and note it in its log; a broker that fails is logged,
    not raised: the item is safe as ``received`` and the sweep queues it again."""
    try:
        enqueue(evidence_id)
    except Exception:
        # the upload is safe on disk and recorded as `received`; `bukti serve` requeues it
        log.exception("could not queue evidence %s; it will be requeued", evidence_id)
        return
    operations.mark_queued(services, evidence_id)


def queue_received(services: Services, enqueue: Enqueue, item: EvidenceOut) -> None:
    """Queue an item the intake answered with, unless it went on already: a replayed item
    still ``received`` may never have been queued (the broker was down)."""
    if item.status == Status.RECEIVED:
        queue(services, enqueue, item.id)
