"""What subscriptions are made of: subscription models (the strategy and frequencies a market offers) and a
subscription's items (the SKUs each run copies), saved after the rules they keep."""

from __future__ import annotations

from typing import Any

from orderfactory.core.errors import CommonErrorCode, DomainError, Problem, blank, problem
from orderfactory.subscriptions.frequencies import frequency_problems
from orderfactory.subscriptions.models import STRATEGIES, OrderSubscriptionItem, SubscriptionModel


def save_subscription_model(model: SubscriptionModel, columns: dict[str, Any]) -> SubscriptionModel:
    """Create or change a subscription model (a new one's ``strategy`` is ``by_frequency`` unless given)."""
    for column, value in columns.items():
        setattr(model, column, value)
    problems: list[Problem] = []
    if not model.name:
        problems.append(blank("name"))
    if model.strategy not in STRATEGIES:
        problems.append(
            problem(
                "strategy", "is not included in the list", CommonErrorCode.INCLUSION, value=model.strategy
            )
        )
    if not isinstance(model.frequencies, list) or not model.frequencies:
        problems.append(blank("frequencies"))
    else:
        for frequency in model.frequencies:
            problems += frequency_problems(frequency, None, "frequencies")
    if problems:
        raise DomainError(problems)
    model.save()
    return model


def save_item(item: OrderSubscriptionItem, columns: dict[str, Any], sku: Any) -> OrderSubscriptionItem:
    """Create or change a subscription's item: its SKU is ``sku``, else the one of the ``sku_code`` among
    ``columns`` when given, else the one it has; its price, unless given, the SKU's in the subscription's
    market."""
    from orderfactory.catalog.models import Price, Sku

    for column, value in columns.items():
        setattr(item, column, value)
    if sku is None and "sku_code" in columns:
        sku = Sku.objects.filter(code=columns["sku_code"]).first()
        if sku is None:
            raise DomainError.of(CommonErrorCode.INVALID, "sku_code", "is invalid", value=columns["sku_code"])
    if sku is not None:
        item.sku, item.sku_code = sku, sku.code
    problems: list[Problem] = []
    if item.sku_id is None:
        problems.append(blank("sku_code"))
    if item.quantity is None or item.quantity <= 0:
        problems.append(
            problem(
                "quantity",
                "must be greater than 0",
                CommonErrorCode.GREATER_THAN,
                value=item.quantity,
                count=0,
            )
        )
    if problems:
        raise DomainError(problems)
    subscription = item.order_subscription
    if item.unit_amount_cents is None and subscription.market_id:
        market = subscription.market
        assert market is not None
        price = Price.objects.filter(price_list_id=market.price_list_id, sku_id=item.sku_id).first()
        item.unit_amount_cents = price.amount_cents if price else None
        price_list = market.price_list if market.price_list_id else None
        item.currency_code = price_list.currency_code if price_list is not None else None
    item.save()
    return item
