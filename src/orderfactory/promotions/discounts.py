"""An order's discounts: the promotions that apply to it, in the order they apply, and what each takes off
its lines (or its shipping). Plain functions, no HTTP; they read, and write nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q

from orderfactory.promotions import conditions, lists
from orderfactory.promotions.lists import Line, ListedSkus
from orderfactory.promotions.models import (
    FIXED_AMOUNT,
    FIXED_PRICE,
    FREE_SHIPPING,
    LIST_TYPES,
    Coupon,
    Promotion,
)
from orderfactory.promotions.services import check_coupon


def running(at: dt.datetime) -> Q:
    """Enabled, started, not expired, and below its usage limit at ``at``."""
    return Q(disabled_at__isnull=True, starts_at__lte=at, expires_at__gt=at) & (
        Q(total_usage_limit__isnull=True) | Q(total_usage_count__lt=F("total_usage_limit"))
    )


@dataclass(frozen=True)
class Discount:
    """One promotion's discount on an order. Amounts are negative, as Commerce Layer stores discount line
    items; ``per_line`` (line item id -> cents) sums to ``amount_cents``, but for free shipping, which
    discounts the shipping and no line (``per_line`` empty)."""

    promotion: Promotion
    name: str
    amount_cents: int
    per_line: dict[str, int]
    # The coupon code that triggered it (Commerce Layer's line item ``coupon_code``), None for a promotion
    # that applies without one.
    coupon_code: str | None = None


@dataclass(frozen=True)
class OrderFacts:
    """What the order amount and custom rules read of the order being priced: the order amount minimum
    compares ``subtotal_cents`` (``use_subtotal``) or ``amount_cents`` (subtotal and shipping, before
    discounts); custom filters read ``order`` (attribute -> value) and ``lines`` (its SKU lines, likewise)."""

    subtotal_cents: int = 0
    amount_cents: int = 0
    order: dict[str, Any] | None = None
    lines: tuple[dict[str, Any], ...] = ()


def _rules_hold(promotion: Promotion, facts: OrderFacts, listed: ListedSkus) -> bool:
    if not lists.rule_holds(promotion, listed):
        return False
    amount_rule = getattr(promotion, "order_amount_promotion_rule", None)
    if amount_rule is not None and amount_rule.order_amount_cents is not None:
        amount = facts.subtotal_cents if amount_rule.use_subtotal else facts.amount_cents
        if amount < amount_rule.order_amount_cents:
            return False
    custom_rule = getattr(promotion, "custom_promotion_rule", None)
    if custom_rule is not None and custom_rule.filters:
        return conditions.matches(custom_rule.filters, facts.order or {}, facts.lines)
    return True


def applicable_promotions(
    *,
    market_id: str | None,
    coupon: Coupon | None,
    at: dt.datetime,
    facts: OrderFacts | None = None,
    listed: ListedSkus | None = None,
) -> list[Promotion]:
    """The promotions an order gets, in the order they apply. A promotion with a coupon codes rule applies
    only with one of its own coupons, one with an order amount or custom rule only to orders ``facts`` says
    they hold for, one with a SKU list rule only to orders whose lines (``listed``) it holds for; one without rules applies to every order of its market (of every market when it has
    none). If any exclusive promotion applies, only the highest-ranked exclusive one does: lower
    priority number first, promotions without a priority last, then the oldest."""
    own_promotion_id = coupon.promotion_rule.promotion_id if coupon is not None else None
    applying = list(
        Promotion.objects.filter(
            running(at),
            Q(market_id=market_id) | Q(market_id__isnull=True),
            Q(coupon_codes_promotion_rule__isnull=True) | Q(pk=own_promotion_id),
        )
        .select_related(
            "order_amount_promotion_rule",
            "custom_promotion_rule",
            "sku_list",
            "sku_list_promotion_rule__sku_list",
        )
        .order_by(F("priority").asc(nulls_last=True), "created_at", "id")
    )
    listed = listed or ListedSkus(())
    listed.prepare(
        sku_list
        for p in applying
        for sku_list in (p.sku_list, getattr(getattr(p, "sku_list_promotion_rule", None), "sku_list", None))
    )
    applying = [p for p in applying if _rules_hold(p, facts or OrderFacts(), listed)]
    exclusive = [p for p in applying if p.exclusive]
    return exclusive[:1] if exclusive else applying


def _round_half_up(cents: int, percentage: int) -> int:
    return (cents * percentage + 50) // 100


def _split(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` split in proportion to ``weights``, in whole cents that add up to it: each share is rounded
    down, and the cents left over go to the shares with the largest remainders (the first on ties)."""
    weight = sum(weights)
    if weight == 0:
        return [0] * len(weights)
    shares = [total * w // weight for w in weights]
    left = total - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: -(total * weights[i] % weight))
    for i in by_remainder[:left]:
        shares[i] += 1
    return shares


def discounts_for(
    *,
    market_id: str | None,
    coupon_code: str | None,
    subtotal_cents: int,
    lines: Iterable[Line | tuple[Any, ...]],
    at: dt.datetime,
    used_by_customer: bool = False,
    currency_code: str | None = None,
    shipping_cents: int = 0,
    facts: OrderFacts | None = None,
) -> list[Discount]:
    """The discounts of an order whose lines of goods are ``lines`` (summing to ``subtotal_cents``), in the
    order its promotions apply (``applicable_promotions``).

    A percentage applies to the subtotal (of its SKU list's lines, when it has one), rounded half up to the
    cent; a fixed amount is taken whole (a promotion with a currency other than the order's gives nothing).
    Either is split over its lines in proportion to what is left of them. Free gift, buy X pay Y and fixed
    price promotions take off the units they make free or the difference to the fixed price
    (``lists.unit_discounts``). Stacked promotions never discount more than a line holds: a later one gets at
    most what the earlier ones left. Free shipping discounts the shipping (``shipping_cents``), once, and no
    line. An invalid ``coupon_code`` raises ``CouponInvalid``; a caller that should ignore it
    (``ignore_invalid_coupon``) checks it first and passes None."""
    coupon = (
        check_coupon(coupon_code, market_id=market_id, at=at, used_by_customer=used_by_customer)
        if coupon_code
        else None
    )
    order_lines = [Line(*line) for line in lines]
    listed = ListedSkus(order_lines)
    remaining = [max(line.total_amount_cents, 0) for line in order_lines]
    shipping_left = max(shipping_cents, 0)
    taken: set[int] = set()
    discounts = []
    if facts is None:
        facts = OrderFacts(subtotal_cents, subtotal_cents + shipping_left)
    promotions = applicable_promotions(market_id=market_id, coupon=coupon, at=at, facts=facts, listed=listed)
    for promotion in promotions:
        code = (
            coupon.code if coupon is not None and coupon.promotion_rule.promotion_id == promotion.pk else None
        )
        if promotion.type == FREE_SHIPPING:
            amount, shipping_left = shipping_left, 0
            if amount:
                discounts.append(Discount(promotion, promotion.name, -amount, {}, code))
            continue
        other_currency = bool(
            promotion.currency_code and currency_code and promotion.currency_code != currency_code
        )
        if promotion.type in LIST_TYPES:
            same_currency = promotion.type != FIXED_PRICE or not other_currency
            shares = lists.unit_discounts(promotion, listed, remaining, taken) if same_currency else {}
        else:
            shares = _amount_shares(promotion, listed, remaining, subtotal_cents, other_currency)
        amount = sum(shares.values())
        if amount == 0:
            continue
        for i, cents in shares.items():
            remaining[i] -= cents
        per_line = {order_lines[i].line_item_id: -cents for i, cents in shares.items() if cents}
        discounts.append(Discount(promotion, promotion.name, -amount, per_line, code))
    return discounts


def _amount_shares(
    promotion: Promotion,
    listed: ListedSkus,
    remaining: Sequence[int],
    subtotal_cents: int,
    other_currency: bool,
) -> dict[int, int]:
    """Line index -> the cents (positive) a percentage discount or fixed amount takes off it: over its SKU
    list's lines when it has one, else over every line, in proportion to what is left of them."""
    held = listed.matching(promotion.sku_list)
    left = max(sum(remaining[i] for i in held), 0)
    if promotion.type == FIXED_AMOUNT:
        amount = 0 if other_currency else min(promotion.fixed_amount_cents or 0, left)
    else:
        base = subtotal_cents
        if promotion.sku_list is not None:
            base = sum(listed.lines[i].total_amount_cents for i in held)
        amount = min(_round_half_up(max(base, 0), promotion.percentage or 0), left)
    if amount == 0:
        return {}
    return dict(zip(held, _split(amount, [remaining[i] for i in held]), strict=True))
