"""Shared fixtures: fresh limiter and revocation cache per test, and applications to get tokens for."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orderfactory.auth import keys, ratelimit, services, tokens
from orderfactory.auth.models import Application


@pytest.fixture(autouse=True)
def _isolated_caches(settings) -> Iterator[None]:
    """Limits on (whatever the environment says) and no counters or revocations carried over between tests."""
    settings.ORDERFACTORY = {**settings.ORDERFACTORY, "RATE_LIMITS_ENABLED": True, "REDIS_URL": None}
    ratelimit.reset()
    tokens.reset_revocation_cache()
    yield
    ratelimit.reset()
    tokens.reset_revocation_cache()


@pytest.fixture
def fresh_keys() -> Iterator[None]:
    """For tests that change the key configuration: the next test gets the configured key back."""
    keys.reset()
    yield
    keys.reset()


@pytest.fixture
def integration(db) -> tuple[Application, str]:
    return services.create_application(name="ERP sync", kind="integration", mode="test")


@pytest.fixture
def live_integration(db) -> tuple[Application, str]:
    return services.create_application(name="ERP sync live", kind="integration", mode="live")


@pytest.fixture
def sales_channel(db) -> tuple[Application, str]:
    return services.create_application(name="Storefront", kind="sales_channel", mode="test")
