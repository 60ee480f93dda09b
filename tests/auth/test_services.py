"""Application use-cases: creation, hashed secrets, credential checks, revocation."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from orderfactory.auth import services
from orderfactory.auth.models import Application, Organization
from orderfactory.core import clock

pytestmark = pytest.mark.django_db


def test_create_application_returns_the_plain_secret_once_and_stores_only_its_hash(monkeypatch) -> None:
    monkeypatch.delenv("ORDERFACTORY_ORGANIZATION", raising=False)

    app, secret = services.create_application(name="ERP sync", kind="integration", mode="live")

    assert len(app.client_id) == 43 and len(secret) == 43
    row = Application.objects.filter(pk=app.pk).values().get()
    assert row["client_secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in str(value) for value in row.values())
    assert (row["kind"], row["mode"], row["revoked_at"]) == ("integration", "live", None)
    assert app.organization.slug == "demo" and app.organization.name == "demo"


def test_organization_is_created_once_and_its_slug_can_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("ORDERFACTORY_ORGANIZATION", "acme")

    first, _ = services.create_application(name="a", kind="integration", mode="test")
    second, _ = services.create_application(name="b", kind="sales_channel", mode="test")
    third, _ = services.create_application(
        name="c", kind="integration", mode="test", organization_slug="other"
    )

    assert first.organization_id == second.organization_id
    assert first.organization.slug == "acme" and third.organization.slug == "other"
    assert Organization.objects.count() == 2


def test_every_application_gets_its_own_credentials() -> None:
    created = [services.create_application(name=str(i), kind="integration", mode="test") for i in range(3)]

    assert len({app.client_id for app, _ in created}) == 3
    assert len({secret for _, secret in created}) == 3


@pytest.mark.parametrize(
    ("kind", "mode", "name", "message"),
    [
        ("webapp", "test", "x", "kind must be one of integration, sales_channel"),
        ("integration", "staging", "x", "mode must be one of test, live"),
        ("integration", "test", "  ", "name must not be blank"),
    ],
)
def test_create_application_validates_its_arguments(kind: str, mode: str, name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        services.create_application(name=name, kind=kind, mode=mode)
    assert not Application.objects.exists()


def test_list_applications_includes_revoked_ones_oldest_first() -> None:
    # A millisecond apart: two applications made within the same one are equally old.
    with clock.frozen(clock.now()) as advance:
        first, _ = services.create_application(name="first", kind="integration", mode="test")
        advance(dt.timedelta(milliseconds=1))
        second, _ = services.create_application(name="second", kind="sales_channel", mode="live")
    services.revoke_application(first.client_id)

    assert [app.name for app in services.list_applications()] == ["first", "second"]


def test_check_client_accepts_only_the_right_secret(integration) -> None:
    app, secret = integration

    assert services.check_client(app.client_id, secret) == app
    assert services.check_client(app.client_id, secret[:-1]) is None
    assert services.check_client(app.client_id, None) is None
    assert services.check_client("unknown", secret) is None


def test_sales_channel_is_a_public_client(sales_channel) -> None:
    app, secret = sales_channel

    assert services.check_client(app.client_id, None) == app
    assert services.check_client(app.client_id, secret) == app
    assert services.check_client(app.client_id, "wrong") is None


def test_revoked_application_fails_the_credential_check(integration, sales_channel) -> None:
    for app, secret in (integration, sales_channel):
        services.revoke_application(app.client_id)
        assert services.check_client(app.client_id, secret) is None
    assert services.check_client(sales_channel[0].client_id, None) is None


def test_revoking_twice_keeps_the_first_revocation_time(integration) -> None:
    app, _ = integration

    first = services.revoke_application(app.client_id).revoked_at
    second = services.revoke_application(app.client_id).revoked_at

    assert first is not None and second == first
    assert Application.objects.get(pk=app.pk).revoked_at == first


def test_revoking_an_unknown_client_raises() -> None:
    with pytest.raises(services.ApplicationNotFound, match="no application with client_id 'nope'"):
        services.revoke_application("nope")
