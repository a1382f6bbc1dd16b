"""The service as a user runs it: `./scripts/run`, then real photos and the README's walk-through
over HTTP."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.app import ADMIN_TOKEN, REPO, bearer, make_world, wait_for_terminal
from tests.fixtures.photos import jpeg_bytes
from tests.fixtures.readme import readme_section, shell_blocks
from tests.fixtures.services import free_port

pytestmark = pytest.mark.e2e


Start = Callable[..., httpx.Client]


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[Start]:
    """`./scripts/run` with its own data dir, port and a Redis it must start itself.

    ``start_service(**settings)`` adds ``BUKTI_*`` settings (the admin token is the tests'
    unless given) and answers a client once ``/readyz`` does; the service is stopped after
    the test.
    """
    started: list[subprocess.Popen[bytes]] = []
    clients: list[httpx.Client] = []
    log_path = tmp_path / "service.log"

    def start(**settings: str) -> httpx.Client:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("BUKTI_")}
        env.update(
            BUKTI_PORT=str(port),
            BUKTI_DATA_DIR=str(tmp_path / "data"),
            BUKTI_ADMIN_TOKEN=ADMIN_TOKEN,
            # nothing listens here: the run command must start its own Redis
            BUKTI_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        )
        env.update(settings)
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(REPO / "scripts" / "run")],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(process)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        clients.append(client)
        deadline = time.monotonic() + 120
        while True:
            try:
                if client.get("/readyz").status_code == 200:
                    return client
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(log_path.read_text()[-3000:])
            time.sleep(0.25)

    try:
        yield start
    finally:
        for client in clients:
            client.close()
        for process in started:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def service(start_service: Start) -> httpx.Client:
    """`./scripts/run` as the quick start runs it."""
    return start_service()


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
        activity = world.activity(day)
        photo = jpeg_bytes(picture)  # a real photo without metadata
        ids.append(world.upload(photo, name=f"{picture}.jpg", activity_id=activity["id"]))
    items = [wait_for_terminal(service, i, world.teacher_auth) for i in ids]
    # no EXIF: flagged for time and place; the repeat is also an exact duplicate of the first
    assert [i["status"] for i in items] == ["flagged"] * 3
    assert {f["code"] for f in items[2]["flags"]} >= {"exact_duplicate"}
    assert "exact_duplicate" not in {f["code"] for f in items[1]["flags"]}
    archived = tmp_path / "data" / "objects" / items[0]["archive"]["original_key"]
    assert archived.read_bytes() == jpeg_bytes("astronaut")
    assert service.get("/docs").status_code == 200


# the walk-through's variables, printed after it so that its answers can be checked
_WALK_THROUGH_IDS = ("PHOTO", "SELFIE", "PLAN", "NEW", "LESSON2", "COPY", "LEARNING", "SOLVING")


def test_the_readmes_walk_through_runs_as_written(start_service: Start) -> None:
    start, walk_through = shell_blocks(readme_section("Using it"))[:2]
    *assignments, command = shlex.split(start)
    assert command == "./scripts/run"
    settings = dict(assignment.split("=", 1) for assignment in assignments)
    service = start_service(**settings)
    readme_api = "http://127.0.0.1:8000/api/v1"
    assert readme_api in walk_through
    script = walk_through.replace(readme_api, f"{service.base_url}/api/v1")
    script += "".join(f'\necho "{name}=${name}"' for name in _WALK_THROUGH_IDS)
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    ids = dict(line.split("=", 1) for line in run.stdout.splitlines()[-len(_WALK_THROUGH_IDS) :])
    admin = bearer(settings["BUKTI_ADMIN_TOKEN"])

    def item(name: str) -> dict[str, Any]:
        response = service.get(f"/api/v1/evidence/{ids[name]}", headers=admin)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    clean = {name: item(name) for name in ("SELFIE", "PHOTO", "PLAN", "NEW", "LEARNING", "SOLVING")}
    assert {name: (i["status"], i["flags"]) for name, i in clean.items()} == {
        name: ("accepted", []) for name in clean
    }
    copy = item("COPY")
    assert copy["status"] == "flagged"
    assert copy["activity_id"] == int(ids["LESSON2"])
    flags = {flag["code"]: flag for flag in copy["flags"]}
    assert set(flags) == {
        "near_duplicate",
        "no_capture_time",
        "no_location",
        "forwarded_or_screenshot",
    }
    assert flags["near_duplicate"]["related_evidence_id"] == int(ids["PHOTO"])
    assert [(r["decision"], r["reason_code"]) for r in copy["reviews"]] == [("rejected", "reused")]
    assert item("NEW")["activity_id"] == int(ids["LESSON2"])
    receipt = service.get(f"/api/v1/evidence/{ids['PHOTO']}/receipt", headers=admin)
    photo = REPO / "samples" / "IMG_20261013_071502.jpg"
    assert receipt.json()["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()
    assert f"{receipt.json()['sha256']}  samples/{photo.name}" in run.stdout
    assert '"monthly_videos":{"learning":"accepted","problem_solving":"accepted"}' in run.stdout
    # the storage admin's dry run lets the accepted photos' originals go, nothing else
    planned = json.loads(run.stdout.splitlines()[-len(_WALK_THROUGH_IDS) - 1])
    assert sorted(p["evidence_id"] for p in planned) == sorted(
        int(ids[name]) for name in ("SELFIE", "PHOTO", "NEW")
    )
    assert {p["class"] for p in planned} == {"original"}
