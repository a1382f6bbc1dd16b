"""The storage admin's pages: Indonesian first, admins only, forms that carry CSRF tokens."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bukti.bootstrap import Services
from storage.audit import Actor
from storage.db import transaction
from storage.models import LegalHold, RetentionPolicy, RetentionRun
from storage.retention import apply_run, confirm_run, plan_run
from tests.fixtures.app import RecordingEnqueue
from tests.fixtures.web import People, archive_item, sign_in

pytestmark = pytest.mark.integration

JANUARY = datetime(2026, 1, 13, 2, 0, tzinfo=UTC)


def test_the_storage_page_shows_usage_policy_runs_holds_and_integrity(
    client: TestClient, people: People, services: Services
) -> None:
    archive_item(
        services, people.world.teacher["id"], b"p" * 3000, rendition=b"r" * 300, status="accepted"
    )
    sign_in(client, people.admin_login)
    page = client.get("/admin/storage")
    assert page.status_code == 200
    html = page.text
    for words in ("Pemakaian dan penghematan", "Kebijakan retensi", "Penahanan hukum", "Keutuhan"):
        assert words in html
    assert "SMKN 1 Cianjur" in html and "3,3 KB" in html
    by_class = client.get("/admin/storage?by=class").text
    assert "asli" in by_class and "rendisi" in by_class


@pytest.mark.parametrize("who", ["reviewer_login", "teacher_login"])
def test_only_admins_see_the_storage_page(client: TestClient, people: People, who: str) -> None:
    csrf = sign_in(client, getattr(people, who))
    assert client.get("/admin/storage").status_code == 404
    posted = client.post("/admin/storage/runs", data={"as_of": "2026-05-02", "csrf_token": csrf})
    assert posted.status_code == 404
    with client.app.state.services.sessions() as db:  # type: ignore[attr-defined]
        assert db.scalars(select(RetentionRun)).all() == []


def test_a_form_without_its_csrf_token_is_refused(client: TestClient, people: People) -> None:
    sign_in(client, people.admin_login)
    assert client.post("/admin/storage/runs", data={"as_of": "2026-05-02"}).status_code == 403


def test_the_admin_previews_applies_holds_and_sets_the_policy_from_the_page(
    client: TestClient, people: People, services: Services, queued: RecordingEnqueue
) -> None:
    world = people.world
    evidence_id = archive_item(
        services, world.teacher["id"], b"q" * 3000, rendition=b"r" * 300,
        status="accepted", received_at=JANUARY,
    )  # fmt: skip
    csrf = sign_in(client, people.admin_login)

    planned = client.post(
        "/admin/storage/runs", data={"as_of": "2026-05-02", "csrf_token": csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert planned.status_code == 303
    report = client.get(planned.headers["location"]).text
    assert "uji coba, belum dijalankan" in report and f"#{evidence_id}" in report
    assert "original kept 90 day(s), due 2026-05-02" in report
    run_id = int(planned.headers["location"].rsplit("/", 1)[1])
    confirmed = client.post(
        f"/admin/storage/runs/{run_id}/confirm", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert confirmed.status_code == 303
    assert queued.jobs == [("storage_retention_apply", (run_id,))]
    assert "sedang dijalankan" in client.get(f"/admin/storage/runs/{run_id}").text

    held = client.post(
        "/admin/storage/holds",
        data={"scope": "teacher", "target": str(world.teacher["id"]), "reason": "pemeriksaan",
              "csrf_token": csrf},
    )  # fmt: skip
    assert "Penahanan hukum sudah berlaku" in held.text
    refused = client.post(
        "/admin/storage/holds", data={"scope": "teacher", "reason": "x", "csrf_token": csrf}
    )
    assert "Penahanan tidak dibuat" in refused.text
    with services.sessions() as db:
        hold = db.scalars(select(LegalHold)).one()
    released = client.post(
        f"/admin/storage/holds/{hold.id}/release", data={"reason": "selesai", "csrf_token": csrf}
    )
    assert "Penahanan hukum sudah dicabut" in released.text

    saved = client.post(
        "/admin/storage/policy",
        data={"photo-keep": "on", "photo-original": "30", "photo-copies": "",
              "document-keep": "on", "document-original": "", "document-copies": "10",
              "csrf_token": csrf},
    )  # fmt: skip
    assert "Kebijakan baru sudah berlaku" in saved.text and "v1" in saved.text
    with services.sessions() as db:
        rules = {
            r.kind: (r.keep_original_days, r.keep_copies_years)
            for r in db.scalars(select(RetentionPolicy))
        }
    assert rules == {"photo": (30, None), "document": (None, 10)}
    bad = client.post(
        "/admin/storage/policy",
        data={"photo-keep": "on", "photo-original": "-3", "csrf_token": csrf},
    )
    assert "bilangan bulat" in bad.text

    scrub = client.post("/admin/storage/scrub", data={"sample": "50", "csrf_token": csrf})
    assert "Pemeriksaan arsip sudah diantrekan" in scrub.text
    assert queued.jobs[-1] == ("storage_scrub", (50,))


def _item_whose_original_was_removed(services: Services, people: People) -> int:
    """An accepted photo of January, whose original a run as of 2 May removed."""
    evidence_id = archive_item(
        services, people.world.teacher["id"], b"o" * 3000, rendition=b"r" * 300,
        status="accepted", received_at=JANUARY,
    )  # fmt: skip
    actor = Actor.system("test")
    with transaction(services.sessions) as db:
        run_id = plan_run(db, date(2026, 5, 2), actor).id
        confirm_run(db, run_id, actor)
    apply_run(services.sessions, services.store, run_id, 30, actor)
    return evidence_id


def test_an_items_page_says_its_original_was_removed_instead_of_linking_it(
    client: TestClient, people: People, services: Services
) -> None:
    evidence_id = _item_whose_original_was_removed(services, people)
    sign_in(client, people.reviewer_login)
    page = client.get(f"/items/{evidence_id}").text
    assert "sudah dihapus sesuai kebijakan retensi" in page
    assert f"/api/v1/evidence/{evidence_id}/original" not in page


def test_the_admin_restores_an_items_removed_copies_from_the_page(
    client: TestClient, people: People, services: Services
) -> None:
    evidence_id = _item_whose_original_was_removed(services, people)
    csrf = sign_in(client, people.admin_login)
    back = client.post(
        "/admin/storage/restore", data={"evidence_id": str(evidence_id), "csrf_token": csrf}
    )
    assert "Salinan berkas yang dihapus sudah kembali" in back.text
    again = client.post(
        "/admin/storage/restore", data={"evidence_id": str(evidence_id), "csrf_token": csrf}
    )
    assert "Tidak ada yang dipulihkan" in again.text
    with services.sessions() as db:
        from storage.models import Evidence

        assert db.get_one(Evidence, evidence_id).stored_bytes == 3300
