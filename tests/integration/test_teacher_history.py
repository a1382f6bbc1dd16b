"""The history verification reads: only the items its checks need, same flags as the whole.

``teacher_history`` returns the items at the photo's rounded coordinates and its nearest timed
neighbours before and after; the property test generates random histories (clusters at one
spot, jitter around the rounding's edge, equal timestamps, items without a time or a date,
other statuses and teachers, times written in another offset) and checks that the photo's
flags from the narrowed history are the flags from the teacher's whole history.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session, sessionmaker

from evidence.facts import CaptureFacts, Location, Sourced
from evidence.flags import Code, Flag
from evidence.records import HistoryItem, HistoryScope, SchoolPlace
from evidence.status import Status
from evidence.verification import Rules, history_scope, item_capture_time, verify_photo
from storage.db import build_engine, build_sessions, transaction
from storage.models import Evidence, School, Teacher, User
from storage.repositories import teacher_history

pytestmark = [pytest.mark.integration, pytest.mark.both_databases]

SCHOOL = SchoolPlace("SMKN 1 Cianjur", -6.8200, 107.1400)
SPOT = (-6.819873, 107.140412)
BANDUNG = (-6.9025, 107.6188)  # 54 km from SPOT
COARSE = (-(6 + 49 / 60 + 12 / 3600), 107 + 8 / 60 + 25 / 3600)  # whole arc-seconds
WIB = timezone(timedelta(hours=7))
T0 = datetime(2026, 10, 12, 0, 0, tzinfo=UTC)  # 07:00 WIB, Monday
LIVE = {Status.ACCEPTED.value, Status.FLAGGED.value, Status.PROCESSING.value}


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = build_engine(database_url)
    yield build_sessions(engine)
    engine.dispose()


@dataclass
class Row:
    """An item's history columns, as verification leaves them."""

    status: str = Status.ACCEPTED.value
    captured: datetime | None = None
    at: tuple[float, float] | None = SPOT
    day: date | None = date(2026, 10, 12)
    accuracy_m: float | None = None


class Teachers:
    """Teachers and their items, written straight to the database."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        with transaction(sessions) as db:
            school = School(name="SMKN 1 Cianjur", lat=SCHOOL.lat, lon=SCHOOL.lon)
            db.add(school)
            db.flush()
            self.school_id = school.id
        self.users: dict[int, int] = {}

    def teacher(self) -> int:
        with transaction(self.sessions) as db:
            number = len(self.users)
            teacher = Teacher(
                nip=f"1980031020050{number:05d}", name=f"Guru {number}", school_id=self.school_id
            )
            db.add(teacher)
            db.flush()
            user = User(name=teacher.name, role="teacher", teacher_id=teacher.id)
            db.add(user)
            db.flush()
            self.users[teacher.id] = user.id
            return teacher.id

    def items(self, teacher_id: int, rows: list[Row]) -> list[int]:
        with transaction(self.sessions) as db:
            made = [
                Evidence(
                    teacher_id=teacher_id,
                    uploaded_by=self.users[teacher_id],
                    kind="photo",
                    mime="image/jpeg",
                    status=row.status,
                    sha256=hashlib.sha256(f"{teacher_id}-{n}".encode()).hexdigest(),
                    original_bytes=1000,
                    received_at=T0,
                    captured_at=row.captured,
                    lat=row.at[0] if row.at else None,
                    lon=row.at[1] if row.at else None,
                    local_date=row.day,
                    accuracy_m=row.accuracy_m,
                )
                for n, row in enumerate(rows)
            ]
            db.add_all(made)
            db.flush()
            return [item.id for item in made]


@pytest.fixture
def teachers(sessions: sessionmaker[Session]) -> Teachers:
    return Teachers(sessions)


def whole_history(ids: list[int], rows: list[Row]) -> list[HistoryItem]:
    """Every live item with a position and a date: what verification read before."""
    return [
        HistoryItem(evidence_id, row.captured, row.at[0], row.at[1], row.day, row.accuracy_m)
        for evidence_id, row in zip(ids, rows, strict=True)
        if row.status in LIVE and row.at is not None and row.day is not None
    ]


def history(
    sessions: sessionmaker[Session], teacher_id: int, exclude_id: int, scope: HistoryScope
) -> list[int]:
    with sessions() as db:
        return [item.evidence_id for item in teacher_history(db, teacher_id, exclude_id, scope)]


# --- the queries -----------------------------------------------------------------------------


def test_time_neighbours_break_ties_by_id_as_the_travel_check_does(
    teachers: Teachers, sessions: sessionmaker[Session]
) -> None:
    teacher = teachers.teacher()
    at = T0 + timedelta(hours=2)
    ids = teachers.items(
        teacher,
        [
            Row(captured=at - timedelta(hours=1)),
            Row(captured=at),
            Row(captured=at),  # the latest of the equal ones before: this one
            Row(captured=at + timedelta(minutes=5)),  # the earliest after, the lower id
            Row(captured=at + timedelta(minutes=5)),
            Row(captured=at + timedelta(hours=1)),
            Row(captured=None),
        ],
    )
    assert history(sessions, teacher, 0, HistoryScope(None, at)) == [ids[2], ids[3]]
    # the item itself is never its own neighbour
    assert history(sessions, teacher, ids[2], HistoryScope(None, at)) == [ids[1], ids[3]]


def test_time_neighbours_compare_instants_whatever_the_offset_they_were_written_in(
    teachers: Teachers, sessions: sessionmaker[Session]
) -> None:
    teacher = teachers.teacher()
    at = datetime(2026, 10, 12, 9, 0, tzinfo=WIB)  # 02:00 UTC
    ids = teachers.items(
        teacher,
        [
            Row(captured=datetime(2026, 10, 12, 8, 59, tzinfo=WIB)),  # 01:59 UTC
            Row(captured=datetime(2026, 10, 12, 1, 58, tzinfo=UTC)),
            Row(captured=datetime(2026, 10, 12, 2, 1, tzinfo=UTC)),
            Row(captured=datetime(2026, 10, 12, 9, 2, tzinfo=WIB)),  # 02:02 UTC
        ],
    )
    expected = [ids[0], ids[2]]
    assert history(sessions, teacher, 0, HistoryScope(None, at)) == expected
    assert history(sessions, teacher, 0, HistoryScope(None, at.astimezone(UTC))) == expected
    with sessions() as db:
        neighbours = teacher_history(db, teacher, 0, HistoryScope(None, at))
    assert [item.captured_utc for item in neighbours] == [
        datetime(2026, 10, 12, 1, 59, tzinfo=UTC),
        datetime(2026, 10, 12, 2, 1, tzinfo=UTC),
    ]
    assert all(
        item.captured_utc and item.captured_utc.utcoffset() == timedelta(0) for item in neighbours
    )


def test_only_live_placed_dated_items_of_the_teacher_are_history(
    teachers: Teachers, sessions: sessionmaker[Session]
) -> None:
    teacher, other = teachers.teacher(), teachers.teacher()
    at = T0 + timedelta(hours=2)
    ids = teachers.items(
        teacher,
        [
            Row(status=Status.REJECTED.value, captured=at),
            Row(status=Status.FAILED.value, captured=at),
            Row(status=Status.RECEIVED.value, captured=at),
            Row(at=None, captured=at),
            Row(day=None, captured=at),
            Row(status=Status.PROCESSING.value, captured=at - timedelta(hours=1)),
            Row(status=Status.FLAGGED.value, captured=at + timedelta(hours=1)),
        ],
    )
    teachers.items(other, [Row(captured=at), Row(captured=at + timedelta(minutes=1))])
    assert history(sessions, teacher, 0, HistoryScope(SPOT, at)) == [ids[5], ids[6]]


def test_the_same_spot_is_every_item_rounding_to_it_and_nothing_far(
    teachers: Teachers, sessions: sessionmaker[Session]
) -> None:
    teacher = teachers.teacher()
    lat, lon = SPOT
    ids = teachers.items(
        teacher,
        [
            Row(at=SPOT),
            Row(at=(lat + 4.9e-7, lon - 4.9e-7)),  # the rounding's edges
            Row(at=(lat - 4.9e-7, lon + 4.9e-7)),
            Row(at=(lat + 2e-6, lon)),  # 22 cm north: another spot
            Row(at=(lat, lon - 2e-6)),
            Row(at=BANDUNG),
            Row(at=SPOT, captured=T0),
        ],
    )
    assert history(sessions, teacher, 0, HistoryScope(SPOT, None)) == [
        ids[0],
        ids[1],
        ids[2],
        ids[6],
    ]


def test_an_empty_history_is_empty(teachers: Teachers, sessions: sessionmaker[Session]) -> None:
    teacher = teachers.teacher()
    assert history(sessions, teacher, 0, HistoryScope(SPOT, T0)) == []


# --- the property: the narrowed history flags as the whole one -------------------------------


def photo(
    at: tuple[float, float], taken_utc: datetime | None, accuracy_m: float | None
) -> CaptureFacts:
    """A phone photo with its GPS position and, unless None, its time written in WIB."""
    local = taken_utc.astimezone(WIB).replace(tzinfo=None) if taken_utc else None
    return CaptureFacts(
        width=4000,
        height=3000,
        format="image/jpeg",
        captured_local=Sourced(local, "exif:DateTimeOriginal") if local else None,
        utc_offset_min=Sourced(420, "exif:OffsetTimeOriginal") if local else None,
        location=Sourced(Location(*at, accuracy_m=accuracy_m), "exif:GPS"),
        make=Sourced("samsung", "exif:Make"),
        model=Sourced("SM-A145F", "exif:Model"),
    )


def random_place(rng: random.Random, here: tuple[float, float]) -> tuple[float, float]:
    lat, lon = here
    kind = rng.choice(["same", "same", "same", "jitter", "edge", "near", "far", "far", "coarse"])
    if kind == "same":
        return here
    if kind == "jitter":  # rounds to the same six decimals, or just across
        return lat + rng.uniform(-6e-7, 6e-7), lon + rng.uniform(-6e-7, 6e-7)
    if kind == "edge":  # inside the range read, mostly another rounded spot
        return lat + rng.choice([-1, 1]) * rng.uniform(4e-7, 1.2e-6), lon
    if kind == "near":  # metres to a few kilometres away
        return lat + rng.uniform(-0.03, 0.03), lon + rng.uniform(-0.03, 0.03)
    return BANDUNG if kind == "far" else COARSE


def random_rows(
    rng: random.Random, here: tuple[float, float], instants: list[datetime]
) -> list[Row]:
    rows = []
    for _ in range(rng.randint(0, 40)):
        captured = rng.choice(instants) if rng.random() > 0.15 else None
        if captured is not None and rng.random() < 0.5:
            captured = captured.astimezone(WIB)
        day = (captured or rng.choice(instants)).astimezone(WIB).date()
        rows.append(
            Row(
                status=rng.choice(
                    [
                        *sorted(LIVE) * 3,
                        Status.REJECTED.value,
                        Status.FAILED.value,
                        Status.RECEIVED.value,
                    ]
                ),
                captured=captured,
                at=random_place(rng, here) if rng.random() > 0.05 else None,
                day=day if rng.random() > 0.05 else None,
                accuracy_m=rng.choice([None, 5.0, 20.0, 600.0, 3000.0]),
            )
        )
    return rows


def same_spot(item: HistoryItem, here: tuple[float, float]) -> bool:
    return abs(item.lat - here[0]) <= 1.5e-6 and abs(item.lon - here[1]) <= 1.5e-6


def flags_of(facts: CaptureFacts, history: list[HistoryItem], evidence_id: int) -> list[Flag]:
    return verify_photo(
        facts,
        received_at_utc=T0 + timedelta(days=10),
        activity=None,
        attendance=None,
        school=SCHOOL,
        home=None,
        history=history,
        rules=Rules(),
        zone_at=None,
        evidence_id=evidence_id,
    )


def test_flags_from_the_narrowed_history_are_the_flags_from_the_whole(
    teachers: Teachers, sessions: sessionmaker[Session]
) -> None:
    rng = random.Random(20261205)
    raised: Counter[Code] = Counter()
    for _ in range(200):
        teacher = teachers.teacher()
        # a few days of instants a few minutes apart, so that times repeat and tie
        instants = [
            T0 + timedelta(days=rng.randint(0, 3), minutes=5 * rng.randint(0, 40))
            for _ in range(12)
        ]
        here = rng.choice([SPOT, SPOT, BANDUNG, COARSE, (SPOT[0] + 3e-7, SPOT[1] - 4e-7)])
        taken = rng.choice(instants) if rng.random() > 0.15 else None
        accuracy = rng.choice([None, 8.0, 900.0])
        rows = random_rows(rng, here, instants)
        [own] = teachers.items(
            teacher, [Row(status=Status.PROCESSING.value, captured=taken, at=here)]
        )
        whole = whole_history(teachers.items(teacher, rows), rows)
        facts = photo(here, taken, accuracy)
        resolved, _ = item_capture_time(
            facts,
            received_at_utc=T0 + timedelta(days=10),
            activity=None,
            attendance=None,
            school=SCHOOL,
            rules=Rules(),
            zone_at=None,
        )
        scope = history_scope(Location(*here, accuracy_m=accuracy), resolved)
        with sessions() as db:
            narrowed = teacher_history(db, teacher, own, scope) if scope else []
        assert set(narrowed) <= set(whole)
        # beside the same spot's candidates, at most the two time neighbours
        assert sum(not same_spot(item, here) for item in narrowed) <= 2
        expected = flags_of(facts, whole, own)
        assert flags_of(facts, narrowed, own) == expected, (rows, here, taken)
        raised.update(flag.code for flag in expected)
    # the generated histories raise both flags often, and not always
    assert 30 <= raised[Code.REPEATED_LOCATION] <= 170, raised
    assert 30 <= raised[Code.IMPOSSIBLE_TRAVEL] <= 170, raised
