"""The evidence pipeline: one function per step, each idempotent, over ids and paths.

Every step follows the same frame (:func:`run_step`): load the item, do nothing when it is
already terminal or the step is already done, run the step, and record a ``done`` event in
the same transaction as the step's results. Running a step twice therefore changes nothing,
and a message redelivered after a worker died simply continues the chain.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bukti.bootstrap import Services
from bukti.errors import RejectedError
from evidence.document_facts import DocumentType
from evidence.flags import Code, Flag, needs_review
from evidence.sniff import HEAD_BYTES, sniff
from evidence.status import Kind, Status
from storage import objects
from storage.db import transaction
from storage.models import Evidence, EvidenceFlag, utcnow
from workers import youtube_links
from workers.dedup import find_duplicates
from workers.lifecycle import (
    add_event,
    is_step_done,
    reject,
    staged_path,
    work_dir,
)
from workers.media import Outputs, media_for
from workers.photo import sha256_file
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


def next_step(step: str) -> str | None:
    """The step after ``step``, or None after the last."""
    index = STEPS.index(step)
    return STEPS[index + 1] if index + 1 < len(STEPS) else None


StepBody = Callable[[Services, Session, Evidence], str]


def run_step(services: Services, evidence_id: int, step: str) -> str | None:
    """Run one step of one item; returns the step to enqueue next, or None to stop."""
    body = _STEP_BODIES[step]
    try:
        with transaction(services.sessions) as session:
            # FOR NO KEY UPDATE: another item's dedup may add a flag that points at this one
            # (a foreign key check, FOR KEY SHARE) while this one waits for its dedup locks
            item = session.get(Evidence, evidence_id, with_for_update={"key_share": True})
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
    if item.kind == Kind.YOUTUBE:
        return youtube_links.validate(item)
    path = staged_path(services, item.id)
    if not path.exists():
        raise FileNotFoundError(f"staged upload of evidence {item.id} is missing: {path}")
    with path.open("rb") as fh:
        sniffed = sniff(fh.read(HEAD_BYTES))
    if sniffed is None or sniffed.mime != item.mime:
        raise RejectedError("the file's bytes changed type since upload")
    if sha256_file(path) != item.sha256:
        # the API hashed the bytes as they arrived; a difference means the staged copy is damaged
        raise RuntimeError(f"staged upload of evidence {item.id} does not match its SHA-256")
    return media_for(item.kind).validate(path, services.settings)


def _extract(services: Services, session: Session, item: Evidence) -> str:
    if item.kind == Kind.YOUTUBE:
        item.facts = youtube_links.extract(services, item)
        return ""
    item.facts = media_for(item.kind).extract(staged_path(services, item.id), services.settings)
    return ""


def _media_kind(services: Services, item: Evidence) -> str | None:
    """The media kind whose steps process the item's file; None for a link without one."""
    if item.kind == Kind.YOUTUBE:
        return Kind.VIDEO.value if youtube_links.has_download(services, item) else None
    return item.kind


def _compress(services: Services, session: Session, item: Evidence) -> str:
    kind = _media_kind(services, item)
    if kind is None:
        return "nothing to compress: a link"
    work = work_dir(services, item.id)
    work.mkdir(parents=True, exist_ok=True)
    assert item.facts is not None
    made = media_for(kind).compress(
        staged_path(services, item.id), work, services.settings, item.facts
    )
    write_outputs(work, made)
    rendition = made.rendition or staged_path(services, item.id)
    item.rendition_bytes = rendition.stat().st_size
    return f"{item.rendition_bytes} bytes {made.note}".strip()


def _hash(services: Services, session: Session, item: Evidence) -> str:
    kind = _media_kind(services, item)
    if kind is None:
        return ""
    item.perceptual = media_for(kind).hash(
        staged_path(services, item.id), work_dir(services, item.id), services.settings
    )
    distance = item.perceptual.pop("exif_thumbnail_distance", None)
    if distance is not None and item.facts is not None:
        # an EXIF thumbnail that no longer looks like the picture betrays an edit
        extra = dict(item.facts.get("extra") or {}, exif_thumbnail_distance=distance)
        item.facts = {**item.facts, "extra": extra}
    return ""


def _dedup(services: Services, session: Session, item: Evidence) -> str:
    if item.kind == Kind.YOUTUBE:
        return "links are checked for reuse by verification"
    flags = find_duplicates(services, session, item)
    _replace_flags(session, item, "dedup", flags)
    return ",".join(f"{f.code.value}:{f.related_evidence_id}" for f in flags)


def _verify(services: Services, session: Session, item: Evidence) -> str:
    flags = verify_item(services, session, item)
    _replace_flags(session, item, "verify", flags)
    return ",".join(f.code.value for f in flags)


def _archive(services: Services, session: Session, item: Evidence) -> str:
    if _media_kind(services, item) is None:
        return "nothing to archive: a link"
    staged = staged_path(services, item.id)
    made = read_outputs(work_dir(services, item.id))
    original_key = _store_copy(
        services, session, item, staged, item.mime, objects.ORIGINAL, item.sha256
    )
    rendition_key = original_key
    if made.rendition is not None:
        klass = objects.rendition_class(item.kind)
        rendition_key = _store_copy(
            services, session, item, made.rendition, made.rendition_mime, klass
        )
    if made.preview is not None:
        klass = objects.preview_class(item.kind)
        item.preview_key = _store_copy(
            services, session, item, made.preview, made.preview_mime, klass
        )
    item.original_key = original_key
    item.rendition_key = rendition_key
    item.archived_at = utcnow()
    return f"{original_key} ({staged.stat().st_size} bytes), {rendition_key}"


def _store_copy(
    services: Services,
    session: Session,
    item: Evidence,
    path: Path,
    mime: str,
    klass: str,
    sha256: str | None = None,
) -> str:
    """Put one copy of the item in the archive under its content-addressed key, verify it
    and put it on record; returns the key."""
    sha256 = sha256 or sha256_file(path)
    area = {objects.ORIGINAL: "originals", objects.PREVIEW: "previews", objects.POSTER: "previews"}
    key = object_key(area.get(klass, "renditions"), sha256, _extension(mime))
    services.store.put_file(key, path, mime)
    objects.record(session, services.store, item, key, klass, path.stat().st_size, sha256)
    return key


def _record(services: Services, session: Session, item: Evidence) -> str:
    item.status = outcome_of(item)
    item.processed_at = utcnow()
    add_event(session, item.id, "pipeline", item.status)
    session.flush()
    # the archive holds every copy now; the staged upload and scratch files can go
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


def write_outputs(work: Path, made: Outputs) -> None:
    """Leave the compress step's outputs for the archive step (it may run elsewhere later)."""
    manifest = {
        "rendition": made.rendition.name if made.rendition else None,
        "rendition_mime": made.rendition_mime,
        "preview": made.preview.name if made.preview else None,
        "preview_mime": made.preview_mime,
        "note": made.note,
    }
    (work / "outputs.json").write_text(json.dumps(manifest))


def read_outputs(work: Path) -> Outputs:
    """The compress step's outputs; a missing manifest means the work directory was lost."""
    manifest = json.loads((work / "outputs.json").read_text())
    return Outputs(
        rendition=work / manifest["rendition"] if manifest["rendition"] else None,
        rendition_mime=manifest["rendition_mime"],
        preview=work / manifest["preview"] if manifest["preview"] else None,
        preview_mime=manifest["preview_mime"],
        note=manifest["note"],
    )


def object_key(area: str, sha256: str, extension: str) -> str:
    """A content-addressed key: the same bytes always land on the same key."""
    return f"{area}/{sha256[:2]}/{sha256}.{extension}"
