"""Retention runs and legal holds, as a storage admin runs them: a dry run that removes
nothing, then the confirmed run; holds win; runs resume and never remove twice; every
removal is an audit event; receipts stay valid; local disk and a real S3 server."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from bukti.bootstrap import Services
from bukti.settings import Settings
from storage import objects
from storage.audit import Actor, verify_chain
from storage.backend import ObjectStore
from storage.db import transaction
from storage.models import AuditEntry, Evidence, RetentionRemoval, RetentionRun
from storage.retention import apply_run, confirm_run, plan_run
from tests.fixtures.app import (
    OperatorCli,
    RecordingEnqueue,
    World,
    assert_problem,
    make_world,
)
from tests.fixtures.s3 import S3Endpoint
from tests.fixtures.web import archive_item

pytestmark = pytest.mark.integration

#: items sent in January 2026: the month closes on 1 February, accepted photos' originals go
#: 90 days later, on 2 May
JANUARY = datetime(2026, 1, 13, 2, 0, tzinfo=UTC)
DUE = date(2026, 5, 2)
ADMIN = Actor(None, "storage admin (test)")


def photo(n: int) -> bytes:
    return f"photo {n} ".encode() * 300


def _items(services: Services, world: World) -> dict[str, int]:
    """An accepted photo, a flagged one, and two sharing one original (one accepted)."""
    teacher, other = world.teacher["id"], world.other_teacher["id"]

    def item(data: bytes, status: str, who: int = teacher) -> int:
        return archive_item(
            services, who, data, rendition=data[:100], status=status, received_at=JANUARY
        )

    return {
        "accepted": item(photo(1), "accepted"),
        "flagged": item(photo(2), "flagged"),
        "shared_accepted": item(photo(3), "accepted"),
        "shared_flagged": item(photo(3), "flagged", other),
    }


def _key(services: Services, evidence_id: int) -> str:
    with services.sessions() as db:
        key = db.get_one(Evidence, evidence_id).original_key
    assert key is not None
    return key


def _removals(services: Services, run_id: int) -> list[tuple[int, str, str | None]]:
    with services.sessions() as db:
        rows = db.scalars(
            select(RetentionRemoval)
            .where(RetentionRemoval.run_id == run_id)
            .order_by(RetentionRemoval.evidence_id)
        )
        return [(r.evidence_id, r.klass, r.outcome) for r in rows]


def _audit(services: Services, action: str) -> list[AuditEntry]:
    with services.sessions() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.fixture(params=["local", "seaweedfs"])
def archive(request: pytest.FixtureRequest, services: Services) -> ObjectStore:
    """The services' archive on local disk, or in a bucket of a real S3 server."""
    if request.param == "seaweedfs":
        endpoint: S3Endpoint = request.getfixturevalue("seaweedfs_s3_endpoint")
        make: Callable[..., ObjectStore] = request.getfixturevalue("s3_store_factory")
        services.__dict__["store"] = make(endpoint)
    return services.store


@pytest.mark.both_databases
def test_a_dry_run_removes_nothing_and_the_confirmed_run_removes_what_it_said(
    client: TestClient, services: Services, archive: ObjectStore
) -> None:
    world = make_world(client)
    ids = _items(services, world)
    keys = {name: _key(services, evidence_id) for name, evidence_id in ids.items()}
    with transaction(services.sessions) as db:
        early = plan_run(db, date(2026, 5, 1), ADMIN).id
        run_id = plan_run(db, DUE, ADMIN).id
    assert _removals(services, early) == []
    assert _removals(services, run_id) == [
        (ids["accepted"], "original", None),
        (ids["shared_accepted"], "original", None),
    ]
    assert all(archive.exists(key) for key in keys.values())

    with transaction(services.sessions) as db:
        confirm_run(db, run_id, ADMIN)
    seen: list[tuple[int, int]] = []
    apply_run(services.sessions, archive, run_id, 30, ADMIN, lambda d, t: seen.append((d, t)))
    assert seen == [(0, 2), (1, 2), (2, 2)]
    assert _removals(services, run_id) == [
        (ids["accepted"], "original", "removed"),
        (ids["shared_accepted"], "original", "shared"),
    ]
    assert not archive.exists(keys["accepted"])
    assert archive.exists(objects.TRASH_PREFIX + keys["accepted"])
    # the other item still uses the shared original: its bytes stay
    assert archive.exists(keys["shared_accepted"])
    assert archive.exists(keys["flagged"])

    item = client.get(f"/api/v1/evidence/{ids['accepted']}", headers=world.teacher_auth).json()
    assert item["sizes"]["stored_bytes"] == 100
    assert [(c["class"], c["held"]) for c in item["archive"]["copies"]] == [
        ("original", False),
        ("rendition", True),
    ]
    receipt = client.get(
        f"/api/v1/evidence/{ids['accepted']}/receipt", headers=world.teacher_auth
    ).json()
    assert receipt["sha256"] == hashlib.sha256(photo(1)).hexdigest()
    gone = client.get(f"/api/v1/evidence/{ids['accepted']}/original", headers=world.teacher_auth)
    assert_problem(gone, 404)
    assert "removed by retention" in gone.json()["detail"]
    kept = client.get(f"/api/v1/evidence/{ids['accepted']}/rendition", headers=world.teacher_auth)
    assert kept.status_code == 200 and kept.content == photo(1)[:100]

    removed = _audit(services, "retention.removed")
    assert sorted(e.evidence_id for e in removed if e.evidence_id) == sorted(
        [ids["accepted"], ids["shared_accepted"]]
    )
    assert {e.data["reason"][:16] for e in removed} == {"accepted photo, "}

    apply_run(services.sessions, archive, run_id, 30, ADMIN)  # again: nothing more happens
    assert len(_audit(services, "retention.removed")) == 2
    with services.sessions() as db:
        assert verify_chain(db).is_intact


def test_a_hold_placed_after_the_dry_run_still_wins(client: TestClient, services: Services) -> None:
    world = make_world(client)
    ids = _items(services, world)
    with transaction(services.sessions) as db:
        run_id = plan_run(db, DUE, ADMIN).id
    response = client.post(
        "/api/v1/storage/holds",
        json={"scope": "teacher", "teacher_id": world.teacher["id"], "reason": "audit BPK 2026"},
        headers=world.admin,
    )
    assert response.status_code == 201, response.text
    with transaction(services.sessions) as db:
        confirm_run(db, run_id, ADMIN)
    apply_run(services.sessions, services.store, run_id, 30, ADMIN)
    assert {outcome for _, _, outcome in _removals(services, run_id)} == {"held"}
    assert all(services.store.exists(_key(services, i)) for i in ids.values())
    assert _audit(services, "retention.removed") == []
    [placed] = _audit(services, "hold.placed")
    assert placed.data["reason"] == "audit BPK 2026"


@pytest.mark.parametrize(
    "hold",
    [
        {"scope": "evidence"},
        {"scope": "school"},
        {"scope": "dates", "date_from": "2026-01-01", "date_to": "2026-01-31"},
    ],
)
def test_a_run_never_touches_held_objects(
    client: TestClient, services: Services, hold: dict[str, Any]
) -> None:
    world = make_world(client)
    ids = _items(services, world)
    body = {**hold, "reason": "sengketa kepegawaian"}
    if hold["scope"] == "evidence":
        body["evidence_id"] = ids["accepted"]
    if hold["scope"] == "school":
        body["school_id"] = world.school["id"]
    placed = client.post("/api/v1/storage/holds", json=body, headers=world.admin)
    assert placed.status_code == 201, placed.text
    with transaction(services.sessions) as db:
        run = plan_run(db, DUE, ADMIN)
        summary = dict(run.summary)
        run_id = run.id
    planned = {evidence_id for evidence_id, _, _ in _removals(services, run_id)}
    assert ids["accepted"] not in planned
    assert summary["held_items"] >= 1
    with transaction(services.sessions) as db:
        confirm_run(db, run_id, ADMIN)
    apply_run(services.sessions, services.store, run_id, 30, ADMIN)
    assert services.store.exists(_key(services, ids["accepted"]))
    released = client.post(
        f"/api/v1/storage/holds/{placed.json()['id']}/release",
        json={"reason": "perkara selesai"},
        headers=world.admin,
    )
    assert released.status_code == 200 and released.json()["released_by"]
    with transaction(services.sessions) as db:
        again = plan_run(db, DUE, ADMIN).id
    assert ids["accepted"] in {e for e, _, _ in _removals(services, again)}
    assert len(_audit(services, "hold.released")) == 1


def test_a_photos_thumbnail_stays_with_its_rendition_and_goes_with_every_copy(
    client: TestClient, services: Services
) -> None:
    world = make_world(client)
    original, thumbnail = photo(4), b"thumbnail " * 50
    item_id = archive_item(
        services,
        world.teacher["id"],
        original,
        rendition=original[:100],
        preview=thumbnail,
        status="accepted",
        received_at=JANUARY,
    )
    with services.sessions() as db:
        key = db.get_one(Evidence, item_id).preview_key
    assert key is not None and services.store.exists(key)
    url = f"/api/v1/evidence/{item_id}/preview"

    def run_on(day: date) -> int:
        with transaction(services.sessions) as db:
            run_id = plan_run(db, day, ADMIN).id
        with transaction(services.sessions) as db:
            confirm_run(db, run_id, ADMIN)
        apply_run(services.sessions, services.store, run_id, 30, ADMIN)
        return run_id

    # the original's 90 days are up: the thumbnail stays, as the rendition does
    first = run_on(DUE)
    assert _removals(services, first) == [(item_id, "original", "removed")]
    kept = client.get(url, headers=world.teacher_auth)
    assert kept.status_code == 200 and kept.content == thumbnail
    # five years after its month closed, every copy goes, the thumbnail with them
    last = run_on(date(2031, 2, 1))
    assert sorted(klass for _, klass, _ in _removals(services, last)) == ["preview", "rendition"]
    assert {outcome for _, _, outcome in _removals(services, last)} == {"removed"}
    assert not services.store.exists(key)
    assert services.store.exists(objects.TRASH_PREFIX + key)
    item = client.get(f"/api/v1/evidence/{item_id}", headers=world.teacher_auth).json()
    assert item["sizes"]["stored_bytes"] == 0
    assert ("preview", False) in [(c["class"], c["held"]) for c in item["archive"]["copies"]]
    assert client.get(url, headers=world.teacher_auth).status_code == 404


class _Interrupted(Exception):
    pass


@pytest.mark.both_databases
def test_a_run_that_stopped_resumes_and_removes_nothing_twice(
    client: TestClient, services: Services
) -> None:
    world = make_world(client)
    ids = _items(services, world)
    with transaction(services.sessions) as db:
        run_id = plan_run(db, DUE, ADMIN).id
        confirm_run(db, run_id, ADMIN)

    def stop_after_first(done: int, total: int) -> None:
        if done == 1:
            raise _Interrupted

    with pytest.raises(_Interrupted):
        apply_run(services.sessions, services.store, run_id, 30, ADMIN, stop_after_first)
    assert [o for _, _, o in _removals(services, run_id)] == ["removed", None]
    run = apply_run(services.sessions, services.store, run_id, 30, ADMIN)
    assert run.status == "applied"
    assert [o for _, _, o in _removals(services, run_id)] == ["removed", "shared"]
    assert len(_audit(services, "retention.removed")) == 2
    assert len(_audit(services, "retention.applied")) == 1
    assert not services.store.exists(_key(services, ids["accepted"]))


def test_the_api_plans_confirms_restores_and_keeps_policy_versions(
    client: TestClient, services: Services, queued: RecordingEnqueue
) -> None:
    world = make_world(client)
    ids = _items(services, world)
    policy = client.get("/api/v1/storage/retention/policy", headers=world.admin).json()
    assert policy["version"] == 0
    assert {"kind": "photo", "outcome": "accepted", "keep_original_days": 90,
            "keep_copies_years": 5} in policy["rules"]  # fmt: skip
    changed = client.put(
        "/api/v1/storage/retention/policy",
        json={"rules": [{"kind": "photo", "outcome": "accepted", "keep_original_days": 30}]},
        headers=world.admin,
    )
    assert changed.status_code == 200 and changed.json()["version"] == 1
    assert _audit(services, "retention.policy_set")[0].data["new"][0]["keep_original_days"] == 30

    planned = client.post(
        "/api/v1/storage/retention/runs", json={"as_of": "2026-03-03"}, headers=world.admin
    )
    assert planned.status_code == 201, planned.text
    run = planned.json()
    assert run["status"] == "planned" and run["policy_version"] == 1
    assert run["progress"]["planned"] == 2 and run["progress"]["done"] == 0
    report = client.get(
        f"/api/v1/storage/retention/runs/{run['id']}/removals", headers=world.admin
    ).json()
    assert "original kept 30 day(s), due 2026-03-03" in report[0]["reason"]

    confirmed = client.post(
        f"/api/v1/storage/retention/runs/{run['id']}/confirm", headers=world.admin
    )
    assert confirmed.status_code == 202 and confirmed.json()["status"] == "applying"
    assert queued.jobs == [("storage_retention_apply", (run["id"],))]
    apply_run(services.sessions, services.store, run["id"], 30, ADMIN)  # what the job does
    done = client.get(f"/api/v1/storage/retention/runs/{run['id']}", headers=world.admin).json()
    assert done["status"] == "applied" and done["progress"]["done"] == 2

    restored = client.post(
        f"/api/v1/storage/evidence/{ids['accepted']}/restore", headers=world.admin
    )
    assert restored.status_code == 200, restored.text
    assert restored.json()["restored"][0]["class"] == "original"
    assert services.store.exists(_key(services, ids["accepted"]))
    assert len(_audit(services, "retention.restored")) == 1
    assert_problem(
        client.post(f"/api/v1/storage/evidence/{ids['accepted']}/restore", headers=world.admin),
        409,
    )
    assert_problem(
        client.post(f"/api/v1/storage/retention/runs/{run['id']}/confirm", headers=world.admin),
        409,
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/storage/retention/policy"),
        ("post", "/api/v1/storage/retention/runs"),
        ("get", "/api/v1/storage/holds"),
        ("post", "/api/v1/storage/evidence/1/restore"),
    ],
)
def test_only_admins_reach_retention_and_holds(client: TestClient, method: str, path: str) -> None:
    world = make_world(client)
    for auth in (world.teacher_auth, world.reviewer_auth):
        response = getattr(client, method)(
            path, headers=auth, **({"json": {}} if method == "post" else {})
        )
        assert_problem(response, 403)


def test_holds_need_a_reason_and_their_target(client: TestClient) -> None:
    world = make_world(client)
    for body, status in (
        ({"scope": "teacher", "reason": "x"}, 422),
        ({"scope": "teacher", "teacher_id": 999, "reason": "x"}, 404),
        (
            {"scope": "dates", "reason": "x", "date_from": "2026-02-01", "date_to": "2026-01-01"},
            422,
        ),
        ({"scope": "school", "school_id": 1, "reason": ""}, 422),
    ):
        assert_problem(client.post("/api/v1/storage/holds", json=body, headers=world.admin), status)


def test_the_command_line_plans_reports_applies_with_progress_and_holds(
    client: TestClient, services: Services, operator_cli: OperatorCli, tmp_path: Path
) -> None:
    world = make_world(client)
    ids = _items(services, world)
    report = tmp_path / "report.csv"
    accepted = str(ids["accepted"])
    assert operator_cli("hold", "place", "--evidence-id", accepted, "--reason", "BPK")[0] == 0
    listed = operator_cli("hold", "list")[1]
    code, planned, _ = operator_cli(
        "retention", "run", "--dry-run", "--as-of", "2026-05-02", "--report", str(report)
    )
    assert code == 0
    run_id = int(planned.split()[2].rstrip(":"))
    code, applied, progress = operator_cli("retention", "run", "--confirm", str(run_id))
    assert code == 0
    assert operator_cli("hold", "release", "1", "--reason", "selesai")[0] == 0
    assert operator_cli("hold", "release", "1", "--reason", "again")[0] == 2
    runs = operator_cli("retention", "runs")[1]
    assert operator_cli("retention", "run", "--confirm", "99")[1:] == (
        "",
        "bukti: retention run 99 not found\n",
    )
    code, _, again = operator_cli("retention", "run", "--confirm", str(run_id))
    assert code == 2 and again == f"bukti: retention run {run_id} is applied\n"
    code, _, err = operator_cli("retention", "restore", accepted)
    assert code == 2 and "no released copy left to restore" in err
    assert f"evidence {ids['accepted']}: BPK" in listed
    assert "1 items held back by legal holds" in planned and "nothing was removed" in planned
    assert report.read_text().count("\n") == 2  # the header and the shared original
    assert "[##############################] 1/1" in progress
    assert "0 copies removed" in applied and "1 released but still used" in applied
    assert f"{run_id} applied" in runs
    assert services.store.exists(_key(services, ids["accepted"]))


def test_serve_plans_one_dry_run_and_queues_one_scrub_a_day(
    client: TestClient, services: Services, settings: Settings, broker_redis: redis.Redis
) -> None:
    from bukti.cli import _daily_storage_jobs
    from workers.broker import STORAGE_QUEUE, Enqueuer, build_broker

    world = make_world(client)
    _items(services, world)
    daily = settings.model_copy(update={"retention_daily_dry_run": True, "scrub_daily_sample": 50})
    broker = build_broker(daily)
    enqueue = Enqueuer(broker)
    for _ in range(3):
        _daily_storage_jobs(daily, services, enqueue, DUE)
    with services.sessions() as db:
        runs = db.scalars(select(RetentionRun)).all()
    assert [(r.planned_by, r.status, r.as_of) for r in runs] == [("schedule", "planned", DUE)]
    assert broker_redis.llen(f"dramatiq:{STORAGE_QUEUE}") == 1
