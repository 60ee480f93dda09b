"""tokens.verify and tokens.authenticate: what a request's bearer token grants, and every way it can fail."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import transaction
from django.test import RequestFactory

from orderfactory.auth import keys, services, tokens
from orderfactory.auth.models import Application
from orderfactory.core.scope import Scope
from orderfactory.jsonapi.errors import ApiError

pytestmark = pytest.mark.django_db


def token_for(app: Application, scope: str | None = None) -> str:
    return tokens.issue_token(app, scope)["access_token"]


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def resign(claims: dict[str, Any], key: Any = None, algorithm: str = "RS512") -> str:
    return jwt.encode(claims, key or keys.signing_key(), algorithm=algorithm, headers={"kid": keys.kid()})


def assert_invalid_token(token: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        tokens.verify(token)
    error = caught.value
    assert (error.status, error.code, error.title) == (401, "INVALID_TOKEN", "Invalid token")
    return error


def test_verify_maps_the_claims_to_the_scope(integration) -> None:
    app, _ = integration

    scope = tokens.verify(token_for(app))

    assert scope == Scope(
        organization_id=app.organization_id,
        organization_slug=app.organization.slug,
        mode="test",
        application_id=app.id,
        application_kind="integration",
        client_id=app.client_id,
        market_ids=None,
    )


def test_verify_reads_mode_and_markets_from_the_claims(live_integration) -> None:
    app, _ = live_integration
    claims = claims_of(token_for(app))
    claims["market"] = {"id": ["mkt1", "mkt2"], "stock_location_ids": [], "geocoder_id": None}

    scope = tokens.verify(resign(claims))

    assert scope.mode == "live"
    assert scope.market_ids == ("mkt1", "mkt2")


def test_expired_token_is_invalid(integration) -> None:
    app, _ = integration
    claims = claims_of(token_for(app))
    claims["iat"], claims["exp"] = int(time.time()) - 100, int(time.time()) - 10

    assert "expired" in assert_invalid_token(resign(claims)).detail


def test_token_signed_by_another_key_is_invalid(integration) -> None:
    app, _ = integration
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    assert_invalid_token(resign(claims_of(token_for(app)), key=forger))


def test_hs256_token_keyed_with_the_public_key_is_invalid(integration) -> None:
    """The classic algorithm-confusion forgery, built by hand since PyJWT refuses to make it."""
    app, _ = integration
    public_pem = keys.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": keys.kid()})
    payload = _b64(claims_of(token_for(app)))
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()

    assert_invalid_token(f"{header}.{payload}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}")


def _b64(document: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_malformed_token_is_invalid(db, token: str) -> None:
    assert_invalid_token(token)


def test_token_from_another_issuer_is_invalid(integration) -> None:
    app, _ = integration
    claims = {**claims_of(token_for(app)), "iss": "https://auth.commercelayer.io"}

    assert_invalid_token(resign(claims))


@pytest.mark.parametrize("missing", ["exp", "iat", "iss", "organization", "application", "test"])
def test_token_missing_a_claim_is_invalid(integration, missing: str) -> None:
    app, _ = integration
    claims = claims_of(token_for(app))
    del claims[missing]

    assert_invalid_token(resign(claims))


def test_token_of_a_revoked_application_is_invalid_at_once(
    integration, django_capture_on_commit_callbacks
) -> None:
    app, _ = integration
    token = token_for(app)
    tokens.verify(token)  # loads the revocation cache

    with django_capture_on_commit_callbacks(execute=True):
        services.revoke_application(app.client_id)

    assert "revoked" in assert_invalid_token(token).detail


def test_revocation_by_another_process_is_seen_at_the_next_refresh(integration, monkeypatch) -> None:
    app, _ = integration
    token = token_for(app)
    tokens.verify(token)
    # Revoked by another process: this one's cache was not told.
    Application.objects.filter(pk=app.pk).update(revoked_at="2026-01-01T00:00:00Z")

    tokens.verify(token)  # within the refresh period the cached snapshot still holds
    monkeypatch.setattr(tokens._revoked, "refresh_seconds", 0.0)

    assert_invalid_token(token)


def test_verify_queries_nothing_once_the_revocation_cache_is_warm(
    integration, django_assert_num_queries, monkeypatch
) -> None:
    app, _ = integration
    token = token_for(app)
    monkeypatch.setattr(tokens._revoked, "refresh_seconds", 3600.0)  # a slow test run must not refresh it

    with django_assert_num_queries(1):
        tokens.verify(token)
    with django_assert_num_queries(0):
        for _ in range(5):
            tokens.verify(token)


# --- authenticate ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Token abc"])
def test_authenticate_without_a_bearer_token_is_unauthorized(db, header: str | None) -> None:
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    request = RequestFactory().get("/api/orders", **extra)

    with pytest.raises(ApiError) as caught:
        tokens.authenticate(request)

    error = caught.value
    assert (error.status, error.code, error.title) == (401, "UNAUTHORIZED", "Access denied")


def test_authenticate_verifies_the_bearer_token(integration) -> None:
    app, _ = integration
    request = RequestFactory().get("/api/orders", HTTP_AUTHORIZATION=f"bearer {token_for(app)}")

    assert tokens.authenticate(request).application_id == app.id


def test_authenticate_with_a_bad_token_is_invalid_token(db) -> None:
    request = RequestFactory().get("/api/orders", HTTP_AUTHORIZATION="Bearer not-a-jwt")

    with pytest.raises(ApiError) as caught:
        tokens.authenticate(request)

    assert caught.value.code == "INVALID_TOKEN"


def test_a_rolled_back_revocation_leaves_the_tokens_valid(
    integration, django_capture_on_commit_callbacks
) -> None:
    app, _ = integration
    token = token_for(app)

    with (
        django_capture_on_commit_callbacks(execute=True),
        contextlib.suppress(RuntimeError),
        transaction.atomic(),
    ):
        services.revoke_application(app.client_id)
        raise RuntimeError("the enclosing use-case failed")

    assert tokens.verify(token).application_id == app.id
    assert Application.objects.get(pk=app.pk).revoked_at is None


def test_a_token_is_checked_in_full_once_then_known_by_its_text(integration, monkeypatch) -> None:
    app, _ = integration
    token = token_for(app)
    first = tokens.verify(token)

    def checked_again(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("checked again")

    monkeypatch.setattr(jwt, "decode", checked_again)

    assert tokens.verify(token) is first
    # one character more is another token: checked in full (here, by the stand-in check)
    with pytest.raises(RuntimeError, match="checked again"):
        tokens.verify(token + "A")


def test_a_known_token_is_refused_once_expired(integration, monkeypatch) -> None:
    app, _ = integration
    claims = claims_of(token_for(app))
    claims["exp"] = int(time.time()) + 60
    token = resign(claims)
    tokens.verify(token)
    later = claims["exp"] + 1

    class Later(dt.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return dt.datetime.fromtimestamp(later, tz=dt.UTC)

    monkeypatch.setattr(tokens.time, "time", lambda: float(later))
    monkeypatch.setattr(jwt.api_jwt, "datetime", Later)  # PyJWT's clock

    assert "expired" in assert_invalid_token(token).detail


def test_a_known_token_is_checked_again_with_a_new_key(integration, monkeypatch) -> None:
    app, _ = integration
    token = token_for(app)
    tokens.verify(token)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    monkeypatch.setattr(keys, "public_key", lambda: other.public_key())

    assert_invalid_token(token)  # signed by the key that was replaced
