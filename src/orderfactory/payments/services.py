"""Payment gateway writes."""

from __future__ import annotations

from typing import Any

from orderfactory.catalog.services import required, save
from orderfactory.core import clock
from orderfactory.jsonapi.errors import ApiError
from orderfactory.payments.models import ManualGateway


def manual_gateway_problems(gateway: ManualGateway) -> list[ApiError]:
    return required(gateway, "name")


def save_manual_gateway(
    gateway: ManualGateway, changes: dict[str, Any], *, disable: bool = False, enable: bool = False
) -> ManualGateway:
    """Create (an unsaved ``gateway``) or update a manual gateway; ``disable``/``enable`` are the
    ``_disable``/``_enable`` triggers. Disabling a disabled gateway keeps its first ``disabled_at``."""
    if disable and gateway.disabled_at is None:
        changes = {**changes, "disabled_at": clock.now()}
    elif enable:
        changes = {**changes, "disabled_at": None}
    return save(gateway, changes, manual_gateway_problems)
