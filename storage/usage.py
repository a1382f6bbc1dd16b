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

The database sums (``GROUP BY``, on PostgreSQL and SQLite alike) and returns one row per
group: nothing here grows with the number of items. An item's month is its monthly
requirement's, else the month of its local, claimed, activity or attendance date, else of the
UTC day it was received.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    SQLColumnExpression,
    String,
    and_,
    case,
    func,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.sql.selectable import Subquery

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

    def to_json(self) -> dict[str, Any]:
        """The row as JSON values."""
        return asdict(self)


def usage(session: Session, by: Dimension) -> tuple[list[UsageRow], UsageRow]:
    """The rows of one dimension, largest held first, and the total over every item."""
    total = UsageRow("total", "total")
    every_item = _items(None)
    if by == "class":
        rows = _class_rows(session, every_item)
        _add_item_figures(session, every_item, {(): total})
        # every object has one class: the classes' held, referenced and removed bytes add up
        total.held_bytes = sum(row.held_bytes for row in rows.values())
        total.referenced_bytes = sum(row.referenced_bytes for row in rows.values())
        total.removed_bytes = sum(row.removed_bytes for row in rows.values())
    else:
        items = _items(by)
        rows = {}
        _add_item_figures(session, items, rows)
        _add_link_figures(session, items, _keys(items), rows)
        # every item is in one group and every link is an item's: the groups add up, but for
        # an object that items of two groups share, held once in the total
        total.items = sum(row.items for row in rows.values())
        total.received_bytes = sum(row.received_bytes for row in rows.values())
        total.saved_by_renditions_bytes = sum(r.saved_by_renditions_bytes for r in rows.values())
        total.referenced_bytes = sum(row.referenced_bytes for row in rows.values())
        total.removed_bytes = sum(row.removed_bytes for row in rows.values())
        _set_held_bytes(session, every_item, (), {(): total})
    for row in [*rows.values(), total]:
        row.saved_by_dedup_bytes = row.referenced_bytes - row.held_bytes
    ordered = sorted(rows.values(), key=lambda r: (-r.held_bytes, r.group))
    return ordered, total


class _DialectFunction(FunctionElement[Any]):
    """A function of one argument written differently on PostgreSQL and SQLite."""

    inherit_cache = True
    #: the SQL of each engine, ``{}`` standing for the argument
    postgresql = sqlite = "{}"


class _YearMonth(_DialectFunction):
    """``YYYY-MM`` of a date."""

    type = String()
    inherit_cache = True
    postgresql = "to_char({}, 'YYYY-MM')"
    sqlite = "strftime('%Y-%m', {})"


class _UtcDate(_DialectFunction):
    """The UTC day of a stored time (as ``received_at.date()`` reads it in Python)."""

    type = Date()
    inherit_cache = True
    postgresql = "CAST(({}) AT TIME ZONE 'UTC' AS DATE)"
    # SQLite keeps times as UTC text ("2026-10-13 00:05:00.000000"); date() reads its day
    sqlite = "date({})"


@compiles(_DialectFunction, "postgresql")
def _compile_postgresql(element: _DialectFunction, compiler: SQLCompiler, **kw: Any) -> str:
    return element.postgresql.format(compiler.process(element.clauses, **kw))


@compiles(_DialectFunction)
def _compile_sqlite(element: _DialectFunction, compiler: SQLCompiler, **kw: Any) -> str:
    return element.sqlite.format(compiler.process(element.clauses, **kw))


def _items(by: Dimension | None) -> Subquery:
    """Every item: its id, original's size and the group's id and label (``key_*``)."""
    key: tuple[SQLColumnExpression[Any], ...] = ()
    if by == "school":
        key = (School.id, School.name)
    elif by == "teacher":
        key = (Teacher.id, Teacher.name)
    elif by == "kind":
        key = (Evidence.kind,)
    elif by == "month":
        day = func.coalesce(
            Evidence.local_date,
            Evidence.claimed_date,
            Activity.date,
            Attendance.date,
            _UtcDate(Evidence.received_at),
        )
        key = (func.coalesce(func.nullif(Evidence.month, ""), _YearMonth(day)),)
    columns: list[SQLColumnExpression[Any]] = [
        Evidence.id.label("evidence_id"),
        func.coalesce(Evidence.original_bytes, 0).label("original_bytes"),
        *(column.label(f"key_{n}") for n, column in enumerate(key)),
    ]
    stmt = (
        select(*columns)
        .join(Teacher, Teacher.id == Evidence.teacher_id)
        .join(School, School.id == Teacher.school_id)
    )
    if by == "month":
        stmt = stmt.outerjoin(Activity, Activity.id == Evidence.activity_id).outerjoin(
            Attendance, Attendance.id == Evidence.attendance_id
        )
    return stmt.subquery("items")


def _keys(items: Subquery) -> tuple[SQLColumnExpression[Any], ...]:
    return tuple(column for column in items.c if column.key.startswith("key_"))


def _is_held() -> ColumnElement[bool]:
    return and_(EvidenceObject.released_at.is_(None), ArchiveObject.removed_at.is_(None))


def _linked(items: Subquery, *columns: SQLColumnExpression[Any]) -> Select[Any]:
    """``columns`` over every link of ``items`` to an object."""
    return (
        select(*columns)
        .select_from(items)
        .join(EvidenceObject, EvidenceObject.evidence_id == items.c.evidence_id)
        .join(ArchiveObject, ArchiveObject.id == EvidenceObject.object_id)
    )


def _row(rows: dict[tuple[Any, ...], UsageRow], key: tuple[Any, ...]) -> UsageRow:
    if key not in rows:
        rows[key] = UsageRow(str(key[0]), str(key[-1]))
    return rows[key]


def _add_item_figures(
    session: Session, items: Subquery, rows: dict[tuple[Any, ...], UsageRow]
) -> None:
    """Items, bytes received and saved by renditions, per group of ``items``."""
    held = _is_held()
    # only items whose original was released can save by renditions: what is held for them
    released = (
        select(EvidenceObject.evidence_id)
        .join(ArchiveObject, ArchiveObject.id == EvidenceObject.object_id)
        .where(ArchiveObject.klass == "original", ~held)
    )
    per_item = (
        select(
            EvidenceObject.evidence_id,
            func.sum(case((held, ArchiveObject.size_bytes), else_=0)).label("held_bytes"),
        )
        .join(ArchiveObject, ArchiveObject.id == EvidenceObject.object_id)
        .where(EvidenceObject.evidence_id.in_(released))
        .group_by(EvidenceObject.evidence_id)
        .subquery("per_item")
    )
    original, held_here = items.c.original_bytes, per_item.c.held_bytes
    saved = case(
        (and_(held_here != 0, original > held_here), original - held_here),
        else_=0,
    )
    keys = _keys(items)
    stmt = (
        select(*keys, func.count(), func.sum(original), func.sum(saved))
        .select_from(items)
        .outerjoin(per_item, per_item.c.evidence_id == items.c.evidence_id)
        .group_by(*keys)
    )
    for *key, count, received, saved_bytes in session.execute(stmt):
        if not count:
            continue
        row = _row(rows, tuple(key))
        row.items += count
        row.received_bytes += int(received or 0)
        row.saved_by_renditions_bytes += int(saved_bytes or 0)


def _link_sums() -> tuple[SQLColumnExpression[Any], SQLColumnExpression[Any]]:
    """Bytes referenced (held, once per link) and removed (released) over links."""
    held, size = _is_held(), ArchiveObject.size_bytes
    return func.sum(case((held, size), else_=0)), func.sum(case((held, 0), else_=size))


def _add_link_figures(
    session: Session,
    items: Subquery,
    keys: tuple[SQLColumnExpression[Any], ...],
    rows: dict[tuple[Any, ...], UsageRow],
) -> None:
    """Bytes held (each object once a group), referenced and removed, per group ``keys``."""
    stmt = _linked(items, *keys, *_link_sums()).group_by(*keys)
    for *key, referenced, removed in session.execute(stmt):
        row = _row(rows, tuple(key))
        row.referenced_bytes += int(referenced or 0)
        row.removed_bytes += int(removed or 0)
    _set_held_bytes(session, items, keys, rows)


def _set_held_bytes(
    session: Session,
    items: Subquery,
    keys: tuple[SQLColumnExpression[Any], ...],
    rows: dict[tuple[Any, ...], UsageRow],
) -> None:
    """Held bytes, each object once a group: the referenced bytes less those of the group's
    items that hold an object another item of the group holds too.

    Only objects held through two links or more are referenced again: a narrow index
    (``ix_evidence_objects_object``) finds them, then only their links are grouped.
    """
    shared = (
        select(EvidenceObject.object_id)
        .where(EvidenceObject.released_at.is_(None))
        .group_by(EvidenceObject.object_id)
        .having(func.count() > 1)
    )
    size = ArchiveObject.size_bytes
    per_object = (
        _linked(
            items,
            *(key.label(f"key_{n}") for n, key in enumerate(keys)),
            (size * (func.count() - 1)).label("again_bytes"),
        )
        .where(_is_held(), EvidenceObject.object_id.in_(shared))
        .group_by(*keys, ArchiveObject.id, size)
        .subquery("per_object")
    )
    object_keys = _keys(per_object)
    stmt = select(*object_keys, func.sum(per_object.c.again_bytes)).group_by(*object_keys)
    again = {tuple(key): int(again_bytes or 0) for *key, again_bytes in session.execute(stmt)}
    for key, row in rows.items():
        row.held_bytes = row.referenced_bytes - again.get(key, 0)


def _class_rows(session: Session, items: Subquery) -> dict[tuple[Any, ...], UsageRow]:
    """One row per object class: an item counts in each class it has a copy of."""
    klass = ArchiveObject.klass
    stmt = _linked(
        items,
        klass,
        func.count(EvidenceObject.evidence_id.distinct()),
        func.sum(case((klass == "original", items.c.original_bytes), else_=0)),
        *_link_sums(),
    ).group_by(klass)
    rows: dict[tuple[Any, ...], UsageRow] = {}
    for name, count, received, referenced, removed in session.execute(stmt):
        row = _row(rows, (name,))
        row.items, row.received_bytes = count, int(received or 0)
        row.referenced_bytes, row.removed_bytes = int(referenced or 0), int(removed or 0)
    _set_held_bytes(session, items, (klass,), rows)
    return rows
