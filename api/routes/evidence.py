"""Evidence: upload (streamed, answered 202 before any processing), read, list, retry."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import AdminDep, DbDep, PrincipalDep, ServicesDep
from api.evidence_views import evidence_out, review_out
from api.openapi import upload_request_body
from api.pagination import PagingDep, paginate
from api.review import decide
from api.schemas import (
    ArchiveCopy,
    EventOut,
    EvidenceOut,
    LinkIn,
    Page,
    RecordId,
    ReviewOut,
    Text,
    parse_record_id,
)
from api.scoping import (
    scoped,
    visible_activity,
    visible_attendance,
    visible_evidence,
    visible_teacher,
)
from api.upload import ReceivedUpload, receive_upload
from bukti import operations
from bukti.bootstrap import Services
from bukti.errors import (
    ConflictError,
    InvalidRequestError,
    PayloadTooLargeError,
)
from evidence.failures import FailureReason
from evidence.flags import Code
from evidence.months import REQUIREMENTS
from evidence.review import Decision, ReasonCode, reason_problem
from evidence.status import Kind, Role, Status
from evidence.youtube import InvalidYouTubeUrlError, parse_youtube_url, watch_url
from storage.db import transaction
from storage.models import Evidence, EvidenceEvent, EvidenceFlag
from storage.objects import copies_of
from storage.repositories import add_event

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["evidence"])


def upload_limits(services: Services) -> dict[str, int]:
    """The size limit of each kind of upload, multipart or resumable."""
    settings = services.settings
    return {
        Kind.PHOTO: settings.max_photo_bytes,
        Kind.VIDEO: settings.max_video_bytes,
        Kind.DOCUMENT: settings.max_document_bytes,
    }


@router.post(
    "/evidence",
    status_code=202,
    response_model=EvidenceOut,
    openapi_extra=upload_request_body(),
    responses={413: {}, 415: {}},
)
async def upload_evidence(
    request: Request,
    response: Response,
    services: ServicesDep,
    who: PrincipalDep,
    idempotency_key: Annotated[
        str | None, Header(max_length=200, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> EvidenceOut:
    """Upload evidence (multipart ``file``) or submit a YouTube link (JSON ``url``).

    Answered 202 as soon as the file is safely on disk (or the link recorded); processing
    follows in the workers.
    """
    if who.role is Role.REVIEWER:
        raise HTTPException(403, "reviewers do not upload evidence")
    settings = services.settings
    if request.headers.get("content-type", "").startswith("application/json"):
        link = await _read_link(request)
        item, replayed = await run_in_threadpool(_store_link, services, who, link, idempotency_key)
        if replayed:
            response.headers["Idempotent-Replayed"] = "true"
        if item.status == Status.RECEIVED:
            await run_in_threadpool(_enqueue, request, item.id)
        return item
    limits = upload_limits(services)
    upload = await receive_upload(
        request,
        settings.incoming_dir,
        lambda sniffed: limits[sniffed.kind],
        max(limits.values()),
    )
    try:
        item, replayed = await run_in_threadpool(
            _store_upload, services, who, upload, idempotency_key
        )
    except BaseException:
        upload.discard()
        raise
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    if item.status == Status.RECEIVED:
        # a replayed item still `received` may never have been queued (the broker was down)
        await run_in_threadpool(_enqueue, request, item.id)
    return item


def _store_upload(
    services: Services, who: Principal, upload: ReceivedUpload, idempotency_key: str | None
) -> tuple[EvidenceOut, bool]:
    """Record the item and move its file into place; returns (item, was it a replay)."""
    replay = _replay(services, who, upload, idempotency_key)
    if replay is not None:
        return replay, True
    try:
        return _insert_upload(services, who, upload, idempotency_key), False
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


def _insert_upload(
    services: Services,
    who: Principal,
    upload: ReceivedUpload,
    idempotency_key: str | None,
    also: Callable[[Session, int], None] | None = None,
) -> EvidenceOut:
    """Record the item and move its file into place; ``also`` writes, in the same
    transaction, what else must exist exactly when the item does (given the item's id)."""
    with transaction(services.sessions) as db:
        target = _target(db, who, upload.fields)
        if not who.can_write_teacher(target.teacher_id):
            raise HTTPException(403, "only the teacher themselves or an admin uploads evidence")
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


async def _read_link(request: Request) -> LinkIn:
    body = await request.body()
    if len(body) > 16_384:
        raise PayloadTooLargeError("a link submission is a small JSON object")
    try:
        return LinkIn.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise InvalidRequestError(f"invalid link submission: {where}: {first['msg']}") from None


def _store_link(
    services: Services, who: Principal, link: LinkIn, idempotency_key: str | None
) -> tuple[EvidenceOut, bool]:
    """Record a link item (nothing is fetched here: the workers read its metadata)."""
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
            raise HTTPException(403, "only the teacher themselves or an admin submits links")
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


def _enqueue(request: Request, evidence_id: int) -> None:
    try:
        request.app.state.enqueue(evidence_id)
    except Exception:
        # the upload is safe on disk and recorded as `received`; `bukti serve` requeues it
        log.exception("could not queue evidence %s; it will be requeued", evidence_id)
        return
    operations.mark_queued(request.app.state.services, evidence_id)


@router.get("/evidence/{evidence_id}", response_model=EvidenceOut)
def get_evidence(
    evidence_id: RecordId, db: DbDep, who: PrincipalDep, services: ServicesDep
) -> EvidenceOut:
    """One item with its status, facts, hashes, flags, sizes, archive (with each copy held or
    released) and review."""
    out = evidence_out(visible_evidence(db, who, evidence_id), services.store.name, who)
    out.archive.copies = [ArchiveCopy(**vars(copy)) for copy in copies_of(db, evidence_id)]
    return out


@router.get("/evidence/{evidence_id}/events", response_model=list[EventOut])
def get_evidence_events(evidence_id: RecordId, db: DbDep, who: PrincipalDep) -> list[EvidenceEvent]:
    """The item's event log: received, each step, retries, outcome."""
    visible_evidence(db, who, evidence_id)
    return list(
        db.scalars(
            select(EvidenceEvent)
            .where(EvidenceEvent.evidence_id == evidence_id)
            .order_by(EvidenceEvent.id)
        )
    )


@router.get("/evidence", response_model=Page[EvidenceOut])
def list_evidence(
    db: DbDep,
    who: PrincipalDep,
    services: ServicesDep,
    paging: PagingDep,
    status: Annotated[Status | None, Query()] = None,
    teacher_id: Annotated[RecordId | None, Query()] = None,
    activity_id: Annotated[RecordId | None, Query()] = None,
    flag: Annotated[Code | None, Query(description="only items with this flag code")] = None,
) -> Page[EvidenceOut]:
    """Items the caller may see, newest first, filtered by status, teacher, activity or flag."""
    query = scoped(select(Evidence).order_by(Evidence.id.desc()), who, Evidence.teacher_id)
    if status is not None:
        query = query.where(Evidence.status == status.value)
    if teacher_id is not None:
        query = query.where(Evidence.teacher_id == teacher_id)
    if activity_id is not None:
        query = query.where(Evidence.activity_id == activity_id)
    if flag is not None:
        query = query.where(
            Evidence.id.in_(select(EvidenceFlag.evidence_id).where(EvidenceFlag.code == flag.value))
        )
    return paginate(db, query, paging, lambda item: evidence_out(item, services.store.name, who))


@router.post("/evidence/{evidence_id}/retry", status_code=202, response_model=EvidenceOut)
def retry_evidence(
    evidence_id: RecordId, request: Request, who: PrincipalDep, services: ServicesDep
) -> EvidenceOut:
    """Send a `failed` item through the pipeline again (its owner or an admin)."""
    with transaction(services.sessions) as db:
        item = visible_evidence(db, who, evidence_id)
        if not who.can_write_teacher(item.teacher_id):
            raise HTTPException(403, "only the teacher themselves or an admin retries an item")
        if item.status != Status.FAILED:
            raise ConflictError(f"only failed items are retried; this one is {item.status}")
    if not operations.retry(services, evidence_id, f"user {who.user_id}"):
        raise ConflictError("the item cannot be retried: its upload is no longer kept")
    _enqueue(request, evidence_id)
    with transaction(services.sessions) as db:
        return evidence_out(visible_evidence(db, who, evidence_id), services.store.name, who)


class RetryFilter(BaseModel):
    """Which failed items an admin sends through the pipeline again (every filter optional)."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["failed"] = Field("failed", description="only `failed` items are retried")
    reason: FailureReason | None = Field(
        None, description="the class of their failure: storage, database, network, media, internal"
    )
    teacher_id: RecordId | None = None
    kind: Kind | None = None


class RetryResult(BaseModel):
    """The items queued again, in order of receipt."""

    queued: int
    evidence_ids: list[int]


@router.post("/evidence/retry", status_code=202, response_model=RetryResult)
def retry_failed_evidence(
    body: RetryFilter, request: Request, who: AdminDep, services: ServicesDep
) -> RetryResult:
    """Send every `failed` item matching the filters through the pipeline again (admins)."""
    filters = operations.Filters(
        teacher_id=body.teacher_id, kind=body.kind, failure_reason=body.reason
    )
    ids = operations.retry_failed(
        services, request.app.state.enqueue, filters, f"user {who.user_id} (bulk retry)"
    )
    return RetryResult(queued=len(ids), evidence_ids=ids)


class Receipt(BaseModel):
    """Proof that an item is safely archived: the phone may delete its copy when sha256 matches."""

    evidence_id: int
    sha256: str
    original_bytes: int
    archived_at: datetime
    archive_key: str
    backend: str
    status: str
    safe_to_delete: bool


@router.get("/evidence/{evidence_id}/receipt", response_model=Receipt)
def get_receipt(
    evidence_id: RecordId, db: DbDep, who: PrincipalDep, services: ServicesDep
) -> Receipt:
    """The phone-offload receipt: 409 until the original is in the archive."""
    item = visible_evidence(db, who, evidence_id)
    if not item.has_receipt:
        raise ConflictError(
            f"evidence {evidence_id} is {item.status} and not archived; keep the phone's copy"
        )
    return receipt_of(item, services.store.name)


def receipt_of(item: Evidence, backend: str) -> Receipt:
    """The receipt of an item that has one (see ``Evidence.has_receipt``)."""
    assert item.original_key is not None and item.archived_at is not None
    return Receipt(
        evidence_id=item.id,
        sha256=item.sha256,
        original_bytes=item.original_bytes,
        archived_at=item.archived_at,
        archive_key=item.original_key,
        backend=backend,
        status=item.status,
        safe_to_delete=True,
    )


class ReviewIn(BaseModel):
    """A reviewer's decision; a rejection or a request for another proof says why."""

    decision: Decision
    reason_code: ReasonCode | None = Field(None, description="one of a short list of reasons")
    reason: Text | None = Field(None, max_length=2000, description="in the reviewer's words")

    @model_validator(mode="after")
    def _has_a_reason(self) -> ReviewIn:
        problem = reason_problem(self.decision, self.reason_code, self.reason)
        if problem is not None:
            raise ValueError(problem)
        return self


@router.post("/evidence/{evidence_id}/review", status_code=201, response_model=ReviewOut)
def review_evidence(
    evidence_id: RecordId, body: ReviewIn, db: DbDep, who: PrincipalDep
) -> ReviewOut:
    """Approve, reject or ask for another proof (reviewer of the item's school, or admin).

    A decision can be changed by deciding again; earlier decisions are kept, never erased,
    and each is appended to the audit trail.
    """
    if who.role is Role.TEACHER:
        raise HTTPException(403, "only reviewers and admins decide on evidence")
    item = visible_evidence(db, who, evidence_id)
    return review_out(decide(db, who, item, body.decision, body.reason_code, body.reason))
