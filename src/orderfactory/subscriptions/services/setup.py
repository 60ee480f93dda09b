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


def save_item(item: OrderSubscriptionItem, columns: dict[str, Any], target: Any) -> OrderSubscriptionItem:
    """Create or change a subscription's item. Its item is ``target`` (a SKU or a bundle), else the SKU of the
    ``sku_code`` or the market's bundle of the ``bundle_code`` among ``columns`` when given, else the one it
    has; its price, unless given, the SKU's in the subscription's market, or the bundle's."""
    from orderfactory.catalog.bundles import bundle_for
    from orderfactory.catalog.models import Bundle, Price, Sku

    for column, value in columns.items():
        setattr(item, column, value)
    subscription = item.order_subscription
    market = subscription.market if subscription.market_id else None
    price_list = market.price_list if market is not None else None
    currency_code = price_list.currency_code if price_list is not None else None
    if target is None and "sku_code" in columns:
        target = Sku.objects.filter(code=columns["sku_code"]).first()
        if target is None:
            raise DomainError.of(CommonErrorCode.INVALID, "sku_code", "is invalid", value=columns["sku_code"])
    elif target is None and "bundle_code" in columns:
        target = bundle_for(
            columns["bundle_code"] or "", market_id=subscription.market_id, currency_code=currency_code
        )
        if target is None:
            raise DomainError.of(
                CommonErrorCode.INVALID, "bundle_code", "is invalid", value=columns["bundle_code"]
            )
    if isinstance(target, Sku):
        item.sku, item.sku_code, item.bundle, item.bundle_code = target, target.code, None, None
    elif isinstance(target, Bundle):
        if target.market_id not in (None, subscription.market_id):
            raise DomainError.of(
                CommonErrorCode.INVALID,
                "bundle",
                "is of another market",
                pointer="/data/relationships/bundle",
            )
        item.bundle, item.bundle_code, item.sku, item.sku_code = target, target.code, None, None
    problems: list[Problem] = []
    if item.sku_id is None and item.bundle_id is None:
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
    if item.unit_amount_cents is None and market is not None:
        if item.bundle is not None:
            item.unit_amount_cents = item.bundle.price_amount_cents
        else:
            price = Price.objects.filter(price_list_id=market.price_list_id, sku_id=item.sku_id).first()
            item.unit_amount_cents = price.amount_cents if price else None
        item.currency_code = currency_code
    item.save()
    return item
