"""Evidence: upload (streamed, answered 202 before any processing), read, list, retry.

The upload route reads the request and answers; :mod:`api.intake` records and queues the
file or link it read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select

from api import intake
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
)
from api.scoping import scoped, visible_evidence
from api.upload import receive_upload
from bukti import operations
from bukti.errors import ConflictError, InvalidRequestError, PayloadTooLargeError
from evidence.failures import FailureReason
from evidence.flags import Code
from evidence.review import Decision, ReasonCode, reason_problem
from evidence.status import Kind, Role, Status
from storage.db import transaction
from storage.models import Evidence, EvidenceEvent, EvidenceFlag
from storage.objects import copies_of

router = APIRouter(prefix="/api/v1", tags=["evidence"])


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
    if request.headers.get("content-type", "").startswith("application/json"):
        link = await _read_link(request)
        item, replayed = await run_in_threadpool(
            intake.record_link, services, who, link, idempotency_key
        )
    else:
        limits = intake.upload_limits(services)
        upload = await receive_upload(
            request,
            services.settings.incoming_dir,
            lambda sniffed: limits[sniffed.kind],
            max(limits.values()),
        )
        try:
            item, replayed = await run_in_threadpool(
                intake.record_upload, services, who, upload, idempotency_key
            )
        except BaseException:
            upload.discard()
            raise
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    await run_in_threadpool(intake.queue_received, services, request.app.state.enqueue, item)
    return item


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
    intake.queue(services, request.app.state.enqueue, evidence_id)
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
