"""Videos, documents and YouTube links through the API and the workers (in process)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from fastapi.testclient import TestClient

from bukti.bootstrap import Services
from bukti.settings import Settings
from tests.fixtures.app import World, make_world, wait_for_terminal
from tests.fixtures.video_site import LESSON, serving
from tests.fixtures.workers import InProcessWorker, InProcessWorkers
from workers.pipeline import PHASES

pytestmark = pytest.mark.integration

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "youtube"


def codes(item: dict[str, Any]) -> set[str]:
    return {flag["code"] for flag in item["flags"]}


def test_video_is_probed_transcoded_previewed_and_archived(
    live_client: TestClient, worker: InProcessWorker, services: Services, make_video: Any
) -> None:
    world = make_world(live_client)
    clip = make_video(
        "VID_20261013_071500.mp4",
        rotation=90,
        crf=6,  # a phone's high bit rate, so that the rendition is the smaller file
        size=(960, 540),
        duration_s=4,
        creation_time=datetime(2026, 10, 13, 0, 15, tzinfo=UTC),
        android_location="-06.8168+107.1425/",
    )
    item = world.send(clip, mime="video/mp4", activity_id=world.activity()["id"])
    assert item["kind"] == "video" and item["status"] in ("accepted", "flagged"), item
    assert item["status"] == "accepted", item["flags"]
    assert item["facts"]["video"]["duration_s"] == pytest.approx(4, abs=0.2)
    assert item["archive"]["rendition_key"].endswith(".mp4")
    assert item["archive"]["preview_key"].endswith(".jpg")
    assert item["sizes"]["rendition_bytes"] < item["sizes"]["original_bytes"]
    # original, rendition and poster are all held, and counted
    assert item["sizes"]["stored_bytes"] > item["sizes"]["original_bytes"]
    assert services.store.exists(item["archive"]["preview_key"])
    events = live_client.get(
        f"/api/v1/evidence/{item['id']}/events", headers=world.teacher_auth
    ).json()
    # the item's job examined it (one ffprobe), the transcode job of its own did the rest
    started = [e["detail"] for e in events if e["outcome"] == "started"]
    assert len(started) == 2 and all(d.startswith("attempt 1 by ") for d in started), events
    done = [e["step"] for e in events if e["outcome"] == "done"]
    assert done == list(PHASES), done
    copy = make_video.reencoded(clip, scale=0.5, trim_start_s=1.0)
    again = world.send(copy, mime="video/mp4", activity_id=world.activity("2026-10-14")["id"])
    assert "near_duplicate" in codes(again), again["flags"]


def test_truncated_video_is_rejected(
    live_client: TestClient, worker: InProcessWorker, make_video: Any
) -> None:
    world = make_world(live_client)
    cut = make_video.truncated(make_video(duration_s=2))
    item = world.send(cut, mime="video/mp4", activity_id=world.activity()["id"])
    assert item["status"] == "rejected" and item["reason"]


def test_short_monthly_video_is_flagged(
    live_client: TestClient, worker: InProcessWorker, make_video: Any
) -> None:
    world = make_world(live_client)
    clip = make_video(duration_s=3, crf=14)
    item = world.send(clip, mime="video/mp4", month="2026-10", requirement="learning")
    assert "video_too_short" in codes(item)
    month = live_client.get(
        f"/api/v1/teachers/{world.teacher['id']}/months/2026-10", headers=world.teacher_auth
    ).json()
    assert month["monthly_videos"]["learning"]["id"] == item["id"]
    assert month["monthly_videos"]["problem_solving"] is None


def test_pdf_is_sanitised_archived_and_duplicates_are_caught(
    live_client: TestClient,
    worker: InProcessWorker,
    services: Services,
    make_document: Any,
    tmp_path: Path,
) -> None:
    world = make_world(live_client)
    active = make_document.pdf_with_active_content()
    item = world.send(active, mime="application/pdf", activity_id=world.activity()["id"])
    assert item["kind"] == "document" and item["status"] in ("accepted", "flagged"), item
    stored = tmp_path / "stored.pdf"
    services.store.get_to_file(item["archive"]["rendition_key"], stored)
    with pikepdf.open(stored) as pdf:
        assert "/OpenAction" not in pdf.Root and "/AA" not in pdf.Root
        assert b"pwned" not in stored.read_bytes()
    # the original is archived as received: its SHA-256 is the proof
    assert item["archive"]["original_key"] != item["archive"]["rendition_key"]

    plan = make_document.pdf("modul-ajar.pdf", info={"/Title": "Modul Ajar"})
    first = world.send(plan, mime="application/pdf", activity_id=world.activity("2026-10-14")["id"])
    same = world.send(plan, mime="application/pdf", activity_id=world.activity("2026-10-15")["id"])
    assert "exact_duplicate" in codes(same)
    resaved = tmp_path / "resaved.pdf"
    with pikepdf.open(plan) as pdf:
        pdf.docinfo["/Title"] = "Modul Ajar (revisi)"
        pdf.save(resaved, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    near = world.send(
        resaved, mime="application/pdf", activity_id=world.activity("2026-10-16")["id"]
    )
    assert "near_duplicate" in codes(near), near["flags"]
    assert {f["related_evidence_id"] for f in near["flags"]} & {first["id"], same["id"]}


def test_zip_bomb_is_rejected_without_inflating(
    live_client: TestClient, worker: InProcessWorker, make_document: Any
) -> None:
    world = make_world(live_client)
    bomb = make_document.lying_zip_bomb(inflated_gib=4)
    item = world.send(bomb, mime="application/zip", activity_id=world.activity()["id"])
    assert item["status"] == "rejected" and item["reason"]


@pytest.fixture
def recorded_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"youtube_source": f"recorded:{RECORDED}"})


def test_youtube_links_get_their_flags_from_recorded_metadata(
    recorded_settings: Settings, start_inline_worker: InProcessWorkers, live_client: TestClient
) -> None:
    start_inline_worker(recorded_settings)
    world = make_world(live_client)

    def submit(video_id: str, month: str, requirement: str) -> dict[str, Any]:
        response = live_client.post(
            "/api/v1/evidence",
            json={
                "url": f"https://www.youtube.com/watch?v={video_id}",
                "month": month,
                "requirement": requirement,
            },
            headers=world.teacher_auth,
        )
        assert response.status_code == 202, response.text
        return wait_for_terminal(live_client, response.json()["id"], world.teacher_auth)

    private = submit("Pv2tE3nQx8r", "2024-03", "learning")
    assert "youtube_unavailable" in codes(private)
    other = submit("Pn4mV7cX2zQ", "2024-03", "problem_solving")
    assert "youtube_wrong_channel" in codes(other)  # the teacher registered no channel
    learning = submit("k3Jd8sL2mQA", "2024-04", "learning")
    assert "youtube_outside_period" in codes(learning)  # uploaded in March 2024
    reused = submit("k3Jd8sL2mQA", "2024-05", "learning")
    assert "youtube_reused" in codes(reused)


def test_closing_a_month_flags_missing_videos_once(
    client: TestClient, world: World, services: Services
) -> None:
    from workers.months import close_month

    teachers = client.get("/api/v1/teachers", headers=world.admin).json()["total"]
    assert close_month(services, "2026-09") == 2 * teachers
    assert close_month(services, "2026-09") == 0
    month = client.get(
        f"/api/v1/teachers/{world.teacher['id']}/months/2026-09", headers=world.teacher_auth
    ).json()
    missing = [f for f in month["open_flags"] if f["code"] == "missing_monthly_video"]
    assert len(missing) == 2 and all(f["severity"] == "medium" for f in missing)


def test_scans_without_text_are_compared_by_their_first_page(
    live_client: TestClient, worker: InProcessWorker, make_document: Any, tmp_path: Path
) -> None:
    from tests.fixtures.photos import sample

    world = make_world(live_client)
    scan = make_document.pdf("scan.pdf", pages=[""], image=sample("page", (595, 842)))
    first = world.send(scan, mime="application/pdf", activity_id=world.activity("2026-10-14")["id"])
    rescanned = tmp_path / "rescan.pdf"
    with pikepdf.open(scan) as pdf:
        pdf.docinfo["/Producer"] = "CamScanner"
        pdf.save(rescanned)
    again = world.send(
        rescanned, mime="application/pdf", activity_id=world.activity("2026-10-15")["id"]
    )
    other = make_document.pdf("other.pdf", pages=[""], image=sample("coffee", (595, 842)))
    different = world.send(
        other, mime="application/pdf", activity_id=world.activity("2026-10-16")["id"]
    )
    assert "near_duplicate" in codes(again), again["flags"]
    near = [f for f in again["flags"] if f["code"] == "near_duplicate"]
    assert [f["related_evidence_id"] for f in near] == [first["id"]]
    assert "near_duplicate" not in codes(different)


def test_archival_download_sends_a_linked_video_through_the_video_pipeline(
    settings: Settings,
    start_inline_worker: InProcessWorkers,
    live_client: TestClient,
    services: Services,
    make_video: Any,
) -> None:
    with serving(make_video(duration_s=3, size=(640, 360), crf=8).read_bytes()) as site:
        site.pages[LESSON] = {
            "title": "Pembelajaran Pecahan Kelas 7",
            "uploaded": "2026-10-12T10:05:11+07:00",
            "duration": "PT3S",
        }
        archiving = settings.model_copy(
            update={
                "youtube_source": f"generic:{site.base}/videos/{{video_id}}",
                "youtube_archive": True,
            }
        )
        start_inline_worker(archiving)
        world = make_world(live_client)
        response = live_client.post(
            "/api/v1/evidence",
            json={
                "url": f"https://youtu.be/{LESSON}",
                "month": "2026-10",
                "requirement": "learning",
            },
            headers=world.teacher_auth,
        )
        item = wait_for_terminal(live_client, response.json()["id"], world.teacher_auth)
    assert item["kind"] == "youtube" and item["status"] in ("accepted", "flagged"), item
    assert item["mime"] == "video/mp4"
    assert item["facts"]["video"]["duration_s"] == pytest.approx(3, abs=0.3)
    assert services.store.exists(item["archive"]["original_key"])
    assert item["archive"]["preview_key"]
    assert item["sizes"]["original_bytes"] > 0
    assert any(path.startswith("/media/") for _, path in site.requests)


def test_legacy_word_file_is_rejected_with_advice(
    live_client: TestClient, worker: InProcessWorker, tmp_path: Path
) -> None:
    world = make_world(live_client)
    legacy = tmp_path / "RPP.doc"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4000)
    item = world.send(legacy, mime="application/msword", activity_id=world.activity()["id"])
    assert item["status"] == "rejected" and item["reason"], item


def test_a_link_without_network_fails_readably_and_its_owner_can_retry_it(
    settings: Settings, queued: Any, tmp_path: Path
) -> None:
    from api.app import create_app
    from storage.models import Evidence
    from tests.fixtures.services import free_port
    from workers import pipeline

    nowhere = f"generic:http://127.0.0.1:{free_port()}/videos/{{video_id}}"
    offline = settings.model_copy(update={"youtube_source": nowhere})
    services = Services(offline)
    with TestClient(create_app(offline, services, enqueue=queued)) as client:
        world = make_world(client)
        response = client.post(
            "/api/v1/evidence",
            json={
                "url": "https://www.youtube.com/watch?v=k3Jd8sL2mQA",
                "month": "2024-03",
                "requirement": "learning",
            },
            headers=world.teacher_auth,
        )
        evidence_id = int(response.json()["id"])
        # every attempt of the round (the backoff between them is a fraction of a second)
        while (ran := pipeline.process_evidence(services, evidence_id)).outcome != "failed":
            assert ran.outcome in ("retry", "not claimed"), ran
        item = client.get(f"/api/v1/evidence/{evidence_id}", headers=world.teacher_auth).json()
        assert item["status"] == "failed"
        assert item["reason"].startswith("The video's page could not be reached (no network).")
        assert "DependencyError" not in item["reason"] and "yt-dlp" not in item["reason"]
        with services.sessions() as session:
            stored = session.get_one(Evidence, evidence_id)
            assert stored.failure_reason == "network" and stored.next_attempt_at is not None
        events = client.get(
            f"/api/v1/evidence/{evidence_id}/events", headers=world.teacher_auth
        ).json()
        errors = [e["detail"] for e in events if e["outcome"] == "error"]
        assert len(errors) == settings.max_retries + 1
        assert all(e.startswith("network: DependencyError: YouTube metadata") for e in errors)

        # the network is back (recorded metadata here); the teacher retries it herself
        services.settings = settings.model_copy(update={"youtube_source": f"recorded:{RECORDED}"})
        retried = client.post(f"/api/v1/evidence/{evidence_id}/retry", headers=world.teacher_auth)
        assert retried.status_code == 202, retried.text
        assert queued.sent[-1] == evidence_id
        assert pipeline.process_evidence(services, evidence_id).outcome in ("accepted", "flagged")
        item = client.get(f"/api/v1/evidence/{evidence_id}", headers=world.teacher_auth).json()
        assert "youtube_outside_period" not in {f["code"] for f in item["flags"]}
        assert item["reason"] is None
    services.close()
