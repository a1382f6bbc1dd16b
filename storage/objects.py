"""The archive's objects on record: what is held, for which items, and verified writes.

Keys are content-addressed, so identical bytes land on one key and are one
:class:`ArchiveObject`; each item's use of it is an :class:`EvidenceObject` link. An object
is removed from the store only when its last link is released, so purging one item never
takes bytes another item still uses. ``Evidence.stored_bytes`` is always the sum of the
objects an item holds now (:func:`refresh_stored_bytes`).

A removed object first goes to the trash (``trash/<key>``) for a grace period: a removal
made by mistake is undone by :func:`restore` until :func:`purge_trash` empties it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Executable, bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from evidence.status import Kind
from storage.backend import ObjectStore, StorageError
from storage.db import is_postgres, upsert
from storage.integrity import object_sha256
from storage.models import ArchiveObject, Evidence, EvidenceObject, table_of, utcnow
from storage.object_lock import protect_original

ORIGINAL = "original"
RENDITION = "rendition"
SANITISED = "sanitised"
PREVIEW = "preview"
POSTER = "poster"
#: every class, in the order an item's copies are listed
CLASSES: tuple[str, ...] = (ORIGINAL, RENDITION, SANITISED, PREVIEW, POSTER)
TRASH_PREFIX = "trash/"


def rendition_class(kind: str) -> str:
    """The class of an item's rendition: a document's is its sanitised copy."""
    return SANITISED if kind == Kind.DOCUMENT else RENDITION


def preview_class(kind: str) -> str:
    """The class of an item's preview: a video's is its poster frame."""
    return POSTER if kind in (Kind.VIDEO, Kind.YOUTUBE) else PREVIEW


def verify_write(store: ObjectStore, key: str, size_bytes: int, sha256: str) -> None:
    """Read back what the store holds under ``key``; raise :class:`StorageError` (retried:
    the write is repeated) unless its size and SHA-256 are those written."""
    try:
        held = store.stat(key)
    except FileNotFoundError:
        raise StorageError(f"the store lost {key} right after it was written") from None
    if held.size_bytes != size_bytes:
        raise StorageError(f"{key} holds {held.size_bytes} bytes, {size_bytes} were written")
    actual = object_sha256(store, key)
    if actual != sha256:
        raise StorageError(f"{key} reads back as {actual[:12]}…, {sha256[:12]}… was written")


@dataclass(frozen=True)
class Written:
    """A copy of an item just written to the store, to be put on record."""

    key: str
    klass: str
    size_bytes: int
    sha256: str
    #: the store vouched for its bytes as it wrote them (no read-back needed)
    verified: bool = False


def record(
    session: Session, store: ObjectStore, item: Evidence, written: Sequence[Written]
) -> list[ArchiveObject]:
    """Note that ``item`` uses the objects just written, once their bytes are verified (read
    back, unless the store vouched for them as it wrote them); idempotent. Updates the item's
    ``stored_bytes``."""
    if not written:
        return []
    now = utcnow()
    postgres = is_postgres(session)
    connection = session.connection()
    rows = {copy.key: _object_row(copy, now) for copy in written}
    # two items with the same bytes may be archived at once: the second insert is a no-op
    connection.execute(_insert_objects(postgres), list(rows.values()))
    # locked, in key order: a retention run removing the same bytes at this moment waits, or
    # we wait
    held = {obj.key: obj for obj in session.scalars(_HELD_FOR_UPDATE, {"keys": sorted(rows)})}
    for copy in written:
        if not copy.verified:
            verify_write(store, copy.key, copy.size_bytes, copy.sha256)
    _mark_verified(session, list(held.values()), now)
    links = [
        {"evidence_id": item.id, "object_id": obj.id, "created_at": now} for obj in held.values()
    ]
    connection.execute(_upsert_links(postgres), links)
    # every row the sum reads is written: no flush of the session's other changes
    item.stored_bytes = held_bytes(session, item.id)
    if store.has_object_lock:
        for copy in written:
            if copy.klass == ORIGINAL:
                protect_original(session, store, item, held[copy.key])
    return [held[copy.key] for copy in written]


def _object_row(copy: Written, now: datetime) -> dict[str, Any]:
    return {
        "key": copy.key,
        "klass": copy.klass,
        "size_bytes": copy.size_bytes,
        "sha256": copy.sha256,
        "created_at": now,
        "legal_hold": False,
    }


# The statements every archived item runs, built once (per dialect for the upserts) and run
# with the values as parameters: a statement of literal rows is built, keyed and compiled
# again on every call.
_OBJECT_TABLE = table_of(ArchiveObject)
_LINK_TABLE = table_of(EvidenceObject)
_HELD_FOR_UPDATE = (
    select(ArchiveObject)
    .where(ArchiveObject.key.in_(bindparam("keys", expanding=True)))
    .order_by(ArchiveObject.key)
    .with_for_update()
)
_VERIFIED = (
    update(_OBJECT_TABLE)
    .where(_OBJECT_TABLE.c.id.in_(bindparam("ids", expanding=True)))
    .values(verified_at=bindparam("now", type_=_OBJECT_TABLE.c.verified_at.type))
)
#: written again after a removal: the bytes are back
_BACK = (
    update(_OBJECT_TABLE)
    .where(_OBJECT_TABLE.c.id.in_(bindparam("ids", expanding=True)))
    .values(removed_at=None, trash_key=None, trash_until=None)
)


@cache
def _insert_objects(postgres: bool) -> Executable:
    return upsert(postgres, _OBJECT_TABLE).on_conflict_do_nothing(index_elements=["key"])


@cache
def _upsert_links(postgres: bool) -> Executable:
    """The item holds these objects (again, if retention had released them): an upsert."""
    return upsert(postgres, _LINK_TABLE).on_conflict_do_update(
        index_elements=["evidence_id", "object_id"],
        set_={"released_at": None, "released_by_run_id": None},
    )


def _mark_verified(session: Session, held: list[ArchiveObject], now: datetime) -> None:
    """``verified_at`` now, and a removed object back, in the database and in the session's
    objects alike (nothing is left for a flush to write)."""
    connection = session.connection()
    connection.execute(_VERIFIED, {"ids": [obj.id for obj in held], "now": now})
    back = [obj for obj in held if obj.removed_at is not None]
    if back:
        connection.execute(_BACK, {"ids": [obj.id for obj in back]})
    for obj in held:
        set_committed_value(obj, "verified_at", now)
    for obj in back:
        for name in ("removed_at", "trash_key", "trash_until"):
            set_committed_value(obj, name, None)


@dataclass(frozen=True)
class Copy:
    """One copy of an item: its class, key and size, and whether the archive holds it now."""

    klass: str
    key: str
    size_bytes: int
    sha256: str
    held: bool
    released_at: datetime | None
    restorable_until: datetime | None


def copies_of(session: Session, evidence_id: int) -> list[Copy]:
    """Every copy the item has had, held or released, originals first."""
    rows = session.execute(
        select(EvidenceObject, ArchiveObject)
        .join(ArchiveObject, ArchiveObject.id == EvidenceObject.object_id)
        .where(EvidenceObject.evidence_id == evidence_id)
    ).all()
    copies = [
        Copy(
            obj.klass,
            obj.key,
            obj.size_bytes,
            obj.sha256,
            link.released_at is None and obj.removed_at is None,
            link.released_at or obj.removed_at,
            obj.trash_until if obj.trash_key else None,
        )
        for link, obj in rows
    ]
    return sorted(copies, key=lambda c: CLASSES.index(c.klass))


def is_released(session: Session, evidence_id: int, key: str) -> bool:
    """True when the item used the object under ``key`` and holds it no more."""
    row = session.execute(
        select(EvidenceObject.released_at, ArchiveObject.removed_at)
        .join(ArchiveObject, ArchiveObject.id == EvidenceObject.object_id)
        .where(EvidenceObject.evidence_id == evidence_id, ArchiveObject.key == key)
    ).one_or_none()
    return row is not None and (row[0] is not None or row[1] is not None)


def held_bytes(session: Session, evidence_id: int) -> int:
    """The bytes the archive holds for one item now."""
    return int(session.scalar(_HELD_BYTES, {"evidence_id": evidence_id}) or 0)


_HELD_BYTES = (
    select(func.coalesce(func.sum(ArchiveObject.size_bytes), 0))
    .join(EvidenceObject, EvidenceObject.object_id == ArchiveObject.id)
    .where(
        EvidenceObject.evidence_id == bindparam("evidence_id"),
        EvidenceObject.released_at.is_(None),
        ArchiveObject.removed_at.is_(None),
    )
)


def refresh_stored_bytes(session: Session, item: Evidence) -> None:
    """Set ``item.stored_bytes`` to what the archive holds for it now."""
    session.flush()
    item.stored_bytes = held_bytes(session, item.id)


def users_of(session: Session, object_id: int) -> int:
    """How many items hold the object now (its reference count)."""
    count = session.scalar(
        select(func.count(EvidenceObject.id)).where(
            EvidenceObject.object_id == object_id, EvidenceObject.released_at.is_(None)
        )
    )
    return int(count or 0)


def release(
    session: Session,
    store: ObjectStore,
    link: EvidenceObject,
    now: datetime,
    trash_days: int,
    run_id: int | None = None,
) -> bool:
    """End one item's use of an object; when no item uses it any more, move it to the trash.
    Returns True when the object left the store's live keys."""
    held = session.scalars(
        select(ArchiveObject).where(ArchiveObject.id == link.object_id).with_for_update()
    ).one()
    link.released_at = now
    link.released_by_run_id = run_id
    session.flush()
    if users_of(session, held.id) > 0 or held.removed_at is not None:
        return False
    trash_key = TRASH_PREFIX + held.key
    store.copy(held.key, trash_key)
    store.delete(held.key)
    held.removed_at = now
    held.trash_key = trash_key
    held.trash_until = now + timedelta(days=trash_days)
    return True


def restore(session: Session, store: ObjectStore, evidence_id: int, now: datetime) -> list[Copy]:
    """Bring back every copy of an item released while its bytes are still held or in the
    trash; returns the copies restored. The bytes are verified before they count again."""
    restored: list[Copy] = []
    links = session.scalars(
        select(EvidenceObject).where(
            EvidenceObject.evidence_id == evidence_id, EvidenceObject.released_at.is_not(None)
        )
    ).all()
    for link in links:
        held = session.scalars(
            select(ArchiveObject).where(ArchiveObject.id == link.object_id).with_for_update()
        ).one()
        if held.removed_at is not None:
            if held.trash_key is None or (held.trash_until and held.trash_until < now):
                continue
            store.copy(held.trash_key, held.key)
            verify_write(store, held.key, held.size_bytes, held.sha256)
            store.delete(held.trash_key)
            held.removed_at = held.trash_key = held.trash_until = None
            held.verified_at = now
        link.released_at = link.released_by_run_id = None
        restored.append(Copy(held.klass, held.key, held.size_bytes, held.sha256, True, None, None))
    item = session.get(Evidence, evidence_id)
    if item is not None:
        refresh_stored_bytes(session, item)
    return restored


def purge_trash(session: Session, store: ObjectStore, now: datetime) -> list[ArchiveObject]:
    """Delete for good the trashed objects whose grace period has ended."""
    due = session.scalars(
        select(ArchiveObject)
        .where(ArchiveObject.trash_key.is_not(None), ArchiveObject.trash_until <= now)
        .with_for_update()
    ).all()
    for held in due:
        assert held.trash_key is not None
        store.delete(held.trash_key)
        held.trash_key = None
        held.trash_until = None
    return list(due)
