"""The quick start's first call works: a first start with no admin makes one."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bukti.bootstrap import Services
from bukti.cli import create_first_admin
from bukti.settings import Settings
from tests.fixtures.app import bearer

pytestmark = pytest.mark.integration


def test_a_first_start_without_an_admin_token_makes_an_admin_once(
    settings: Settings, services: Services
) -> None:
    no_token = settings.model_copy(update={"admin_token": None})
    token = create_first_admin(no_token)
    assert token is not None
    assert create_first_admin(no_token) is None, "one first admin, not one per start"
    with TestClient(create_app(no_token, services, enqueue=lambda evidence_id: None)) as client:
        answer = client.post(
            "/api/v1/schools",
            headers=bearer(token),
            json={
                "name": "SMKN 1 Cianjur",
                "lat": -6.8168,
                "lon": 107.1425,
                "radius_m": 150,
                "timezone": "Asia/Jakarta",
            },
        )
    assert answer.status_code == 201, answer.text


def test_no_admin_is_made_when_the_admin_token_is_set(settings: Settings) -> None:
    assert settings.admin_token is not None
    assert create_first_admin(settings) is None
