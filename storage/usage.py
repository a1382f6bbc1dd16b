"""Usage and savings of the archive, by school, teacher, kind, month or object class.

Per group of items:

- ``received_bytes``: what teachers sent (the originals' sizes);
- ``held_bytes``: what the archive holds for them now, each object once however many items
  of the group use it;
- ``referenced_bytes``: the same counted once per item that uses it (the sum of the items'
  ``stored_bytes``); ``saved_by_dedup_bytes`` is the difference: identical bytes stored once;
- ``saved_by_renditions_bytes``: for items whose original retention let go while smaller
  copies stay, the original's size less what is held for the item;
- ``removed_bytes``: copies retention released from the group's items.

By object class, ``received_bytes`` counts the originals only and an object used by items of
several groups is counted in each (the total line counts it once).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import (
    Activity,
    ArchiveObject,
    Attendance,
    Evidence,
    EvidenceObject,
    School,
    Teacher,
)

Dimension = Literal["school", "teacher", "kind", "month", "class"]
DIMENSIONS: tuple[Dimension, ...] = ("school", "teacher", "kind", "month", "class")


@dataclass
class UsageRow:
    """The figures of one group (``group`` is its id or name, ``label`` what people read)."""

    group: str
    label: str
    items: int = 0
    received_bytes: int = 0
    held_bytes: int = 0
    referenced_bytes: int = 0
    saved_by_dedup_bytes: int = 0
    saved_by_renditions_bytes: int = 0
    removed_bytes: int = 0
    _objects: set[int] = field(default_factory=set, repr=False)
    _items: set[int] = field(default_factory=set, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The row without its working sets."""
        data = asdict(self)
        del data["_objects"], data["_items"]
        return data


@dataclass(frozen=True)
class _Item:
    id: int
    school: tuple[str, str]
    teacher: tuple[str, str]
    kind: str
    month: str
    original_bytes: int


@dataclass(frozen=True)
class _Link:
    evidence_id: int
    object_id: int
    klass: str
    size_bytes: int
    held: bool


def usage(session: Session, by: Dimension) -> tuple[list[UsageRow], UsageRow]:
    """The rows of one dimension, largest held first, and the total over every item."""
    items = _items(session)
    links = _links(session)
    rows: dict[str, UsageRow] = {}
    total = UsageRow("total", "total")

    def row_of(key: tuple[str, str]) -> UsageRow:
        if key[0] not in rows:
            rows[key[0]] = UsageRow(*key)
        return rows[key[0]]

    by_item: dict[int, list[_Link]] = defaultdict(list)
    for link in links:
        by_item[link.evidence_id].append(link)
    for item in items.values():
        item_links = by_item.get(item.id, [])
        targets = [total]
        if by != "class":
            targets.append(row_of(_group(item, by)))
        _count_item(item, item_links, targets)
        if by == "class":
            for link in item_links:
                row = row_of((link.klass, link.klass))
                _count_link(row, item, link)
                if link.klass == "original":
                    row.received_bytes += item.original_bytes
    for row in [*rows.values(), total]:
        row.items = len(row._items)
    ordered = sorted(rows.values(), key=lambda r: (-r.held_bytes, r.group))
    return ordered, total


def _count_item(item: _Item, links: list[_Link], rows: list[UsageRow]) -> None:
    held_here = sum(link.size_bytes for link in links if link.held)
    original_released = any(link.klass == "original" and not link.held for link in links)
    saved = item.original_bytes - held_here if original_released and held_here else 0
    for row in rows:
        row._items.add(item.id)
        row.received_bytes += item.original_bytes
        row.saved_by_renditions_bytes += max(saved, 0)
        for link in links:
            _count_link(row, item, link)


def _count_link(row: UsageRow, item: _Item, link: _Link) -> None:
    row._items.add(item.id)
    if not link.held:
        row.removed_bytes += link.size_bytes
        return
    row.referenced_bytes += link.size_bytes
    if link.object_id not in row._objects:
        row._objects.add(link.object_id)
        row.held_bytes += link.size_bytes
    row.saved_by_dedup_bytes = row.referenced_bytes - row.held_bytes


def _group(item: _Item, by: Dimension) -> tuple[str, str]:
    if by == "school":
        return item.school
    if by == "teacher":
        return item.teacher
    if by == "kind":
        return item.kind, item.kind
    return item.month, item.month


def _items(session: Session) -> dict[int, _Item]:
    day = func.coalesce(Evidence.local_date, Evidence.claimed_date, Activity.date, Attendance.date)
    rows = session.execute(
        select(
            Evidence.id,
            Evidence.kind,
            Evidence.month,
            day,
            Evidence.received_at,
            Evidence.original_bytes,
            Teacher.id,
            Teacher.name,
            School.id,
            School.name,
        )
        .join(Teacher, Teacher.id == Evidence.teacher_id)
        .join(School, School.id == Teacher.school_id)
        .outerjoin(Activity, Activity.id == Evidence.activity_id)
        .outerjoin(Attendance, Attendance.id == Evidence.attendance_id)
        .execution_options(yield_per=2000)
    )
    found: dict[int, _Item] = {}
    for (
        evidence_id,
        kind,
        month,
        item_day,
        received_at,
        original_bytes,
        teacher_id,
        teacher_name,
        school_id,
        school_name,
    ) in rows:
        found[evidence_id] = _Item(
            evidence_id,
            (str(school_id), school_name),
            (str(teacher_id), teacher_name),
            kind,
            month or _month_of(item_day, received_at),
            original_bytes or 0,
        )
    return found


def _month_of(day: date | None, received_at: datetime) -> str:
    return (day or received_at.date()).strftime("%Y-%m")


def _links(session: Session) -> list[_Link]:
    rows = session.execute(
        select(
            EvidenceObject.evidence_id,
            ArchiveObject.id,
            ArchiveObject.klass,
            ArchiveObject.size_bytes,
            EvidenceObject.released_at,
            ArchiveObject.removed_at,
        )
        .join(ArchiveObject, ArchiveObject.id == EvidenceObject.object_id)
        .execution_options(yield_per=2000)
    )
    return [
        _Link(evidence_id, object_id, klass, size_bytes, released is None and removed is None)
        for evidence_id, object_id, klass, size_bytes, released, removed in rows
    ]
