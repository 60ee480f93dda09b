"""Catalog writes (merchants, price lists, shipping categories, SKUs, prices, markets, shipping methods), every
problem reported at once, and the catalog questions orders ask: a SKU's price in a market, the shipping methods
available to a shipment and their price."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.models import Max, Q, Subquery

from orderfactory.catalog.models import (
    SHIPPING_SCHEMES,
    Market,
    Merchant,
    Price,
    PriceList,
    PriceTier,
    ShippingCategory,
    ShippingMethod,
    ShippingMethodTier,
    Sku,
)
from orderfactory.core import clock, hooks
from orderfactory.core.errors import CommonErrorCode, DomainError, Problem, problem
from orderfactory.core.errors import blank as blank_problem

M = TypeVar("M", bound=models.Model)
CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def required(instance: models.Model, *names: str) -> list[Problem]:
    return [blank_problem(name) for name in names if blank(getattr(instance, name))]


def taken(instance: models.Model, column: str) -> list[Problem]:
    """Uniqueness within the environment (the default manager sees only the caller's organization and mode)."""
    value = getattr(instance, column)
    if (
        value is None
        or not type(instance)._default_manager.filter(**{column: value}).exclude(pk=instance.pk).exists()
    ):
        return []
    return [problem(column, "has already been taken", CommonErrorCode.TAKEN, value=value)]


@transaction.atomic
def save(instance: M, changes: dict[str, Any], problems: Callable[[M], list[Problem]]) -> M:
    """Create (an unsaved ``instance``) or update a row with ``changes`` (column -> value), if it is valid."""
    for column, value in changes.items():
        setattr(instance, column, value)
    found = problems(instance)
    if found:
        raise DomainError(found)
    instance.save()
    return instance


def missing(instance: Any, *relationships: str) -> list[Problem]:
    return [
        blank_problem(name, relationship=True)
        for name in relationships
        if not getattr(instance, f"{name}_id")
    ]


def not_included(instance: Any, column: str, allowed: tuple[str, ...]) -> list[Problem]:
    value = getattr(instance, column)
    if blank(value) or value in allowed:
        return []
    return [problem(column, "is not included in the list", CommonErrorCode.INCLUSION, value=value)]


def negative(instance: Any, *columns: str) -> list[Problem]:
    return [
        problem(
            column, "must be greater than or equal to 0", CommonErrorCode.GREATER_THAN_OR_EQUAL_TO, count=0
        )
        for column in columns
        if getattr(instance, column) is not None and getattr(instance, column) < 0
    ]


def invalid_currency(instance: Any) -> list[Problem]:
    code = instance.currency_code
    if blank(code) or (isinstance(code, str) and CURRENCY_CODE.fullmatch(code)):
        return []
    return [problem("currency_code", "is invalid", CommonErrorCode.INVALID, value=code)]


def taken_together(instance: models.Model, columns: tuple[str, str], relationship: str) -> list[Problem]:
    """One row per pair (a SKU has one price per price list, one stock item per stock location)."""
    values = {column: getattr(instance, column) for column in columns}
    if None in values.values():
        return []
    if not type(instance)._default_manager.filter(**values).exclude(pk=instance.pk).exists():
        return []
    return [
        problem(
            relationship,
            "has already been taken",
            CommonErrorCode.TAKEN,
            pointer=f"/data/relationships/{relationship}",
            value=getattr(instance, f"{relationship}_id"),
        )
    ]


def resolve_sku_code(changes: dict[str, Any]) -> list[Problem]:
    """``sku_code`` names the SKU by its code instead of the ``sku`` relationship (and wins over it): replace it
    in ``changes`` by the SKU's id, or report it unknown."""
    if "sku_code" not in changes:
        return []
    code = changes.pop("sku_code")
    if blank(code):
        return []
    sku_id = Sku.objects.filter(code=code).values_list("pk", flat=True).first()
    if sku_id is None:
        return [problem("sku_code", "is invalid", CommonErrorCode.INVALID, value=code)]
    changes["sku_id"] = sku_id
    return []


def toggle_disabled(instance: Market | ShippingMethod, triggers: dict[str, Any]) -> list[Problem]:
    """``_disable`` stamps ``disabled_at`` (keeping the first stamp), ``_enable`` clears it."""
    if triggers.get("_disable") and triggers.get("_enable"):
        return [problem("_enable", "can't be combined with _disable")]
    if triggers.get("_disable") and instance.disabled_at is None:
        instance.disabled_at = clock.now()
    if triggers.get("_enable"):
        instance.disabled_at = None
    return []


def new_shared_secret() -> str:
    return secrets.token_hex(16)


def merchant_problems(merchant: Merchant) -> list[Problem]:
    missing_address = [] if merchant.address_id else [blank_problem("address", relationship=True)]
    return required(merchant, "name") + missing_address


def price_list_problems(price_list: PriceList) -> list[Problem]:
    return (
        required(price_list, "name", "currency_code")
        + invalid_currency(price_list)
        + taken(price_list, "code")
    )


def shipping_category_problems(shipping_category: ShippingCategory) -> list[Problem]:
    return required(shipping_category, "name") + taken(shipping_category, "code")


def save_merchant(merchant: Merchant, changes: dict[str, Any]) -> Merchant:
    return save(merchant, changes, merchant_problems)


@transaction.atomic
def save_price_list(price_list: PriceList, changes: dict[str, Any]) -> PriceList:
    """Its prices carry its currency: a change of currency reprices them in the new one."""
    save(price_list, changes, price_list_problems)
    Price.objects.filter(price_list=price_list).exclude(currency_code=price_list.currency_code).update(
        currency_code=price_list.currency_code, updated_at=clock.now()
    )
    return price_list


def save_shipping_category(shipping_category: ShippingCategory, changes: dict[str, Any]) -> ShippingCategory:
    return save(shipping_category, changes, shipping_category_problems)


def sku_problems(sku: Sku) -> list[Problem]:
    return (
        required(sku, "code", "name")
        + missing(sku, "shipping_category")
        + negative(sku, "weight")
        + taken(sku, "code")
    )


def save_sku(sku: Sku, changes: dict[str, Any]) -> Sku:
    return save(sku, changes, sku_problems)


def price_problems(price: Price) -> list[Problem]:
    return (
        required(price, "amount_cents")
        + negative(price, "amount_cents", "compare_at_amount_cents")
        + missing(price, "price_list", "sku")
        + taken_together(price, ("price_list_id", "sku_id"), "sku")
    )


@transaction.atomic
def save_price(price: Price, changes: dict[str, Any]) -> Price:
    """``changes`` may name the SKU by ``sku_code``; the currency is the price list's."""
    unknown_code = resolve_sku_code(changes)
    for column, value in changes.items():
        setattr(price, column, value)
    if price.price_list_id:
        price.currency_code = PriceList.objects.values_list("currency_code", flat=True).get(
            pk=price.price_list_id
        )
    found = unknown_code + price_problems(price)
    if found:
        raise DomainError(found)
    price.save()
    return price


MAX_PRICE_TIERS = 10  # per price: Commerce Layer's limit


def save_price_with_tiers(
    price: Price, changes: dict[str, Any], price_tiers: list[PriceTier] | None
) -> Price:
    """A price, and the tiers its ``price_tiers`` relationship lists (when sent), which move to it: a tier
    belongs to one price, so the tiers it had and that are not listed stay its own."""
    with transaction.atomic():
        save_price(price, changes)
        for tier in price_tiers or []:
            # Each move is a write of the tier: recorded in its trail and fired as its type's update.
            with hooks.recording(tier.type, tier, only_if_changed=True):
                tier.price_id = price.pk
                tier.save(update_fields=["price"])
                _check_tier(tier)
    return price


def price_tier_problems(tier: PriceTier) -> list[Problem]:
    found = (
        required(tier, "name", "price_amount_cents")
        + negative(tier, "price_amount_cents", "up_to")
        + missing(tier, "price")
    )
    if found or not tier.price_id:
        return found
    siblings = PriceTier.objects.filter(price_id=tier.price_id).exclude(pk=tier.pk)
    if siblings.filter(type=tier.type, up_to=tier.up_to).exists():
        found.append(problem("up_to", "has already been taken", CommonErrorCode.TAKEN, value=tier.up_to))
    if siblings.count() >= MAX_PRICE_TIERS:
        found.append(
            problem(
                "price",
                f"can't have more than {MAX_PRICE_TIERS} price tiers",
                CommonErrorCode.INVALID,
                pointer="/data/relationships/price",
            )
        )
    return found


def _check_tier(tier: PriceTier) -> None:
    found = price_tier_problems(tier)
    if found:
        raise DomainError(found)


def price_tier_saver(kind: str) -> Callable[[PriceTier, dict[str, Any]], PriceTier]:
    """The save service of one type of tier (volume or frequency)."""

    def save_price_tier(tier: PriceTier, changes: dict[str, Any]) -> PriceTier:
        tier.type = kind
        return save(tier, changes, price_tier_problems)

    return save_price_tier


def market_problems(market: Market) -> list[Problem]:
    return (
        required(market, "name")
        + negative(market, "shipping_cost_cutoff")
        + missing(market, "merchant", "price_list", "inventory_model")
        + taken(market, "code")
    )


@transaction.atomic
def save_market(market: Market, changes: dict[str, Any], triggers: dict[str, Any]) -> Market:
    """Markets are numbered 1, 2, ... in each environment and get a shared secret (which signs the calls to
    their external URLs) when created; ``_regenerate_shared_secret`` replaces it."""
    if market._state.adding:
        last = Market.objects.aggregate(last=Max("number"))["last"]
        market.number = (last or 0) + 1
        market.shared_secret = new_shared_secret()
    elif triggers.get("_regenerate_shared_secret"):
        market.shared_secret = new_shared_secret()
    toggled = toggle_disabled(market, triggers)
    if "customer_group_id" in changes:  # Commerce Layer: a market with a customer group is private
        changes = {**changes, "private": changes["customer_group_id"] is not None}
    return save(market, changes, lambda m: toggled + market_problems(m))


def shipping_method_problems(method: ShippingMethod) -> list[Problem]:
    weighed = method.min_weight is not None or method.max_weight is not None
    return (
        required(method, "name", "scheme", "currency_code", "price_amount_cents")
        + not_included(method, "scheme", SHIPPING_SCHEMES)
        + invalid_currency(method)
        + negative(method, "price_amount_cents", "free_over_amount_cents", "min_weight", "max_weight")
        # Commerce Layer: "optional, unless min or max weight are specified".
        + (required(method, "unit_of_weight") if weighed else [])
        + weight_range(method)
    )


def weight_range(method: ShippingMethod) -> list[Problem]:
    low, high = method.min_weight, method.max_weight
    if low is None or high is None or low < 0 or high >= low:
        return []
    return [
        problem(
            "max_weight",
            "must be greater than or equal to min_weight",
            CommonErrorCode.GREATER_THAN_OR_EQUAL_TO,
            count=low,
        )
    ]


@transaction.atomic
def save_shipping_method(
    method: ShippingMethod,
    changes: dict[str, Any],
    triggers: dict[str, Any],
    tiers: list[ShippingMethodTier] | None = None,
) -> ShippingMethod:
    """A method of a market without a currency takes the currency of the market's price list. The circuit
    breaker of the external scheme never opens (nothing calls external URLs), so ``_reset_circuit`` only
    confirms it closed. ``tiers`` (the ``shipping_method_tiers`` relationship, when sent) move to it: a tier
    belongs to one method, so the tiers it had and that are not listed stay its own."""
    for column, value in changes.items():
        setattr(method, column, value)
    if blank(method.currency_code) and method.market_id:
        method.currency_code = (
            Market.objects.filter(pk=method.market_id)
            .values_list("price_list__currency_code", flat=True)
            .first()
        )
    if method._state.adding or triggers.get("_regenerate_shared_secret"):
        method.shared_secret = new_shared_secret()
    if triggers.get("_reset_circuit"):
        method.circuit_state, method.circuit_failure_count = "closed", 0
    toggled = toggle_disabled(method, triggers)
    method = save(method, {}, lambda m: toggled + shipping_method_problems(m))
    for tier in tiers or ():
        # Each move is a write of the tier: recorded in its trail and fired as its type's update.
        with hooks.recording(tier.type, tier, only_if_changed=True):
            tier.shipping_method_id = method.pk
            tier.save(update_fields=["shipping_method"])
    return method


# --- what orders ask the catalog ----------------------------------------------------------------------------


def price_for(market: Market, sku: Sku) -> Price | None:
    """The price of ``sku`` in the market's price list, or None when it has none."""
    if market.price_list_id is None:
        return None
    return Price.objects.filter(price_list_id=market.price_list_id, sku_id=sku.pk).first()


def available_shipping_methods(
    market: Market, shipping_category_id: str | None, stock_location_id: str | None
) -> list[ShippingMethod]:
    """The enabled shipping methods a shipment of ``market`` may use, oldest first: each of the method's market,
    shipping category and stock location is either unset (any) or the shipment's. A method with a currency must
    be in the currency of the market's price list."""
    methods = ShippingMethod.objects.filter(
        Q(market__isnull=True) | Q(market_id=market.pk),
        Q(shipping_category__isnull=True) | Q(shipping_category_id=shipping_category_id),
        Q(stock_location__isnull=True) | Q(stock_location_id=stock_location_id),
        disabled_at__isnull=True,
    )
    if market.price_list_id is not None:
        currency_code = PriceList.objects.filter(pk=market.price_list_id).values("currency_code")
        methods = methods.filter(Q(currency_code__isnull=True) | Q(currency_code=Subquery(currency_code)))
    return list(methods.order_by("created_at", "id"))


def shipping_price_cents(method: ShippingMethod, subtotal_cents: int) -> int:
    """The flat price of ``method`` for an order whose subtotal is ``subtotal_cents``: free from
    ``free_over_amount_cents`` up."""
    if method.free_over_amount_cents is not None and subtotal_cents >= method.free_over_amount_cents:
        return 0
    return method.price_amount_cents
