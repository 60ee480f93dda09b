"""Adjustment writes, every problem reported at once."""

from __future__ import annotations

from typing import Any

from orderfactory.adjustments.models import Adjustment
from orderfactory.catalog.services import invalid_currency, required, save
from orderfactory.core.errors import Problem


def adjustment_problems(adjustment: Adjustment) -> list[Problem]:
    return required(adjustment, "name", "currency_code", "amount_cents") + invalid_currency(adjustment)


def save_adjustment(adjustment: Adjustment, changes: dict[str, Any]) -> Adjustment:
    """Create or update an adjustment. The orders that took it keep the amount it had then (their lines are
    frozen, as SKU lines are)."""
    return save(adjustment, changes, adjustment_problems)
