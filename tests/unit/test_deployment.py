"""docker/ and deploy/ say what operators need: checked here, since no Docker engine runs here."""

from __future__ import annotations

import configparser
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
#: jobs that run once and exit: the services waiting on them check their exit code instead
ONE_SHOT = {"migrate"}


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_service_has_a_healthcheck_of_its_own(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check is not None, f"{name} has no healthcheck"
        if name in ONE_SHOT:
            assert check == {"disable": True}, f"{name} must not inherit a server's check"
        else:
            assert check.get("test"), f"{name}'s healthcheck has no test"
    assert not re.search(r"^HEALTHCHECK", (DOCKER / "Dockerfile").read_text(), re.MULTILINE), (
        "the image runs several roles: a HEALTHCHECK in it would be inherited by all"
    )


def test_the_workers_check_their_own_heartbeat_not_the_apis_health(
    services: dict[str, dict[str, Any]],
) -> None:
    worker = services["worker"]["healthcheck"]["test"]
    assert worker == ["CMD", "bukti", "worker", "--check"]
    assert worker != services["api"]["healthcheck"]["test"]
    assert "/healthz" in " ".join(services["api"]["healthcheck"]["test"])


def test_long_running_services_restart_and_one_off_jobs_retry_on_failure(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        expected = {"on-failure"} if name in ONE_SHOT else {"always", "unless-stopped"}
        assert service.get("restart") in expected, f"{name}: restart {service.get('restart')}"


def test_every_image_is_pinned_to_a_release(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if "build" in service:
            continue  # built here from the pinned Dockerfile and lock file
        image = service["image"]
        tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else ""
        assert tag and tag != "latest" and re.search(r"\d", tag), f"{name}: {image} is not pinned"
    base = re.search(r"^FROM (\S+)", (DOCKER / "Dockerfile").read_text(), re.MULTILINE)
    assert base is not None
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+", base.group(1)), base.group(1)


def test_the_api_and_the_workers_share_the_data_volume_and_the_readme_says_so(
    services: dict[str, dict[str, Any]],
) -> None:
    data = "data:/var/lib/bukti"
    assert data in services["api"]["volumes"] and data in services["worker"]["volumes"]
    readme = " ".join((REPO / "README.md").read_text().replace("*", "").split())
    assert "the API and the workers must share the data directory" in readme


def test_the_image_installs_exactly_the_lock_files_versions() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    assert "pip install --no-deps ." in dockerfile
    lock = (DOCKER / "requirements.lock").read_text()
    pinned = {normalised(m) for m in re.findall(r"^([A-Za-z0-9_.-]+)==\S+ \\$", lock, re.M)}
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {
        normalised(re.match(r"[A-Za-z0-9_.-]+", dep).group(0))  # type: ignore[union-attr]
        for dep in project["dependencies"]
    }
    assert wanted - pinned == set(), (
        "pyproject's dependencies missing from docker/requirements.lock: make it again with "
        "the `uv pip compile` command written in docker/Dockerfile"
    )
    entries = re.split(r"^(?=[A-Za-z0-9_.-]+==)", lock, flags=re.M)[1:]
    assert all("--hash=sha256:" in entry for entry in entries)


def test_the_systemd_unit_restarts_the_workers_and_stops_them_gracefully() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(REPO / "deploy" / "systemd" / "bukti-worker.service")
    service = unit["Service"]
    assert service["ExecStart"].endswith("bukti worker")
    assert service["Restart"] == "always"
    # SIGTERM to `bukti worker` alone: it stops its workers in order
    assert service["KillMode"] == "mixed"


def test_postgres_has_room_for_the_duplicate_checks_advisory_locks(
    services: dict[str, dict[str, Any]],
) -> None:
    # a photo's final transaction holds up to ~240 advisory locks (storage/near_index.py);
    # PostgreSQL's default lock table (64 a connection) lets only ~26 run at once
    command = " ".join(services["postgres"].get("command", []))
    found = re.search(r"max_locks_per_transaction=(\d+)", command)
    assert found is not None and int(found.group(1)) >= 256, command
