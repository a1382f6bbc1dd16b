"""The service as a user runs it: `./scripts/run`, then real photos over HTTP."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.app import ADMIN_TOKEN, REPO, make_world, wait_for_terminal
from tests.fixtures.photos import sample
from tests.fixtures.services import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture
def service(tmp_path: Path) -> Iterator[httpx.Client]:
    """`./scripts/run` with its own data dir, port and a Redis it must start itself."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUKTI_")}
    env.update(
        BUKTI_PORT=str(port),
        BUKTI_DATA_DIR=str(tmp_path / "data"),
        BUKTI_ADMIN_TOKEN=ADMIN_TOKEN,
        # nothing listens here: the run command must start its own Redis
        BUKTI_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    log = (tmp_path / "service.log").open("wb")
    process = subprocess.Popen(
        [str(REPO / "scripts" / "run")],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if client.get("/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((tmp_path / "service.log").read_text()[-3000:])
            time.sleep(0.25)
        yield client
    finally:
        client.close()
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def real_photo(picture: str) -> bytes:
    out = io.BytesIO()
    sample(picture).save(out, "JPEG", quality=90)
    return out.getvalue()


def test_service_runs_as_the_readme_says_and_processes_real_photos(
    service: httpx.Client, tmp_path: Path
) -> None:
    world = make_world(service)
    ids = []
    for day, picture in (
        ("2026-10-13", "astronaut"),
        ("2026-10-14", "coffee"),
        ("2026-10-15", "astronaut"),
    ):
        activity = service.post(
            "/api/v1/activities",
            headers=world.teacher_auth,
            json={
                "teacher_id": world.teacher["id"],
                "date": day,
                "start": "07:00",
                "end": "08:30",
                "title": "Mengajar",
            },
        ).json()
        response = service.post(
            "/api/v1/evidence",
            headers=world.teacher_auth,
            data={"activity_id": activity["id"]},
            files={"file": (f"{picture}.jpg", real_photo(picture), "image/jpeg")},
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    items = [wait_for_terminal(service, i, world.teacher_auth) for i in ids]
    # no EXIF: flagged for time and place; the repeat is also an exact duplicate of the first
    assert [i["status"] for i in items] == ["flagged"] * 3
    assert {f["code"] for f in items[2]["flags"]} >= {"exact_duplicate"}
    assert "exact_duplicate" not in {f["code"] for f in items[1]["flags"]}
    archived = tmp_path / "data" / "objects" / items[0]["archive"]["original_key"]
    assert archived.read_bytes() == real_photo("astronaut")
    assert service.get("/docs").status_code == 200
