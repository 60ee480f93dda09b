"""Which frequencies a subscription, a subscription model or a line item may take. Imports no service: the
orders check a line item's frequency here, and the subscription services build on the orders."""

from __future__ import annotations

from typing import Any

from orderfactory.core.errors import CommonErrorCode, Problem, problem
from orderfactory.subscriptions import schedule
from orderfactory.subscriptions.models import SubscriptionModel


def frequency_problems(
    frequency: Any, model: SubscriptionModel | None, attribute: str = "frequency"
) -> list[Problem]:
    why = schedule.frequency_problem(frequency)
    if why:
        return [problem(attribute, why, CommonErrorCode.INVALID, value=frequency)]
    if model is not None and model.frequencies and frequency not in model.frequencies:
        return [
            problem(
                attribute,
                "is not allowed by the market's subscription model",
                CommonErrorCode.INCLUSION,
                value=frequency,
            )
        ]
    return []


def line_frequency_problems(frequency: str | None, market_id: str | None) -> list[Problem]:
    """A line item's ``frequency`` must be one its market's subscription model allows (resources.json: "must
    be supported by existing associated subscription_model"); with no model, none is (no subscription could
    be made of the line). No frequency (null or "") is always fine: the line is bought once."""
    if frequency in (None, ""):
        return []
    model = model_of_market(market_id)
    if model is None and not schedule.frequency_problem(frequency):
        return [
            problem(
                "frequency",
                "is not supported: the market has no subscription model",
                CommonErrorCode.INCLUSION,
            )
        ]
    return frequency_problems(frequency, model)


def model_of_market(market_id: str | None) -> SubscriptionModel | None:
    from orderfactory.catalog.models import Market

    if not market_id:
        return None
    model_id = Market.objects.filter(pk=market_id).values_list("subscription_model_id", flat=True).first()
    return SubscriptionModel.objects.filter(pk=model_id).first() if model_id else None
