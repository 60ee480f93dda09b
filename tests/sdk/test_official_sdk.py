"""The official Commerce Layer JS clients (@commercelayer/sdk, @commercelayer/js-auth), unmodified, against a
live orderfactory server: token, create, list with filter/sort/page size, count, sparse retrieve, update,
include with denormalisation, related resource, delete, a 422 surfaced as an ApiError, and a token refresh.

The clients are pinned in tests/sdk/package-lock.json and installed once into tests/sdk/node_modules.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test.utils import override_settings
from pytest_django.live_server_helper import LiveServer

from orderfactory.auth import keys, services, tokens

SDK_DIR = Path(__file__).resolve().parent
PINNED = json.loads((SDK_DIR / "package.json").read_text())["dependencies"]

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="node and npm are needed to run the official Commerce Layer JS clients",
)


def _installed_version(package: str) -> str | None:
    manifest = SDK_DIR / "node_modules" / package / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.exists() else None


@pytest.fixture(scope="session")
def node_clients() -> Path:
    """tests/sdk/node_modules with the pinned clients, installed from the lock file unless already there."""
    if any(_installed_version(name) != version for name, version in PINNED.items()):
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=SDK_DIR,
            check=True,
            timeout=180,
        )
    return SDK_DIR / "client.mjs"


def _expired_token(app: Any) -> str:
    claims = jwt.decode(tokens.issue_token(app, None)["access_token"], options={"verify_signature": False})
    now = int(time.time())
    claims.update(iat=now - 3600, exp=now - 60)
    return jwt.encode(claims, keys.signing_key(), algorithm=keys.ALGORITHM, headers={"kid": keys.kid()})


@pytest.fixture(scope="module")
def sdk_run(
    node_clients: Path, static_url: Any, django_db_setup: Any, django_db_blocker: Any
) -> Iterator[dict[str, Any]]:
    """One run of the clients, shared by the tests below (a run and a flush cost seconds each).

    The server is pytest-django's LiveServer started here rather than its ``live_server`` fixture, which
    would make every test below transactional (one flush each). It reads through its own connection, so the
    rows must be committed; the database is flushed afterwards, as after a transactional test.
    """
    server = LiveServer("localhost")
    with (
        django_db_blocker.unblock(),
        override_settings(ORDERFACTORY={**settings.ORDERFACTORY, "RATE_LIMITS_ENABLED": False}),
    ):
        try:
            app, secret = services.create_application(
                name="official-sdk", kind="integration", mode="test", organization_slug="acme"
            )
            options = {
                "base-url": server.url,
                "client-id": app.client_id,
                "client-secret": secret,
                "auth-domain": settings.ORDERFACTORY["AUTH_DOMAIN"],
                "expired-token": _expired_token(app),
            }
            completed = subprocess.run(
                # --name=value: client ids and secrets are base64url and may start with a dash
                ["node", str(node_clients), *(f"--{name}={value}" for name, value in options.items())],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        finally:
            server.stop()
            call_command("flush", interactive=False, verbosity=0)
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout)
    assert "failure" not in results, json.dumps(results["failure"], indent=2)
    yield results


def test_the_clients_build_their_urls_from_our_token(sdk_run: dict[str, Any]) -> None:
    assert sdk_run["intendedOrigins"] == ["https://auth.localhost", "https://acme.localhost"]
    assert sdk_run["organization"] == "acme"
    assert sdk_run["token"] == {
        "tokenType": "bearer",
        "expiresIn": settings.ORDERFACTORY["TOKEN_TTL_SECONDS"],
        "scope": "market:all",
        "createdAt": pytest.approx(time.time(), abs=120),
        "hasExpires": True,
    }
    api_requests = [r for r in sdk_run["requests"] if r["url"].startswith("/api/")]
    assert {(r["accept"], r["contentType"]) for r in api_requests} == {
        ("application/vnd.api+json", "application/vnd.api+json")
    }


def test_create_list_retrieve_update_delete_a_price_list(sdk_run: dict[str, Any]) -> None:
    created = sdk_run["created"]
    assert created["type"] == "price_lists"
    assert (created["currency_code"], created["tax_included"], created["metadata"]) == (
        "EUR",
        True,
        {"source": "sdk"},
    )
    assert created["name"].startswith("SDK Euro ")

    # Two lists start with "SDK"; sorted by name descending, "SDK Euro" comes after "SDK Dollar" on page 2.
    assert sdk_run["list"] == {
        "names": [created["name"]],
        "types": ["price_lists"],
        "recordCount": 2,
        "pageCount": 2,
        "hasNextPage": True,
    }
    assert sdk_run["count"] == 1
    assert sdk_run["retrieved"] == {
        "id": created["id"],
        "type": "price_lists",
        "name": created["name"],
        "metadata": {"source": "sdk"},
    }
    assert sdk_run["updated"]["metadata"] == {"source": "sdk", "revised": True}
    assert sdk_run["updated"]["name"] == created["name"]

    after_delete = sdk_run["afterDelete"]
    assert (after_delete["found"], after_delete["isApiError"], after_delete["status"]) == (False, True, 404)
    assert [e["code"] for e in after_delete["errors"]] == ["RECORD_NOT_FOUND"]


def test_included_address_is_denormalised_onto_the_stock_location(sdk_run: dict[str, Any]) -> None:
    location = sdk_run["stockLocation"]
    assert location["address"] == {"id": location["addressId"], "type": "addresses", "city": "Firenze"}
    related = sdk_run["relatedAddress"]
    assert (related["id"], related["type"], related["full_name"]) == (
        location["addressId"],
        "addresses",
        "Ada Rossi",
    )


def test_validation_errors_surface_as_an_api_error_with_our_errors(sdk_run: dict[str, Any]) -> None:
    invalid = sdk_run["invalid"]
    assert (invalid["rejected"], invalid["isApiError"], invalid["name"], invalid["status"]) == (
        True,
        True,
        "ApiError",
        422,
    )
    assert [(e["code"], e["status"], e["source"]["pointer"]) for e in invalid["errors"]] == [
        ("VALIDATION_ERROR", "422", "/data/attributes/name"),
        ("VALIDATION_ERROR", "422", "/data/attributes/currency_code"),
    ]


def test_an_expired_token_is_refreshed_and_the_request_replayed(sdk_run: dict[str, Any]) -> None:
    assert sdk_run["refresh"] == {"refreshes": 1, "recordCount": 1, "tokenChanged": True}
