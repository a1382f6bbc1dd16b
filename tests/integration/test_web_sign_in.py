"""People sign in on the pages: passwords, sessions, CSRF, slowing down, languages, /docs."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.app import ADMIN_TOKEN, bearer
from tests.fixtures.web import PASSWORD, People, csrf_of, sign_in

pytestmark = pytest.mark.integration


def test_signed_out_visitors_land_on_the_sign_in_page_in_indonesian(client: TestClient) -> None:
    response = client.get("/")

    assert response.url.path == "/sign-in"
    assert '<html lang="id">' in response.text
    assert "Masuk" in response.text and "NIP atau nama pengguna" in response.text
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_a_teacher_signs_in_with_their_nip_and_lands_on_their_home(
    client: TestClient, people: People
) -> None:
    form = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={
            "login": people.teacher_login,
            "password": PASSWORD,
            "csrf_token": csrf_of(form.text),
        },
        follow_redirects=False,
    )

    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("bukti_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over HTTPS the cookie is Secure
    assert client.get("/", follow_redirects=False).headers["location"] == "/my"


def test_the_session_cookie_is_secure_over_https(client: TestClient, people: People) -> None:
    https = TestClient(client.app, base_url="https://testserver")
    form = https.get("/sign-in")
    response = https.post(
        "/sign-in",
        data={"login": "koordinator", "password": PASSWORD, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_reviewers_sign_in_with_their_user_name_in_any_case(
    client: TestClient, people: People
) -> None:
    sign_in(client, "  Koordinator ")

    assert client.get("/", follow_redirects=False).headers["location"] == "/review"


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    client: TestClient, people: People
) -> None:
    form = client.get("/sign-in")
    wrong = client.post(
        "/sign-in",
        data={
            "login": "koordinator",
            "password": "nope-nope-nope",
            "csrf_token": csrf_of(form.text),
        },
    )
    unknown = client.post(
        "/sign-in",
        data={"login": "nobody", "password": PASSWORD, "csrf_token": csrf_of(form.text)},
    )

    assert wrong.status_code == unknown.status_code == 401
    assert "tidak cocok" in wrong.text and "tidak cocok" in unknown.text
    assert "bukti_session" not in client.cookies


def test_five_wrong_passwords_in_a_row_slow_the_account_down(
    client: TestClient, people: People
) -> None:
    token = csrf_of(client.get("/sign-in").text)

    def attempt(password: str) -> int:
        data = {"login": "koordinator", "password": password, "csrf_token": token}
        return client.post("/sign-in", data=data).status_code

    answers = [attempt(f"wrong-password-{n}") for n in range(5)]
    slowed = client.post(
        "/sign-in", data={"login": "koordinator", "password": PASSWORD, "csrf_token": token}
    )

    assert answers == [401, 401, 401, 401, 429]
    # even the right password waits: guessing goes no faster while slowed down
    assert slowed.status_code == 429
    assert int(slowed.headers["retry-after"]) > 0
    assert "Terlalu banyak" in slowed.text
    # another account is not slowed down
    sign_in(client, people.teacher_login)


def test_the_sign_in_form_without_its_csrf_token_is_refused(
    client: TestClient, people: People
) -> None:
    client.get("/sign-in")
    response = client.post("/sign-in", data={"login": "koordinator", "password": PASSWORD})

    assert response.status_code == 403
    assert "bukti_session" not in client.cookies


def test_a_post_without_the_session_csrf_token_is_refused(
    client: TestClient, people: People
) -> None:
    sign_in(client, "koordinator")

    forged = client.post("/sign-out", data={}, follow_redirects=False)

    assert forged.status_code == 403
    assert client.get("/", follow_redirects=False).headers["location"] == "/review"


def test_the_api_takes_the_session_cookie_but_an_unsafe_call_needs_the_csrf_header(
    client: TestClient, people: People
) -> None:
    token = sign_in(client, "koordinator")
    school_id = people.world.school["id"]

    assert client.get("/api/v1/users/me").json()["login"] == "koordinator"
    body = {"decision": "approved"}
    forged = client.post("/api/v1/evidence/1/review", json=body)
    allowed = client.post("/api/v1/evidence/1/review", json=body, headers={"X-CSRF-Token": token})

    assert forged.status_code == 403
    assert allowed.status_code == 404  # past the CSRF check: there is no item 1
    assert client.get(f"/api/v1/schools/{school_id}").status_code == 200


def test_signing_out_ends_the_session(client: TestClient, people: People) -> None:
    token = sign_in(client, "koordinator")

    response = client.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)

    assert response.headers["location"] == "/sign-in"
    assert client.get("/review", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/users/me").status_code == 401


def test_a_person_changes_their_password_and_other_sessions_end(
    client: TestClient, people: People
) -> None:
    other_device = TestClient(client.app)
    sign_in(other_device, "koordinator")
    token = sign_in(client, "koordinator")
    new = "sandi-baru-yang-panjang"

    wrong = client.post(
        "/account/password",
        data={"csrf_token": token, "current": "not-it-at-all", "new": new, "repeat": new},
    )
    changed = client.post(
        "/account/password",
        data={"csrf_token": token, "current": PASSWORD, "new": new, "repeat": new},
    )

    assert wrong.status_code == 422 and "salah" in wrong.text
    assert changed.status_code == 200 and "sudah diganti" in changed.text
    assert other_device.get("/api/v1/users/me").status_code == 401
    assert client.get("/api/v1/users/me").status_code == 200
    sign_in(TestClient(client.app), "koordinator", new)


def test_a_user_with_a_login_but_no_password_cannot_sign_in(
    client: TestClient, people: People
) -> None:
    created = client.post(
        "/api/v1/users",
        headers=bearer(ADMIN_TOKEN),
        json={"name": "Robot", "role": "admin", "login": "robot"},
    )
    token = csrf_of(client.get("/sign-in").text)

    response = client.post(
        "/sign-in", data={"login": "robot", "password": "anything-at-all", "csrf_token": token}
    )

    assert created.status_code == 201 and created.json()["login"] == "robot"
    assert response.status_code == 401


def test_a_login_is_unique_and_a_reviewer_with_a_password_needs_one(
    client: TestClient, people: People
) -> None:
    admin = bearer(ADMIN_TOKEN)
    school_id = people.world.school["id"]
    taken = client.post(
        "/api/v1/users",
        headers=admin,
        json={"name": "X", "role": "reviewer", "school_id": school_id, "login": "Koordinator"},
    )
    nameless = client.post(
        "/api/v1/users",
        headers=admin,
        json={"name": "X", "role": "reviewer", "school_id": school_id, "password": PASSWORD},
    )
    second_nip = client.post(
        "/api/v1/users",
        headers=admin,
        json={
            "name": "Erni again",
            "role": "teacher",
            "teacher_id": people.world.teacher["id"],
            "password": PASSWORD,
        },
    )

    assert taken.status_code == 409
    assert nameless.status_code == 422
    assert second_nip.status_code == 409


def test_the_language_follows_the_browser_then_the_switch(client: TestClient) -> None:
    english = client.get("/sign-in", headers={"Accept-Language": "en-GB,en;q=0.9,id;q=0.5"})
    client.get("/language?to=id&next=/sign-in")
    switched = client.get("/sign-in", headers={"Accept-Language": "en"})

    assert '<html lang="en">' in english.text and "Sign in" in english.text
    assert '<html lang="id">' in switched.text


def test_the_switch_never_sends_the_browser_to_another_site(client: TestClient) -> None:
    response = client.get("/language?to=en&next=//evil.example/x", follow_redirects=False)

    assert response.headers["location"] == "/"


def test_api_docs_load_every_asset_from_bukti_itself(client: TestClient) -> None:
    page = client.get("/docs").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)

    assert assets and all(url.startswith("/static/vendor/swagger-ui/") for url in assets)
    assert "validator.swagger.io" not in page
    for url in assets:
        response = client.get(url)
        assert response.status_code == 200
        assert "max-age=31536000" in response.headers["cache-control"]


def test_a_missing_page_is_a_page_and_a_missing_api_record_a_problem(client: TestClient) -> None:
    page = client.get("/no-such-page")
    api = client.get("/api/v1/evidence/1", headers=bearer(ADMIN_TOKEN))

    assert page.status_code == 404 and "Tidak ditemukan" in page.text
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
