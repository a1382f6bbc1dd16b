"""Usage summed by the database equals the figures of a plain Python reading of every row.

The oracle below is the Python implementation usage had before the database summed it: it
loads every item and every link and counts them one by one, the module docstring of
storage.usage as code. Random archives (schools, teachers, items of every kind, objects shared
within and across groups, released links, removed objects, items without links, months from
every source) are summed both ways on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from storage.db import build_engine, build_sessions, transaction
from storage.models import (
    Activity,
    ArchiveObject,
    Attendance,
    Evidence,
    EvidenceObject,
    School,
    Teacher,
    User,
)
from storage.usage import DIMENSIONS, Dimension, UsageRow, usage

pytestmark = [pytest.mark.integration, pytest.mark.both_databases]

KINDS = ("photo", "video", "document", "youtube")
CLASSES = ("original", "rendition", "sanitised", "preview", "poster")


# --- the oracle: every row read into Python and counted there --------------------------------


@dataclass
class _Row:
    group: str
    label: str
    items: set[int] = field(default_factory=set)
    objects: set[int] = field(default_factory=set)
    received_bytes: int = 0
    held_bytes: int = 0
    referenced_bytes: int = 0
    saved_by_renditions_bytes: int = 0
    removed_bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "label": self.label,
            "items": len(self.items),
            "received_bytes": self.received_bytes,
            "held_bytes": self.held_bytes,
            "referenced_bytes": self.referenced_bytes,
            "saved_by_dedup_bytes": self.referenced_bytes - self.held_bytes,
            "saved_by_renditions_bytes": self.saved_by_renditions_bytes,
            "removed_bytes": self.removed_bytes,
        }


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


def oracle(session: Session, by: Dimension) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Usage as storage.usage computed it in Python before the database summed it."""
    rows: dict[str, _Row] = {}
    total = _Row("total", "total")

    def row_of(key: tuple[str, str]) -> _Row:
        return rows.setdefault(key[0], _Row(*key))

    by_item: dict[int, list[_Link]] = defaultdict(list)
    for link in _oracle_links(session):
        by_item[link.evidence_id].append(link)
    for item in _oracle_items(session):
        links = by_item.get(item.id, [])
        targets = [total] if by == "class" else [total, row_of(_oracle_group(item, by))]
        held_here = sum(link.size_bytes for link in links if link.held)
        released = any(link.klass == "original" and not link.held for link in links)
        saved = item.original_bytes - held_here if released and held_here else 0
        for row in targets:
            row.items.add(item.id)
            row.received_bytes += item.original_bytes
            row.saved_by_renditions_bytes += max(saved, 0)
            for link in links:
                _oracle_count_link(row, item, link)
        if by == "class":
            for link in links:
                row = row_of((link.klass, link.klass))
                _oracle_count_link(row, item, link)
                if link.klass == "original":
                    row.received_bytes += item.original_bytes
    ordered = sorted(rows.values(), key=lambda r: (-r.held_bytes, r.group))
    return [r.to_json() for r in ordered], total.to_json()


def _oracle_count_link(row: _Row, item: _Item, link: _Link) -> None:
    row.items.add(item.id)
    if not link.held:
        row.removed_bytes += link.size_bytes
        return
    row.referenced_bytes += link.size_bytes
    if link.object_id not in row.objects:
        row.objects.add(link.object_id)
        row.held_bytes += link.size_bytes


def _oracle_group(item: _Item, by: Dimension) -> tuple[str, str]:
    if by == "school":
        return item.school
    if by == "teacher":
        return item.teacher
    if by == "kind":
        return item.kind, item.kind
    return item.month, item.month


def _oracle_items(session: Session) -> list[_Item]:
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
    )
    return [
        _Item(
            evidence_id,
            (str(school_id), school_name),
            (str(teacher_id), teacher_name),
            kind,
            month or (item_day or received_at.date()).strftime("%Y-%m"),
            original_bytes or 0,
        )
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
        ) in rows
    ]


def _oracle_links(session: Session) -> list[_Link]:
    rows = session.execute(
        select(
            EvidenceObject.evidence_id,
            ArchiveObject.id,
            ArchiveObject.klass,
            ArchiveObject.size_bytes,
            EvidenceObject.released_at,
            ArchiveObject.removed_at,
        ).join(ArchiveObject, ArchiveObject.id == EvidenceObject.object_id)
    )
    return [
        _Link(evidence_id, object_id, klass, size_bytes, released is None and removed is None)
        for evidence_id, object_id, klass, size_bytes, released, removed in rows
    ]


# --- random archives -------------------------------------------------------------------------


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = build_engine(database_url)
    yield build_sessions(engine)
    engine.dispose()


def build_archive(sessions: sessionmaker[Session], seed: int, items: int) -> None:
    """Schools, teachers and ``items`` items with objects shared every which way."""
    rng = random.Random(seed)
    first = datetime(2026, 8, 31, 16, 30, tzinfo=UTC)
    with transaction(sessions) as db:
        schools = [School(name=f"SMAN {n} Bandung", lat=-6.9, lon=107.6) for n in range(3)]
        db.add_all(schools)
        db.flush()
        teachers = [
            Teacher(nip=f"1980031020050120{n:02d}", name=f"Guru {n}", school_id=school.id)
            for n in range(7)
            for school in [schools[n % 2 if n < 6 else 2]]
        ]
        db.add_all(teachers)
        db.flush()
        users = [User(name=t.name, role="teacher", teacher_id=t.id) for t in teachers]
        db.add_all(users)
        days = [date(2026, 9, 1) + timedelta(days=n) for n in range(0, 75, 6)]
        activities = [
            Activity(
                teacher_id=rng.choice(teachers).id,
                date=day,
                start=time(8),
                end=time(9),
                title="Mengajar",
            )
            for day in days
        ]
        attendance = [
            Attendance(teacher_id=teacher.id, date=day, status="WFO")
            for teacher in teachers[:3]
            for day in days
        ]
        db.add_all([*activities, *attendance])
        objects = [
            ArchiveObject(
                key=f"objects/{seed}/{n}",
                klass=rng.choice(CLASSES),
                # empty objects too: an item that holds 0 bytes saves nothing by renditions
                size_bytes=rng.choice([0, rng.randrange(1, 5_000_000)]),
                sha256=f"{n:064x}",
                removed_at=first if rng.random() < 0.15 else None,
            )
            for n in range(items // 2)
        ]
        db.add_all(objects)
        db.flush()
        for n in range(items):
            teacher = rng.randrange(len(teachers))
            # every source of an item's month, and receipts on both sides of a UTC midnight
            received = first + timedelta(days=rng.randrange(90), minutes=rng.choice([0, 400]))
            if rng.random() < 0.2:
                # the last evening of a month in UTC is the next month's morning in WIB
                received = datetime(2026, 9, 30, 23, 10, tzinfo=UTC)
            item = Evidence(
                teacher_id=teachers[teacher].id,
                uploaded_by=users[teacher].id,
                kind=rng.choice(KINDS),
                mime="application/octet-stream",
                status=rng.choice(["accepted", "flagged", "rejected"]),
                sha256=f"{seed:032x}{n:032x}",
                original_bytes=rng.choice([0, rng.randrange(1, 9_000_000)]),
                received_at=received,
                month=rng.choice([None, None, None, "", "2026-07"]),
                local_date=rng.choice([None, None, received.date() - timedelta(days=40)]),
                claimed_date=rng.choice([None, None, date(2026, 12, 24)]),
                activity_id=rng.choice([None, None, rng.choice(activities).id]),
                attendance_id=rng.choice([None, None, rng.choice(attendance).id]),
            )
            db.add(item)
            db.flush()
            for obj in rng.sample(objects, rng.choice([0, 1, 2, 2, 3, 4])):
                released = rng.random() < 0.25
                db.add(
                    EvidenceObject(
                        evidence_id=item.id,
                        object_id=obj.id,
                        released_at=received + timedelta(days=90) if released else None,
                    )
                )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_usage_summed_by_the_database_equals_the_python_reading(
    sessions: sessionmaker[Session], seed: int
) -> None:
    build_archive(sessions, seed, items=240)
    with sessions() as db:
        if db.get_bind().dialect.name == "postgresql":
            # times come back in the connection's zone; the month must not depend on it
            db.execute(text("SET TIME ZONE 'Asia/Jakarta'"))
        for by in DIMENSIONS:
            rows, total = usage(db, by)
            expected_rows, expected_total = oracle(db, by)
            assert [row.to_json() for row in rows] == expected_rows, by
            assert total.to_json() == expected_total, by


def test_the_random_archive_has_every_case_the_sums_distinguish(
    sessions: sessionmaker[Session],
) -> None:
    build_archive(sessions, 1, items=240)
    with sessions() as db:
        by_kind, total = usage(db, "kind")
        by_class, _ = usage(db, "class")
        by_school, _ = usage(db, "school")
        by_month, _ = usage(db, "month")
        unlinked = db.scalar(
            select(func.count())
            .select_from(Evidence)
            .where(~Evidence.id.in_(select(EvidenceObject.evidence_id)))
        )
    assert {row.group for row in by_kind} == set(KINDS)
    assert {row.group for row in by_class} == set(CLASSES)
    assert unlinked
    assert total.saved_by_dedup_bytes > 0 and total.saved_by_renditions_bytes > 0
    assert total.removed_bytes > 0
    # objects shared across schools: held in each school, once in the total
    assert sum(row.held_bytes for row in by_school) > total.held_bytes
    assert {"2026-07", "2026-12"} <= {row.group for row in by_month}


def test_usage_of_an_empty_archive_is_zero(sessions: sessionmaker[Session]) -> None:
    with sessions() as db:
        for by in DIMENSIONS:
            rows, total = usage(db, by)
            assert rows == [] and total == UsageRow("total", "total")
