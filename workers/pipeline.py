"""The evidence pipeline: one function per step, each idempotent, over ids and paths.

Every step follows the same frame (:func:`run_step`): load the item, do nothing when it is
already terminal or the step is already done, run the step, and record a ``done`` event in
the same transaction as the step's results. Running a step twice therefore changes nothing,
and a message redelivered after a worker died simply continues the chain.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bukti.bootstrap import Services
from bukti.errors import RejectedError
from evidence.duplicates import hamming
from evidence.facts import CaptureFacts
from evidence.flags import Code, Flag, needs_review
from evidence.sniff import sniff
from evidence.status import Status
from storage.db import transaction
from storage.models import Evidence, EvidenceFlag, PerceptualHashRow, utcnow
from workers import photo
from workers.dedup import DuplicateFinder, hashes_from_json, hashes_to_json
from workers.lifecycle import (
    add_event,
    is_step_done,
    reject,
    rendition_path,
    staged_path,
    work_dir,
)
from workers.verify import VERIFY_FLAGS, verify_item

log = logging.getLogger(__name__)

STEPS: tuple[str, ...] = (
    "validate",
    "extract",
    "compress",
    "hash",
    "dedup",
    "verify",
    "archive",
    "record",
)

#: Flags each step owns: when a step runs again it replaces exactly these.
STEP_FLAGS: dict[str, frozenset[Code]] = {
    "dedup": frozenset({Code.EXACT_DUPLICATE, Code.NEAR_DUPLICATE}),
    "verify": VERIFY_FLAGS,
}

SNIFF_BYTES = 4096


def next_step(step: str) -> str | None:
    """The step after ``step``, or None after the last."""
    index = STEPS.index(step)
    return STEPS[index + 1] if index + 1 < len(STEPS) else None


StepBody = Callable[[Services, Session, Evidence], str]


def run_step(services: Services, evidence_id: int, step: str) -> str | None:
    """Run one step of one item; returns the step to enqueue next, or None to stop."""
    body = _STEP_BODIES[step]
    lock = DuplicateFinder.for_process(services).locked() if step == "dedup" else nullcontext()
    try:
        # the dedup step holds a lock across its whole transaction: two copies of one photo
        # processed at once must still see each other
        with lock, transaction(services.sessions) as session:
            item = session.get(Evidence, evidence_id, with_for_update=True)
            if item is None:
                log.warning("evidence %s vanished before step %s", evidence_id, step)
                return None
            if Status(item.status).is_terminal:
                return None
            if is_step_done(session, evidence_id, step):
                return next_step(step)
            if item.status == Status.RECEIVED:
                item.status = Status.PROCESSING
            detail = body(services, session, item)
            add_event(session, evidence_id, step, "done", detail)
            return next_step(step)
    except RejectedError as exc:
        reject(services, evidence_id, step, exc.reason)
        return None


def _replace_flags(session: Session, item: Evidence, step: str, flags: list[Flag]) -> None:
    owned = [code.value for code in STEP_FLAGS[step]]
    session.execute(
        delete(EvidenceFlag).where(
            EvidenceFlag.evidence_id == item.id, EvidenceFlag.code.in_(owned)
        )
    )
    for flag in flags:
        session.add(
            EvidenceFlag(
                evidence_id=item.id,
                code=flag.code.value,
                severity=flag.severity.value,
                detail=flag.detail,
                related_evidence_id=flag.related_evidence_id,
            )
        )


# --- the steps ------------------------------------------------------------------------------


def _validate(services: Services, session: Session, item: Evidence) -> str:
    path = staged_path(services, item.id)
    if not path.exists():
        raise FileNotFoundError(f"staged upload of evidence {item.id} is missing: {path}")
    with path.open("rb") as fh:
        sniffed = sniff(fh.read(SNIFF_BYTES))
    if sniffed is None or sniffed.mime != item.mime:
        raise RejectedError("the file's bytes changed type since upload")
    photo.validate_photo(path, services.settings.max_image_pixels)
    return sniffed.mime


def _extract(services: Services, session: Session, item: Evidence) -> str:
    facts = photo.extract_photo_facts(staged_path(services, item.id))
    item.facts = facts.to_json()
    return ""


def _compress(services: Services, session: Session, item: Evidence) -> str:
    out = rendition_path(services, item.id)
    out.parent.mkdir(parents=True, exist_ok=True)
    rendition = photo.render_photo(
        staged_path(services, item.id),
        out,
        max_side_px=services.settings.rendition_max_side_px,
        quality=services.settings.rendition_jpeg_quality,
    )
    item.rendition_bytes = rendition.size_bytes
    return f"{rendition.width}x{rendition.height} {rendition.size_bytes} bytes"


def _hash(services: Services, session: Session, item: Evidence) -> str:
    hashes = photo.hash_photo(
        staged_path(services, item.id), max_side_px=services.settings.rendition_max_side_px
    )
    if hashes.sha256 != item.sha256:
        # the API hashed the bytes as they arrived; a difference means the staged copy is damaged
        raise RuntimeError(f"staged upload of evidence {item.id} does not match its SHA-256")
    item.perceptual = hashes_to_json(hashes.perceptual)
    if hashes.exif_thumbnail is not None and item.facts is not None:
        # an EXIF thumbnail that no longer looks like the picture betrays an edit
        distance = hamming(hashes.perceptual.phash, hashes.exif_thumbnail.phash)
        extra = dict(item.facts.get("extra") or {}, exif_thumbnail_distance=distance)
        item.facts = {**item.facts, "extra": extra}
    return ""


def _dedup(services: Services, session: Session, item: Evidence) -> str:
    assert item.perceptual is not None
    finder = DuplicateFinder.for_process(services)
    flags = finder.find(session, item, hashes_from_json(item.perceptual))
    _replace_flags(session, item, "dedup", flags)
    registered = select(PerceptualHashRow.seq).where(PerceptualHashRow.evidence_id == item.id)
    if session.scalar(registered) is None:
        session.add(PerceptualHashRow(evidence_id=item.id, hashes=item.perceptual))
    return ",".join(f"{f.code.value}:{f.related_evidence_id}" for f in flags)


def _verify(services: Services, session: Session, item: Evidence) -> str:
    flags = verify_item(services, session, item)
    _replace_flags(session, item, "verify", flags)
    return ",".join(f.code.value for f in flags)


def _archive(services: Services, session: Session, item: Evidence) -> str:
    original_key = object_key("originals", item.sha256, _EXTENSIONS.get(item.mime, "bin"))
    stored = services.store.put_file(original_key, staged_path(services, item.id), item.mime)
    rendition = rendition_path(services, item.id)
    rendition_sha = file_sha256(rendition)
    rendition_key = object_key("renditions", rendition_sha, "jpg")
    services.store.put_file(rendition_key, rendition, "image/jpeg")
    item.original_key = original_key
    item.rendition_key = rendition_key
    item.stored_bytes = item.rendition_bytes
    item.archived_at = utcnow()
    return f"{original_key} ({stored.size_bytes} bytes), {rendition_key}"


def _record(services: Services, session: Session, item: Evidence) -> str:
    item.status = outcome_of(item)
    item.processed_at = utcnow()
    add_event(session, item.id, "pipeline", item.status)
    session.flush()
    # the archive holds both copies now; the staged upload and scratch files can go
    staged_path(services, item.id).unlink(missing_ok=True)
    shutil.rmtree(work_dir(services, item.id), ignore_errors=True)
    return item.status


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
        item = session.get(Evidence, evidence_id, with_for_update=True)
        if item is None or item.status not in (Status.ACCEPTED, Status.FLAGGED):
            return False
        flags = verify_item(services, session, item)
        _replace_flags(session, item, "verify", flags)
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


_STEP_BODIES: dict[str, StepBody] = {
    "validate": _validate,
    "extract": _extract,
    "compress": _compress,
    "hash": _hash,
    "dedup": _dedup,
    "verify": _verify,
    "archive": _archive,
    "record": _record,
}

_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "image/heif": "heif",
    "image/avif": "avif",
}


def object_key(area: str, sha256: str, extension: str) -> str:
    """A content-addressed key: the same bytes always land on the same key."""
    return f"{area}/{sha256[:2]}/{sha256}.{extension}"


def file_sha256(path: Path, chunk_bytes: int = 1024 * 1024) -> str:
    """SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def facts_of(item: Evidence) -> CaptureFacts | None:
    """The item's facts as the domain type."""
    return CaptureFacts.from_json(item.facts) if item.facts else None
