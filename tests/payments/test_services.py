from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from orderfactory.core import clock
from orderfactory.core import scope as scopes
from orderfactory.payments.models import ManualGateway
from orderfactory.payments.services import save_manual_gateway
from tests.refusal import refused

T0 = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def in_scope(api: Any) -> Iterator[scopes.Scope]:
    with scopes.active(api.scope()) as scope:
        yield scope


def test_a_manual_gateway_needs_a_name(in_scope: scopes.Scope) -> None:
    with refused() as excinfo:
        save_manual_gateway(ManualGateway(), {"force_payments": True})
    assert [e.pointer for e in excinfo.value.errors] == ["/data/attributes/name"]


def test_disable_and_enable_triggers_set_disabled_at(in_scope: scopes.Scope) -> None:
    with clock.frozen(T0) as advance:
        gateway = save_manual_gateway(ManualGateway(), {"name": "Manual"}, disable=True)
        assert gateway.disabled_at == T0
        advance(dt.timedelta(hours=1))
        save_manual_gateway(gateway, {}, disable=True)
        assert ManualGateway.objects.get().disabled_at == T0  # disabling again keeps the first time
        save_manual_gateway(gateway, {}, enable=True)
        assert ManualGateway.objects.get().disabled_at is None
