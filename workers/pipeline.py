"""The evidence pipeline: one job per item, with the database as the truth.

:func:`process_evidence` claims the item (a lease, see :mod:`workers.leases`), loads it and
its records once, runs the media phases as plain function calls (a photo is decoded once for
validation, facts, rendition and hashes), archives the results content-addressed, and then
in one short transaction records facts, hashes, duplicates, flags and the outcome. A video's
transcoding is a job of its own (:func:`transcode_evidence`, on its own queue with its own
time limit): the item's job examines the video (one ffprobe), records its facts and hands over.
Re-verification after a record changed is a job of its own too (:func:`reverify`).

Every attempt is safe to repeat: archive keys are content-addressed, and only the job that
still holds the item's lease may record its outcome, so an item is never recorded twice. A
transient failure is retried with backoff; the event log keeps the item's history (each
attempt, its errors with their technical detail, each phase's result).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dramatiq.middleware import Shutdown
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session, joinedload

from bukti.bootstrap import Services
from bukti.errors import RejectedError
from evidence.document_facts import DocumentType
from evidence.flags import Code, Flag, needs_review
from evidence.sniff import HEAD_BYTES, sniff
from evidence.status import Kind, Status
from evidence.trailing import trailing_data_flag
from storage import objects
from storage.db import transaction
from storage.integrity import sha256_file
from storage.models import Evidence, EvidenceFlag, table_of, utcnow
from storage.repositories import ROW_ONLY, add_event, add_events, add_flags
from workers import leases, lifecycle, youtube_links
from workers.dedup import find_duplicates
from workers.lifecycle import reject, staged_path, work_dir
from workers.media import Examined, Made, Outputs, media_for
from workers.verify import VERIFY_FLAGS, verify_item

log = logging.getLogger(__name__)

#: the phases of an item's job, in order, each with a `done` event in the item's log
PHASES: tuple[str, ...] = (
    "validate",
    "extract",
    "compress",
    "hash",
    "dedup",
    "verify",
    "archive",
)

#: flags the media phases raise (re-verification keeps them)
MEDIA_FLAGS = frozenset({Code.TRAILING_DATA})
#: flags re-verification replaces
REVERIFY_FLAGS = VERIFY_FLAGS - MEDIA_FLAGS

#: formats whose own end is known, so that another file hidden after it can be found
_TRAILER_MIMES = frozenset({"image/jpeg", "image/png", "application/pdf"})

# The item's two reads in every job, built once (the id is a parameter): a session.get with
# options builds its SELECT and computes its cache key again on each call.
#: what the phases read: the item's row and its teacher
_ITEM_AND_TEACHER = (
    select(Evidence)
    .options(*ROW_ONLY, joinedload(Evidence.teacher, innerjoin=True))
    .where(Evidence.id == bindparam("evidence_id"))
)
#: the item's row for its outcome, FOR NO KEY UPDATE (as everywhere here): another item's
#: dedup may add a flag that points at this one (a foreign key check, FOR KEY SHARE) while
#: this one waits
_LOCKED_ROW = (
    select(Evidence)
    .options(*ROW_ONLY)
    .where(Evidence.id == bindparam("evidence_id"))
    .with_for_update(key_share=True)
)


@dataclass(frozen=True)
class Ran:
    """What one job did, for the actor: which job comes next, or when to wake the item again."""

    outcome: str
    next_job: str | None = None
    retry_at: datetime | None = None


@dataclass
class Processed:
    """Everything the media phases learnt about an item, before it is recorded."""

    examined: Examined
    made: Made | None  # None: a link with nothing to archive
    media_flags: list[Flag] = field(default_factory=list)
    #: columns a downloaded link changes (its file's type, size and SHA-256)
    updates: dict[str, Any] = field(default_factory=dict)
    #: the phases this job ran (a video's transcode job: from compress on)
    phases: tuple[str, ...] = PHASES


@dataclass(frozen=True)
class Archived:
    """Where :func:`archive` put an item's files."""

    original_key: str
    rendition_key: str
    preview_key: str | None
    copies: list[objects.Written]
    note: str


# --- the jobs ---------------------------------------------------------------------------------


def process_evidence(services: Services, evidence_id: int, owner: str | None = None) -> Ran:
    """The item's job: every phase of a photo, document or link; a video's examination."""
    owner = owner or leases.new_owner()
    return _claimed(services, evidence_id, owner, _process, "process")


def transcode_evidence(services: Services, evidence_id: int, owner: str | None = None) -> Ran:
    """A video's own job: rendition, poster and frame hashes, archive, outcome."""
    owner = owner or leases.new_owner()
    return _claimed(services, evidence_id, owner, _transcode, "transcode")


def _process(services: Services, item: Evidence, owner: str) -> Ran:
    if _is_video(services, item):
        if item.facts is None or "video" not in item.facts:
            examined = _examine(services, item)
            _hand_over(services, item.id, owner, examined)
        else:
            _hand_over(services, item.id, owner, None)
        return Ran("examined", next_job="transcode")
    if item.kind == Kind.YOUTUBE:
        youtube_links.validate(item)
        facts = youtube_links.extract(services, item)
        if youtube_links.has_download(services, item):
            # the link's video was downloaded: from here on it is processed as a video
            updates: dict[str, Any] = {"mime": item.mime, "sha256": item.sha256}
            updates["original_bytes"] = item.original_bytes
            _hand_over(services, item.id, owner, Examined(item.video_id or "", facts), updates)
            return Ran("examined", next_job="transcode")
        processed = Processed(Examined(item.video_id or "", facts), None)
        return Ran(_finish(services, item.id, owner, processed, None))
    staged = _checked_staged(services, item)
    work = _fresh_work_dir(services, item.id)
    examined, made = media_for(item.kind).process(staged, work, services.settings)
    _check_sha256(item, staged, made.sha256)
    processed = Processed(examined, made, _trailing_flags(item.mime, staged))
    archived = archive(services, item, made.outputs)
    return Ran(_finish(services, item.id, owner, processed, archived))


def _transcode(services: Services, item: Evidence, owner: str) -> Ran:
    if item.facts is None or "video" not in item.facts:
        # not examined yet (a retry from the start): the item's own job does that first
        _hand_back(services, item.id, owner)
        return Ran("not examined", next_job="process")
    staged = staged_path(services, item.id)
    if not staged.exists():
        raise FileNotFoundError(f"staged upload of evidence {item.id} is missing: {staged}")
    work = _fresh_work_dir(services, item.id)
    made = media_for(Kind.VIDEO).make(staged, work, services.settings, item.facts)
    examined = Examined("", item.facts)
    processed = Processed(examined, made, [], phases=PHASES[PHASES.index("compress") :])
    archived = archive(services, item, made.outputs)
    return Ran(_finish(services, item.id, owner, processed, archived))


def _claimed(services: Services, evidence_id: int, owner: str, body: Any, job: str) -> Ran:
    """Claim the item, run ``body`` on it under a renewed lease, and settle any failure
    (a failed attempt is retried by the same ``job``)."""
    settings = services.settings
    attempt = leases.claim(services.sessions, evidence_id, owner, settings.lease_s)
    if not attempt:
        return Ran("not claimed")
    try:
        with leases.kept(services.sessions, evidence_id, owner, settings.lease_s):
            item = _load(services, evidence_id)
            ran: Ran = body(services, item, owner)
            return ran
    except RejectedError as exc:
        reject(services, evidence_id, "pipeline", exc.reason)
        return Ran(Status.REJECTED)
    except leases.LeaseLostError:
        log.warning("evidence %s was taken over by another job; this attempt ends", evidence_id)
        return Ran("taken over")
    except Shutdown:
        # the worker is stopping: let go at once, the item is due again now
        _release(services, evidence_id, owner, utcnow())
        raise
    except Exception as exc:
        return _failed_attempt(services, evidence_id, owner, attempt, exc, job)
    except BaseException as exc:  # Dramatiq's time limit interrupts the job with one
        if leases.classify(exc) is leases.FailureReason.MEDIA:
            return _failed_attempt(services, evidence_id, owner, attempt, exc, job)
        raise


def _failed_attempt(
    services: Services, evidence_id: int, owner: str, attempt: int, exc: BaseException, job: str
) -> Ran:
    """Record a failed attempt; retry it later with backoff, or fail the item."""
    reason = leases.classify(exc)
    detail = f"{reason.value}: {type(exc).__name__}: {exc}"
    log.warning("evidence %s attempt %d failed: %s", evidence_id, attempt, detail)
    timing = _backoff(services)
    try:
        with transaction(services.sessions) as session:
            item = session.get(Evidence, evidence_id, with_for_update={"key_share": True})
            if item is None or not leases.holds(item, owner):
                return Ran("taken over")
            add_event(session, evidence_id, "pipeline", "error", detail[:2000])
            decision = leases.after_failure(attempt, item.auto_retries, reason, utcnow(), timing)
            if not decision.fails:
                item.failure_reason = reason.value
                leases.clear(item, decision.retry_at)
                return Ran("retry", next_job=job, retry_at=decision.retry_at)
        lifecycle.fail(
            services, evidence_id, leases.sentence(reason), reason.value, decision.retry_at, owner
        )
        return Ran(Status.FAILED)
    except Exception:
        # the database itself is down: the lease lapses and the sweep picks the item up again
        log.exception("could not record the failed attempt of evidence %s", evidence_id)
        return Ran("unrecorded")


def _backoff(services: Services) -> leases.Backoff:
    settings = services.settings
    return leases.Backoff(
        max_attempts=settings.max_retries + 1,
        retry_min_s=settings.retry_min_backoff_ms / 1000,
        retry_max_s=settings.retry_max_backoff_ms / 1000,
        auto_min_s=settings.auto_retry_min_s,
        auto_max_s=settings.auto_retry_max_s,
    )


def _release(services: Services, evidence_id: int, owner: str, due: datetime) -> None:
    try:
        with transaction(services.sessions) as session:
            item = session.get(Evidence, evidence_id, with_for_update={"key_share": True})
            if item is not None and leases.holds(item, owner):
                item.attempts = max(item.attempts - 1, 0)  # not the item's fault
                leases.clear(item, due)
    except Exception:
        log.exception("could not release evidence %s", evidence_id)


# --- the phases -------------------------------------------------------------------------------


def _load(services: Services, evidence_id: int) -> Evidence:
    """The item with what its phases read, detached: no transaction stays open meanwhile."""
    with services.sessions() as session:
        item = session.scalars(_ITEM_AND_TEACHER, {"evidence_id": evidence_id}).one()
        session.expunge_all()
    return item


def _is_video(services: Services, item: Evidence) -> bool:
    if item.kind == Kind.VIDEO:
        return True
    return (
        item.kind == Kind.YOUTUBE
        and item.facts is not None
        and "video" in item.facts
        and (youtube_links.has_download(services, item))
    )


def _checked_staged(services: Services, item: Evidence) -> Path:
    """The staged upload, still of the type it was received as."""
    path = staged_path(services, item.id)
    if not path.exists():
        raise FileNotFoundError(f"staged upload of evidence {item.id} is missing: {path}")
    with path.open("rb") as fh:
        sniffed = sniff(fh.read(HEAD_BYTES))
    if sniffed is None or sniffed.mime != item.mime:
        raise RejectedError("the file's bytes changed type since upload")
    return path


def _check_sha256(item: Evidence, path: Path, known: str | None) -> None:
    # the API hashed the bytes as they arrived; a difference means the staged copy is damaged
    if (known or sha256_file(path)) != item.sha256:
        raise RuntimeError(f"staged upload of evidence {item.id} does not match its SHA-256")


def _fresh_work_dir(services: Services, evidence_id: int) -> Path:
    work = work_dir(services, evidence_id)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    return work


def _examine(services: Services, item: Evidence) -> Examined:
    staged = _checked_staged(services, item)
    examined = media_for(Kind.VIDEO).examine(staged, services.settings)
    _check_sha256(item, staged, None)
    return examined


def _trailing_flags(mime: str, path: Path) -> list[Flag]:
    """``trailing_data`` when another file hides after the photo's (or PDF's) own end."""
    if mime not in _TRAILER_MIMES or path.stat().st_size == 0:
        return []
    flag = trailing_data_flag(mime, path.read_bytes())
    return [flag] if flag is not None else []


def archive(services: Services, item: Evidence, outputs: Outputs) -> Archived:
    """Store original, rendition and preview under content-addressed keys (idempotent); they
    are put on record (storage.objects) in the transaction that records the outcome."""
    staged = staged_path(services, item.id)
    original = _store_copy(services, staged, item.mime, objects.ORIGINAL, item.sha256)
    copies = [original]
    rendition = preview = None
    if outputs.rendition is not None:
        klass = objects.rendition_class(item.kind)
        rendition = _store_copy(
            services, outputs.rendition, outputs.rendition_mime, klass, outputs.rendition_sha256
        )
        copies.append(rendition)
    if outputs.preview is not None:
        klass = objects.preview_class(item.kind)
        preview = _store_copy(
            services, outputs.preview, outputs.preview_mime, klass, outputs.preview_sha256
        )
        copies.append(preview)
    rendition_key = rendition.key if rendition else original.key
    note = f"{original.key} ({original.size_bytes} bytes), {rendition_key}"
    return Archived(original.key, rendition_key, preview.key if preview else None, copies, note)


def _store_copy(
    services: Services, path: Path, mime: str, klass: str, sha256: str | None = None
) -> objects.Written:
    """Put one copy in the archive under its content-addressed key. ``path`` is the job's
    own file (the staged upload, a scratch file), which only ever goes once the outcome is on
    record: the store may keep that very file rather than a copy."""
    sha256 = sha256 or sha256_file(path)
    area = {objects.ORIGINAL: "originals", objects.PREVIEW: "previews", objects.POSTER: "previews"}
    key = object_key(area.get(klass, "renditions"), sha256, _extension(mime))
    stored = services.store.adopt_file(key, path, mime, sha256)
    return objects.Written(key, klass, stored.size_bytes, sha256, stored.sha256 == sha256)


def _hand_over(
    services: Services,
    evidence_id: int,
    owner: str,
    examined: Examined | None,
    updates: dict[str, Any] | None = None,
) -> None:
    """Record a video's examination and let go of it for its transcode job."""
    with transaction(services.sessions) as session:
        item = session.get(Evidence, evidence_id, with_for_update={"key_share": True})
        if item is None or not leases.holds(item, owner):
            raise leases.LeaseLostError(evidence_id)
        for name, value in (updates or {}).items():
            setattr(item, name, value)
        if examined is not None:
            item.facts = examined.facts
            add_event(session, evidence_id, "validate", "done", examined.note)
            add_event(session, evidence_id, "extract", "done")
            item.attempts = 0  # the transcode job's attempts are a round of their own
        leases.clear(item, utcnow())


def _hand_back(services: Services, evidence_id: int, owner: str) -> None:
    with transaction(services.sessions) as session:
        item = session.get(Evidence, evidence_id, with_for_update={"key_share": True})
        if item is None or not leases.holds(item, owner):
            raise leases.LeaseLostError(evidence_id)
        leases.clear(item, utcnow())


def _finish(
    services: Services,
    evidence_id: int,
    owner: str,
    processed: Processed,
    archived: Archived | None,
) -> Status:
    """In one short transaction: facts, hashes, duplicates, flags, archive keys and outcome.

    The item's row is written once, at the transaction's end, not before every query of the
    lookups (no autoflush): nothing the transaction reads depends on it."""
    with transaction(services.sessions) as session, session.no_autoflush:
        item = session.scalars(_LOCKED_ROW, {"evidence_id": evidence_id}).one_or_none()
        if item is None or not leases.holds(item, owner):
            raise leases.LeaseLostError(evidence_id)
        for name, value in processed.updates.items():
            setattr(item, name, value)
        item.facts = processed.examined.facts
        notes: dict[str, str] = {"validate": processed.examined.note}
        made = processed.made
        if made is not None:
            item.perceptual = made.perceptual
            rendition = made.outputs.rendition
            item.rendition_bytes = rendition.stat().st_size if rendition else item.original_bytes
            notes["compress"] = f"{item.rendition_bytes} bytes {made.outputs.note}".strip()
        else:
            notes["compress"] = "nothing to compress: a link"
        duplicates: list[Flag] = []
        if item.kind != Kind.YOUTUBE:
            duplicates = find_duplicates(services, session, item)
        notes["dedup"] = ",".join(f"{f.code.value}:{f.related_evidence_id}" for f in duplicates)
        verified = verify_item(services, session, item)
        notes["verify"] = ",".join(f.code.value for f in verified)
        if archived is not None:
            item.original_key = archived.original_key
            item.rendition_key = archived.rendition_key
            item.preview_key = archived.preview_key
            item.archived_at = utcnow()
            # verified, on record; the item's stored_bytes follow
            objects.record(session, services.store, item, archived.copies)
            notes["archive"] = archived.note
        else:
            notes["archive"] = "nothing to archive: a link"
        flags = processed.media_flags + duplicates + verified
        _replace_flags(session, item, None, flags)
        item.status = Status.FLAGGED if needs_review(flags) else Status.ACCEPTED
        item.processed_at = utcnow()
        item.reason = item.failure_reason = None
        leases.clear(item)
        done = [(phase, "done", notes.get(phase, "")) for phase in processed.phases]
        add_events(session, evidence_id, [*done, ("pipeline", item.status, "")])
        status = Status(item.status)
    # the archive holds every copy now; the staged upload and scratch files can go
    staged_path(services, evidence_id).unlink(missing_ok=True)
    shutil.rmtree(work_dir(services, evidence_id), ignore_errors=True)
    return status


def _replace_flags(
    session: Session, item: Evidence, owned: frozenset[Code] | None, flags: list[Flag]
) -> None:
    """Replace the item's flags of the ``owned`` codes (every flag when None) by ``flags``."""
    connection = session.connection()
    if owned is None:
        connection.execute(_DELETE_FLAGS, {"evidence_id": item.id})
    else:
        codes = sorted(code.value for code in owned)
        connection.execute(_DELETE_OWNED_FLAGS, {"evidence_id": item.id, "codes": codes})
    # Core's DELETE: the job never loads the flags (ROW_ONLY) and the item's collection is
    # read again when next used (re-verification refreshes it)
    session.expire(item, ["flags"])
    add_flags(session, item.id, flags)


_FLAG_TABLE = table_of(EvidenceFlag)
#: built once: an item's flags, all of them or those of some codes
_DELETE_FLAGS = delete(_FLAG_TABLE).where(_FLAG_TABLE.c.evidence_id == bindparam("evidence_id"))
_DELETE_OWNED_FLAGS = _DELETE_FLAGS.where(
    _FLAG_TABLE.c.code.in_(bindparam("codes", expanding=True))
)


def outcome_of(item: Evidence) -> Status:
    """`flagged` when any flag needs a reviewer, else `accepted`."""
    flags = [Flag.raise_(Code(f.code), f.detail, f.related_evidence_id) for f in item.flags]
    return Status.FLAGGED if needs_review(flags) else Status.ACCEPTED


def reverify(services: Services, evidence_id: int) -> bool:
    """Verify a finished item again after its records changed; its status follows its flags.

    Only `accepted` and `flagged` items are verified again; a reviewer's decision stays
    beside the new status, as every decision does. False when there was nothing to do.
    """
    with transaction(services.sessions) as session:
        item = session.get(Evidence, evidence_id, with_for_update={"key_share": True})
        if item is None or item.status not in (Status.ACCEPTED, Status.FLAGGED):
            return False
        flags = verify_item(services, session, item)
        _replace_flags(session, item, REVERIFY_FLAGS, flags)
        session.flush()
        session.refresh(item)
        before = item.status
        item.status = outcome_of(item)
        add_event(
            session,
            evidence_id,
            "verify",
            "reverified",
            f"{before} -> {item.status}: {','.join(f.code.value for f in flags)}",
        )
    return True


_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "image/heif": "heif",
    "image/avif": "avif",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/3gpp": "3gp",
    "video/webm": "webm",
    "application/pdf": "pdf",
    "application/zip": "zip",
}


def _extension(mime: str) -> str:
    if mime in _EXTENSIONS:
        return _EXTENSIONS[mime]
    for kind in DocumentType:
        if kind.mime == mime:
            return kind.value.lower()
    return "bin"


def object_key(area: str, sha256: str, extension: str) -> str:
    """A content-addressed key: the same bytes always land on the same key."""
    return f"{area}/{sha256[:2]}/{sha256}.{extension}"
