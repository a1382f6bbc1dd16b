"""Duplicates decided in the database by order of receipt, on SQLite and PostgreSQL.

Each item is processed as the job's final transaction does it: the item's row locked,
``find_duplicates`` run, its flags and outcome written. Two copies processed concurrently (two
threads, two sessions, both transactions open at once) end with exactly one flagged, the
later-received: on PostgreSQL through the advisory locks (without them neither is flagged), on
SQLite through its single writer.
"""

from __future__ import annotations

import hashlib
import io
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import skimage
from alembic import command
from alembic.script import ScriptDirectory
from PIL import Image, ImageOps
from sqlalchemy import create_engine, delete, func, inspect, select, text
from sqlalchemy.orm import Session

from bukti.bootstrap import Services
from evidence.flags import Code, needs_review
from evidence.status import Status
from evidence.text_duplicates import text_signature
from storage import near_index, signature_index
from storage.db import alembic_config, transaction
from storage.models import (
    Activity,
    Evidence,
    EvidenceEvent,
    EvidenceFlag,
    PerceptualHashRow,
    School,
    SignatureKeyRow,
    Teacher,
    User,
)
from storage.repositories import add_flags
from tests.fixtures.documents import lesson_pages
from tests.fixtures.frame_hashes import random_video, reencoded, trimmed
from workers.dedup import find_duplicates
from workers.phash import perceptual_hashes

pytestmark = pytest.mark.integration
both_databases = pytest.mark.both_databases

T0 = datetime(2026, 10, 13, 0, 5, tzinfo=UTC)
MIMES = {"photo": "image/jpeg", "document": "application/pdf", "video": "video/mp4"}
PHOTOS = Path(skimage.__file__).parent / "data"


@cache
def picture(name: str) -> Image.Image:
    with Image.open(PHOTOS / name) as image:
        return image.convert("RGB")


def recompressed(image: Image.Image) -> Image.Image:
    buffer = io.BytesIO()
    image.resize((image.width // 2, image.height // 2)).save(buffer, "JPEG", quality=60)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


class Items:
    """Teachers and items of a test, written straight to the database."""

    def __init__(self, services: Services) -> None:
        self.services = services
        with transaction(services.sessions) as db:
            school = School(name="SMAN 3 Bandung", lat=-6.9, lon=107.6)
            db.add(school)
            db.flush()
            self.teachers = []
            for n in range(2):
                teacher = Teacher(
                    nip=f"19800310200501200{n}", name=f"Guru {n}", school_id=school.id
                )
                db.add(teacher)
                db.flush()
                user = User(name=teacher.name, role="teacher", teacher_id=teacher.id)
                db.add(user)
                db.flush()
                self.teachers.append((teacher.id, user.id))

    def add(
        self,
        image: Image.Image | None,
        *,
        received: timedelta,
        teacher: int = 0,
        sha: str | None = None,
        status: str = Status.PROCESSING.value,
        kind: str = "photo",
        perceptual: dict[str, Any] | None = None,
        activity_id: int | None = None,
    ) -> int:
        teacher_id, user_id = self.teachers[teacher]
        if image is not None:
            perceptual = perceptual_hashes(image).to_json()
        with transaction(self.services.sessions) as db:
            item = Evidence(
                teacher_id=teacher_id,
                uploaded_by=user_id,
                kind=kind,
                mime=MIMES[kind],
                status=status,
                sha256=sha or hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
                original_bytes=1000,
                received_at=T0 + received,
                perceptual=perceptual,
                facts={},
                activity_id=activity_id,
            )
            db.add(item)
            db.flush()
            return item.id

    def process(self, evidence_id: int, before_lookup: Callable[[], object] = lambda: None) -> None:
        """The job's final transaction: duplicates, flags and outcome, all at once."""
        with transaction(self.services.sessions) as db:
            item = db.get(Evidence, evidence_id, with_for_update={"key_share": True})
            assert item is not None
            before_lookup()
            flags = find_duplicates(self.services, db, item)
            # the job replaces the duplicate flags it owns
            db.execute(
                delete(EvidenceFlag).where(
                    EvidenceFlag.evidence_id == item.id, EvidenceFlag.code.in_([NEAR, EXACT])
                )
            )
            add_flags(db, item.id, flags)
            item.status = (Status.FLAGGED if needs_review(flags) else Status.ACCEPTED).value

    def state(self, evidence_id: int) -> tuple[str, list[tuple[str, int | None]]]:
        with self.services.sessions() as db:
            item = db.get(Evidence, evidence_id)
            assert item is not None
            flags = db.execute(
                select(EvidenceFlag.code, EvidenceFlag.related_evidence_id)
                .where(EvidenceFlag.evidence_id == evidence_id)
                .order_by(EvidenceFlag.code)
            ).all()
            return item.status, [(code, related) for code, related in flags]

    def activity(self, title: str, teacher: int = 0) -> int:
        with transaction(self.services.sessions) as db:
            logged = Activity(
                teacher_id=self.teachers[teacher][0],
                date=date(2026, 10, 12),
                start=time(8),
                end=time(9),
                title=title,
            )
            db.add(logged)
            db.flush()
            return logged.id

    def flag_detail(self, evidence_id: int) -> str | None:
        with self.services.sessions() as db:
            return db.scalar(
                select(EvidenceFlag.detail).where(EvidenceFlag.evidence_id == evidence_id)
            )

    def events(self, evidence_id: int) -> list[tuple[str, str, str | None]]:
        with self.services.sessions() as db:
            rows = db.execute(
                select(EvidenceEvent.step, EvidenceEvent.outcome, EvidenceEvent.detail)
                .where(EvidenceEvent.evidence_id == evidence_id)
                .order_by(EvidenceEvent.id)
            ).all()
            return [(step, outcome, detail) for step, outcome, detail in rows]


@pytest.fixture
def items(services: Services) -> Items:
    return Items(services)


NEAR = Code.NEAR_DUPLICATE.value
EXACT = Code.EXACT_DUPLICATE.value


@both_databases
def test_a_copy_processed_after_its_original_is_flagged(items: Items) -> None:
    original = items.add(picture("chelsea.png"), received=timedelta(0))
    copy = items.add(recompressed(picture("chelsea.png")), received=timedelta(hours=1), teacher=1)
    unrelated = items.add(picture("coffee.png"), received=timedelta(hours=2))
    for item in (original, copy, unrelated):
        items.process(item)
    assert items.state(original) == ("accepted", [])
    assert items.state(copy) == ("flagged", [(NEAR, original)])
    assert items.state(unrelated) == ("accepted", [])


@both_databases
def test_the_earlier_upload_stays_the_original_when_processed_last(items: Items) -> None:
    original = items.add(picture("chelsea.png"), received=timedelta(0))
    copy = items.add(ImageOps.mirror(picture("chelsea.png")), received=timedelta(minutes=5))
    items.process(copy)
    assert items.state(copy) == ("accepted", [])
    items.process(original)
    assert items.state(original) == ("accepted", [])
    assert items.state(copy) == ("flagged", [(NEAR, original)])
    (event,) = [e for e in items.events(copy) if e[1] == "earlier-copy"]
    assert event[0] == "dedup"
    assert event[2] is not None and event[2].startswith(f"accepted -> flagged: {NEAR}:{original}")
    with items.services.sessions() as db:
        detail = db.scalar(select(EvidenceFlag.detail).where(EvidenceFlag.evidence_id == copy))
    assert detail is not None and detail.startswith(f"looks like evidence #{original} of teacher")


@both_databases
def test_a_flag_names_the_originals_teacher_and_activity_if_it_has_one(items: Items) -> None:
    lesson = items.activity("Praktikum fotosintesis")
    original = items.add(picture("chelsea.png"), received=timedelta(0), activity_id=lesson)
    copy = items.add(recompressed(picture("chelsea.png")), received=timedelta(hours=1), teacher=1)
    same_bytes = items.add(picture("rocket.jpg"), received=timedelta(hours=2), sha="5" * 64)
    exact = items.add(picture("rocket.jpg"), received=timedelta(hours=3), sha="5" * 64, teacher=1)
    for item in (original, copy, same_bytes, exact):
        items.process(item)
    near = items.flag_detail(copy)
    assert near is not None and near.startswith(
        f"looks like evidence #{original} of teacher Guru 0 (NIP 198003102005012000) for "
        "activity 'Praktikum fotosintesis' on 2026-10-12 (perceptual distance "
    )
    assert items.flag_detail(exact) == (
        f"the same file (SHA-256 555555555555…) was already submitted as evidence "
        f"#{same_bytes} of teacher Guru 0 (NIP 198003102005012000)"
    )


@both_databases
def test_an_exact_copy_received_later_is_flagged_whatever_the_order(items: Items) -> None:
    sha = "ab" * 32
    late = items.add(picture("rocket.jpg"), received=timedelta(hours=3), sha=sha, teacher=1)
    early = items.add(picture("rocket.jpg"), received=timedelta(hours=1), sha=sha)
    items.process(late)
    items.process(early)
    assert items.state(early) == ("accepted", [])
    # an exact copy is not also reported as a near one
    assert items.state(late) == ("flagged", [(EXACT, early)])


@both_databases
def test_the_same_document_received_later_is_flagged_whatever_the_order(items: Items) -> None:
    sha = "cd" * 32
    late = items.add(None, received=timedelta(hours=2), sha=sha, kind="document")
    items.process(late)
    assert items.state(late) == ("accepted", [])
    # an upload received first whose row was written last (an upload's commit delayed)
    early = items.add(None, received=timedelta(hours=1), sha=sha, kind="document", teacher=1)
    items.process(early)
    assert items.state(early) == ("accepted", [])
    assert items.state(late) == ("flagged", [(EXACT, early)])
    (event,) = [e for e in items.events(late) if e[1] == "earlier-copy"]
    assert event[2] is not None and event[2].startswith(f"accepted -> flagged: {EXACT}:{early}")


@both_databases
def test_ties_in_receipt_time_go_to_the_lower_id(items: Items) -> None:
    first = items.add(picture("astronaut.png"), received=timedelta(0))
    second = items.add(recompressed(picture("astronaut.png")), received=timedelta(0))
    items.process(second)
    items.process(first)
    assert items.state(first) == ("accepted", [])
    assert items.state(second) == ("flagged", [(NEAR, first)])


@both_databases
def test_processing_again_changes_nothing(items: Items) -> None:
    original = items.add(picture("chelsea.png"), received=timedelta(0))
    copy = items.add(recompressed(picture("chelsea.png")), received=timedelta(hours=1))
    items.process(copy)
    items.process(original)
    before = (items.state(original), items.state(copy), len(items.events(copy)))
    with items.services.sessions() as db, db.begin():
        item = db.get(Evidence, original)
        assert item is not None
        assert find_duplicates(items.services, db, item) == []
    assert (items.state(original), items.state(copy), len(items.events(copy))) == before
    with items.services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(PerceptualHashRow)) == 2


@both_databases
def test_dead_items_and_blank_pictures_are_nobodys_original(items: Items) -> None:
    rejected = items.add(picture("coins.png"), received=timedelta(0), status="rejected")
    blank = items.add(Image.new("RGB", (640, 480), "black"), received=timedelta(minutes=1))
    copy = items.add(recompressed(picture("coins.png")), received=timedelta(hours=1))
    other_blank = items.add(Image.new("RGB", (800, 600), "black"), received=timedelta(hours=2))
    for item in (blank, copy, other_blank):
        items.process(item)
    assert items.state(copy) == ("accepted", [])
    assert items.state(other_blank) == ("accepted", [])
    with items.services.sessions() as db:
        registered = set(db.scalars(select(PerceptualHashRow.evidence_id)))
    assert registered == {copy}
    assert rejected not in registered


@both_databases
def test_a_later_copy_between_its_lookup_and_its_outcome_is_flagged_too(items: Items) -> None:
    # the step-per-actor pipeline: the copy's lookup ran (and registered it), its outcome not yet
    original = items.add(picture("chelsea.png"), received=timedelta(0))
    copy = items.add(recompressed(picture("chelsea.png")), received=timedelta(hours=1))
    with transaction(items.services.sessions) as db:
        item = db.get(Evidence, copy)
        assert item is not None
        assert find_duplicates(items.services, db, item) == []
    items.process(original)
    assert items.state(copy) == ("processing", [(NEAR, original)])
    items.process(copy)
    assert items.state(copy) == ("flagged", [(NEAR, original)])


@both_databases
def test_a_later_copy_not_yet_looked_up_is_left_to_its_own_lookup(items: Items) -> None:
    original = items.add(picture("chelsea.png"), received=timedelta(0))
    copy = items.add(recompressed(picture("chelsea.png")), received=timedelta(hours=1))
    items.process(original)
    assert items.state(copy) == ("processing", [])
    assert items.events(copy) == []
    items.process(copy)
    assert items.state(copy) == ("flagged", [(NEAR, original)])


def process_reporting(
    items: Items, evidence_id: int, both_open: threading.Barrier, errors: list[BaseException]
) -> None:
    """Process an item once both transactions are open; an error is kept for the test."""
    try:
        items.process(evidence_id, before_lookup=both_open.wait)
    except BaseException as exc:  # reported by the test
        errors.append(exc)


def process_at_once(items: Items, *evidence_ids: int) -> None:
    """Process items in threads, each looking up once all their transactions are open."""
    all_open = threading.Barrier(len(evidence_ids), timeout=30)
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=process_reporting, args=(items, i, all_open, errors))
        for i in evidence_ids
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []


@both_databases
def test_two_copies_processed_at_once_end_with_the_later_received_flagged(items: Items) -> None:
    names = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "camera.png", "page.png")
    for round_, name in enumerate(names):
        base = timedelta(days=round_)
        sha = f"{round_:02x}" * 32 if round_ % 2 else None  # exact copies every other round
        early = items.add(picture(name), received=base, sha=sha)
        copy = picture(name) if sha else recompressed(picture(name))
        late = items.add(copy, received=base + timedelta(minutes=1), sha=sha, teacher=1)
        process_at_once(items, late, early)
        assert items.state(early)[0] == "accepted", (round_, items.state(early))
        status, flags = items.state(late)
        assert status == "flagged", (round_, flags)
        assert {related for _, related in flags} == {early}


@both_databases
def test_the_migration_rebuilds_the_index_from_the_items_and_back(
    items: Items, database_url: str
) -> None:
    original = items.add(picture("chelsea.png"), received=timedelta(0))
    blank = items.add(Image.new("RGB", (640, 480), "white"), received=timedelta(minutes=1))
    for item in (original, blank):
        items.process(item)
    items.services.engine.dispose()
    config = alembic_config(database_url)
    command.downgrade(config, "0013")  # to before this migration (and any after it)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        old = conn.execute(text("SELECT evidence_id, hashes FROM perceptual_hashes")).all()
    assert sorted(evidence_id for evidence_id, _ in old) == [original, blank]
    command.upgrade(config, "head")
    with Session(engine) as db:
        rows = db.scalars(select(PerceptualHashRow)).all()
        assert [row.evidence_id for row in rows] == [original]
        hashes = perceptual_hashes(picture("chelsea.png"))
        assert near_index.row_values(original, hashes.fingerprint) == {
            column: getattr(rows[0], column)
            for column in near_index.row_values(original, hashes.fingerprint)
        }
        (match,) = near_index.lookup(db, perceptual_hashes(recompressed(picture("chelsea.png"))))
        assert match.evidence_id == original
    engine.dispose()


@both_databases
def test_a_photo_found_through_every_band_is_returned_once(items: Items) -> None:
    original = items.add(picture("chelsea.png"), received=timedelta(0))
    items.process(original)
    hashes = perceptual_hashes(picture("chelsea.png"))
    with items.services.sessions() as db:
        # all nine bands equal: PostgreSQL's per-band scans each return the row
        assert near_index.lookup(db, hashes) == [near_index.NearMatch(original, 0, 0, False)]
        assert near_index.candidate_count(db, hashes) == 1


def _band_indexes(database_url: str) -> dict[str, str]:
    """The band indexes' definitions, and the table's settings under the key ``table``."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'perceptual_hashes' "
                "AND indexname LIKE 'ix_perceptual_hashes_band_%'"
            )
        ).all()
        settings = conn.scalar(
            text("SELECT reloptions FROM pg_class WHERE relname = 'perceptual_hashes'")
        )
    engine.dispose()
    return {name: definition for name, definition in rows} | {"table": str(settings)}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_band_indexes_hold_the_hashes_and_autovacuum_follows_inserts(
    items: Items, database_url: str
) -> None:
    covering = _band_indexes(database_url)
    table = covering.pop("table")
    assert sorted(covering) == [f"ix_perceptual_hashes_band_{band}" for band in range(9)]
    for definition in covering.values():
        assert definition.endswith("INCLUDE (evidence_id, phash, dhash, dhash_vertical)")
    # autovacuum keeps the pages of new rows all-visible, for the index-only scans
    assert "autovacuum_vacuum_insert_threshold=10000" in table
    assert "autovacuum_vacuum_insert_scale_factor=0" in table
    items.services.engine.dispose()
    config = alembic_config(database_url)
    command.downgrade(config, "0016")  # to before this migration
    plain = _band_indexes(database_url)
    assert plain.pop("table") == "None"
    assert sorted(plain) == sorted(covering)
    assert not any("INCLUDE" in definition for definition in plain.values())
    command.upgrade(config, "head")
    assert _band_indexes(database_url) == covering | {"table": table}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_the_lookup_reads_no_table_page(items: Items, database_url: str) -> None:
    names = ["chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png"]
    for k, name in enumerate(names):
        items.process(items.add(picture(name), received=timedelta(minutes=k)))
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    copy = perceptual_hashes(recompressed(picture("coffee.png")))
    sql = near_index.literal_lookup(copy, engine.dialect)
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE perceptual_hashes"))
        # four rows: a sequential scan would be cheaper; the plan of a large table is wanted
        conn.execute(text("SET enable_seqscan = off"))
        conn.execute(text("SET enable_bitmapscan = off"))
        (plan,) = conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")).scalar_one()
    engine.dispose()
    scans = plan["Plan"]["Plans"]
    assert [scan["Node Type"] for scan in scans] == ["Index Only Scan"] * 9
    assert sum(scan["Heap Fetches"] for scan in scans) == 0
    assert sum(scan["Actual Rows"] for scan in scans) >= 1  # coffee, through its bands


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_a_lookup_runs_without_parallel_workers(items: Items) -> None:
    with items.services.sessions() as db:
        assert db.scalar(text("SHOW max_parallel_workers_per_gather")) != "0"
        near_index.lookup(db, perceptual_hashes(picture("coffee.png")))
        assert db.scalar(text("SHOW max_parallel_workers_per_gather")) == "0"
        db.commit()
        # only for the lookup's transaction
        assert db.scalar(text("SHOW max_parallel_workers_per_gather")) != "0"


# --- documents and videos: the signature index -------------------------------------------------


def text_document(seed: int, *, copy: bool = False) -> dict[str, Any]:
    """A 20-page document's ``perceptual``; its copy has one page of twenty replaced."""
    pages = lesson_pages(20, seed=seed)
    if copy:
        pages[7] = lesson_pages(1, seed=seed + 500)[0]
    signature = text_signature("\n".join(pages))
    assert signature is not None
    return {"text": signature.to_json()}


def scanned_page(seed: int, *, copy: bool = False) -> dict[str, Any]:
    """A scan without text: its first page's hashes; its copy was recompressed."""
    page = picture(SCANS[seed % len(SCANS)])
    return {
        "text": None,
        "preview": perceptual_hashes(recompressed(page) if copy else page).to_json(),
    }


def video(seed: int, *, copy: bool = False) -> dict[str, Any]:
    """A minute of frame hashes; its copy re-encoded (2 bits a hash) and trimmed by 3 s."""
    hashes = random_video(seed)
    if copy:
        hashes = trimmed(reencoded(hashes, bits=2, seed=seed), start_s=3)
    return {"video": hashes.to_json()}


SCANS = ("page.png", "text.png", "camera.png", "coins.png")
SIGNED = {"document": text_document, "scan": scanned_page, "video": video}
STORED_AS = {"document": "document", "scan": "document", "video": "video"}


def add_signed(items: Items, kind: str, seed: int, received: timedelta, **options: Any) -> int:
    """An item of ``kind`` ("document", "scan" or "video") with the signature ``seed`` picks."""
    perceptual = SIGNED[kind](seed, copy=options.pop("copy", False))
    return items.add(
        None, received=received, kind=STORED_AS[kind], perceptual=perceptual, **options
    )


def stored_keys(items: Items) -> dict[int, set[int]]:
    with items.services.sessions() as db:
        rows = db.execute(select(SignatureKeyRow.evidence_id, SignatureKeyRow.key)).all()
    keys: dict[int, set[int]] = {}
    for evidence_id, key in rows:
        keys.setdefault(evidence_id, set()).add(key)
    return keys


@both_databases
@pytest.mark.parametrize("kind", ["document", "scan", "video"])
@pytest.mark.parametrize("original_first", [True, False])
def test_a_document_or_video_copy_is_found_through_the_signature_index(
    items: Items, kind: str, original_first: bool
) -> None:
    original = add_signed(items, kind, 1, timedelta(0))
    copy = add_signed(items, kind, 1, timedelta(hours=1), copy=True, teacher=1)
    unrelated = add_signed(items, kind, 2, timedelta(hours=2))
    for item in (original, copy, unrelated) if original_first else (copy, unrelated, original):
        items.process(item)
    assert items.state(original) == ("accepted", [])
    assert items.state(copy) == ("flagged", [(NEAR, original)])
    assert items.state(unrelated) == ("accepted", [])
    with items.services.sessions() as db:
        detail = db.scalar(select(EvidenceFlag.detail).where(EvidenceFlag.evidence_id == copy))
    assert detail is not None and detail.startswith(f"looks like evidence #{original} of teacher")
    keys = stored_keys(items)
    assert set(keys) == {original, copy, unrelated}
    with items.services.sessions() as db:
        stored = db.get(Evidence, copy)
        assert stored is not None
        signature = signature_index.signature_of(stored.kind, stored.perceptual)
    assert signature is not None and keys[copy] == signature.stored


@both_databases
def test_document_and_video_copies_processed_at_once_end_with_the_later_received_flagged(
    items: Items,
) -> None:
    for round_, kind in enumerate(("document", "scan", "video") * 2):
        base = timedelta(days=round_)
        early = add_signed(items, kind, 10 + round_, base)
        late = add_signed(items, kind, 10 + round_, base + timedelta(minutes=1), copy=True)
        process_at_once(items, late, early)
        assert items.state(early) == ("accepted", []), (round_, kind)
        assert items.state(late) == ("flagged", [(NEAR, early)]), (round_, kind)


@both_databases
def test_a_lookup_reads_the_rows_of_its_keys_not_every_item_of_the_kind(items: Items) -> None:
    for kind in ("document", "video"):
        unrelated = [add_signed(items, kind, 100 + n, timedelta(minutes=n)) for n in range(30)]
        original = add_signed(items, kind, 1, timedelta(hours=1))
        for item in (*unrelated, original):
            items.process(item)
        copy = SIGNED[kind](1, copy=True)
        signature = signature_index.signature_of(kind, copy)
        assert signature is not None
        with items.services.sessions() as db:
            stored = db.scalar(
                select(func.count())
                .select_from(SignatureKeyRow)
                .where(SignatureKeyRow.evidence_id.in_([*unrelated, original]))
            )
            ((found, shared),) = signature_index.lookup(db, signature.probed)
            assert found == original
            # the rows of the original's shared keys, of the 31 items' hundreds of rows
            assert signature_index.rows_read(db, signature.probed) == shared
        assert stored is not None and stored >= 31 * 32 and shared <= 64


@both_databases
def test_the_migration_fills_the_signature_index_from_the_items(
    items: Items, database_url: str
) -> None:
    made = [add_signed(items, kind, 1, timedelta(hours=n)) for n, kind in enumerate(SIGNED)]
    photo = items.add(picture("chelsea.png"), received=timedelta(hours=5))
    for item in (*made, photo):
        items.process(item)
    before = stored_keys(items)
    assert set(before) == set(made)
    items.services.engine.dispose()
    config = alembic_config(database_url)
    previous = ScriptDirectory.from_config(config).get_revision("0015")
    assert previous is not None and isinstance(previous.down_revision, str)
    command.downgrade(config, previous.down_revision)
    engine = create_engine(database_url)
    assert "signature_keys" not in inspect(engine).get_table_names()
    command.upgrade(config, "head")
    assert stored_keys(items) == before
    with Session(engine) as db:
        for kind, item in zip(SIGNED, made, strict=True):
            copy = SIGNED[kind](1, copy=True)
            signature = signature_index.signature_of(STORED_AS[kind], copy)
            assert signature is not None
            assert [found for found, _ in signature_index.lookup(db, signature.probed)] == [item]
    engine.dispose()
