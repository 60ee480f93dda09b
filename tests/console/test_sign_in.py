"""Signing in to the console: Django's auth with hashed passwords, sessions and CSRF, rate-limited attempts, and
cookies that stay with the console."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from orderfactory.auth import ratelimit
from orderfactory.console import services as operators
from tests.console.conftest import PASSWORD


@pytest.fixture
def operator(db: Any, fast_hashing: Any) -> Any:
    return operators.create_operator(
        email="ops@acme.example", organization_slug="acme", role="support", password=PASSWORD
    )


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


def sign_in(client: Client, email: str, password: str, **extra: Any) -> Any:
    token = csrf_token(client.get("/console/login").content.decode())
    return client.post(
        "/console/login", {"csrfmiddlewaretoken": token, "email": email, "password": password, **extra}
    )


def test_an_operator_signs_in_and_out(operator):
    client = Client(enforce_csrf_checks=True)
    response = sign_in(client, "OPS@acme.example", PASSWORD, next="/console/subscriptions/?status=active")
    assert response.status_code == 303 and response["Location"] == "/console/subscriptions/?status=active"
    session = client.cookies["orderfactory_console"]
    assert session["path"] == "/console/" and session["httponly"] and session["samesite"] == "Lax"
    assert client.cookies["orderfactory_console_csrf"]["path"] == "/console/"
    page = client.get("/console/")
    assert page.status_code == 200 and "ops@acme.example · support" in page.content.decode()
    token = csrf_token(page.content.decode())
    assert client.get("/console/logout").status_code == 405  # signing out is a POST, with its CSRF token
    assert client.post("/console/logout", {"csrfmiddlewaretoken": token}).status_code == 303
    assert client.get("/console/").status_code == 302


@pytest.mark.parametrize(
    "email, password", [("ops@acme.example", "wrong password"), ("nobody@x.example", PASSWORD)]
)
def test_a_wrong_email_or_password_is_refused_alike(operator, email, password):
    client = Client()
    response = sign_in(client, email, password)
    assert response.status_code == 200 and "The email or the password is wrong." in response.content.decode()
    assert client.get("/console/").status_code == 302


def test_only_console_paths_are_followed_after_signing_in(operator):
    for target in ("https://evil.example/", "//evil.example/console/", "/api/orders"):
        assert sign_in(Client(), "ops@acme.example", PASSWORD, next=target)["Location"] == "/console/"


def test_a_form_without_its_csrf_token_is_refused(operator):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/console/login", {"email": "ops@acme.example", "password": PASSWORD})
    assert response.status_code == 403 and "Form expired" in response.content.decode()
    client.force_login(operator)
    before = client.get("/console/").content.decode()
    assert "Mode: <strong>test</strong>" in before
    assert client.post("/console/mode", {"mode": "live"}).status_code == 403
    assert "Mode: <strong>test</strong>" in client.get("/console/").content.decode()


def test_a_deactivated_operator_is_signed_out_and_cannot_sign_in(operator):
    client = Client()
    assert sign_in(client, "ops@acme.example", PASSWORD).status_code == 303
    operators.deactivate_operator("ops@acme.example")
    assert client.get("/console/").status_code == 302
    assert sign_in(Client(), "ops@acme.example", PASSWORD).status_code == 200


def test_sign_in_attempts_are_rate_limited_per_address_and_per_email(operator, settings):
    settings.ORDERFACTORY = {**settings.ORDERFACTORY, "RATE_LIMITS_ENABLED": True}
    ratelimit.reset()
    try:
        client = Client(REMOTE_ADDR="10.0.0.1")
        for _ in range(ratelimit.CONSOLE_SIGN_IN_DEFAULT):
            assert sign_in(client, "ops@acme.example", "guess").status_code == 200
        refused = sign_in(client, "ops@acme.example", PASSWORD)  # even the right password, now
        assert refused.status_code == 429 and "Too many sign-in attempts" in refused.content.decode()
        assert sign_in(client, "other@acme.example", PASSWORD).status_code == 429  # this address is spent
        # the same email from elsewhere is spent too; another email from elsewhere is not
        assert sign_in(Client(REMOTE_ADDR="10.0.0.2"), "OPS@acme.example", PASSWORD).status_code == 429
        assert sign_in(Client(REMOTE_ADDR="10.0.0.3"), "x@acme.example", PASSWORD).status_code == 200
        # an address counts by its first 254 characters: a huge one is no new budget, nor a huge key
        long = "y" * 300
        for address in range(4, 4 + ratelimit.CONSOLE_SIGN_IN_DEFAULT):
            sign_in(Client(REMOTE_ADDR=f"10.0.0.{address}"), long + str(address), PASSWORD)
        assert sign_in(Client(REMOTE_ADDR="10.0.1.1"), long + "z", PASSWORD).status_code == 429
    finally:
        ratelimit.reset()


def test_a_console_session_does_not_authenticate_api_requests(operator):
    client = Client()
    sign_in(client, "ops@acme.example", PASSWORD)
    response = client.get("/api/orders", headers={"Accept": "application/vnd.api+json"})
    assert response.status_code == 401 and response["Content-Type"] == "application/vnd.api+json"


def test_passwords_are_stored_with_djangos_configured_hasher(db):
    operator = operators.create_operator(
        email="hashed@acme.example", organization_slug="acme", role="viewer", password=PASSWORD
    )
    assert operator.password.startswith("pbkdf2_sha256$") and PASSWORD not in operator.password
    assert operator.check_password(PASSWORD)
