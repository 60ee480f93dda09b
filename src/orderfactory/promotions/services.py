"""Promotion writes, coupon checks, discount computation and usage counting.

Plain functions, no HTTP. Each runs inside its caller's transaction (the request's, or the order service's),
so a coupon checked, a discount computed and a usage counted while placing an order commit or roll back with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import F, Q

from orderfactory.auth.models import Organization
from orderfactory.catalog.services import CURRENCY_CODE, blank, required, save, taken
from orderfactory.core import clock, scope
from orderfactory.core.errors import CommonErrorCode, ErrorCode, Problem, problem
from orderfactory.core.errors import blank as blank_problem
from orderfactory.jsonapi.resource import format_datetime
from orderfactory.promotions import conditions, external, flex
from orderfactory.promotions.models import (
    EXTERNAL,
    FIXED_AMOUNT,
    FLEX,
    FREE_SHIPPING,
    PERCENTAGE_DISCOUNT,
    Coupon,
    CouponCodesPromotionRule,
    CustomPromotionRule,
    OrderAmountPromotionRule,
    Promotion,
)

# Commerce Layer's organization defaults (coupons_min_code_length, coupons_max_code_length); an organization
# may override them under the same keys of its ``config``.
COUPONS_MIN_CODE_LENGTH = 8
COUPONS_MAX_CODE_LENGTH = 40


# --- writes -----------------------------------------------------------------------------------------------


def _at_least(instance: Any, column: str, minimum: int) -> list[Problem]:
    value = getattr(instance, column)
    if value is None or value >= minimum:
        return []
    return [
        problem(
            column,
            f"must be greater than or equal to {minimum}",
            CommonErrorCode.GREATER_THAN_OR_EQUAL_TO,
            value=value,
            count=minimum,
        )
    ]


def promotion_problems(promotion: Promotion) -> list[Problem]:
    """Every problem of a promotion of any kind: the common columns, then its kind's own."""
    own = {PERCENTAGE_DISCOUNT: ("percentage",), FIXED_AMOUNT: ("fixed_amount_cents",)}.get(
        promotion.type, ()
    )
    found = required(promotion, "name", "starts_at", "expires_at", *own)
    percentage = promotion.percentage
    if percentage is not None and not 0 <= percentage <= 100:
        bound, comparison = (
            (0, CommonErrorCode.GREATER_THAN_OR_EQUAL_TO)
            if percentage < 0
            else (100, CommonErrorCode.LESS_THAN_OR_EQUAL_TO)
        )
        title = f"must be {comparison.replace('_', ' ')} {bound}"
        found.append(problem("percentage", title, comparison, value=percentage, count=bound))
    if promotion.starts_at and promotion.expires_at and promotion.expires_at <= promotion.starts_at:
        found.append(
            problem(
                "expires_at",
                "must be after starts_at",
                CommonErrorCode.GREATER_THAN,
                value=format_datetime(promotion.expires_at),
                count=format_datetime(promotion.starts_at),
            )
        )
    code = promotion.currency_code
    if not blank(code) and not CURRENCY_CODE.fullmatch(code or ""):
        found.append(problem("currency_code", "is invalid", CommonErrorCode.INVALID, value=code))
    return (
        found + _at_least(promotion, "fixed_amount_cents", 0) + _at_least(promotion, "total_usage_limit", 1)
    )


def save_promotion(
    promotion: Promotion,
    changes: dict[str, Any],
    *,
    disable: bool = False,
    enable: bool = False,
) -> Promotion:
    """Create (an unsaved ``promotion`` of its type) or update one; ``disable``/``enable`` are the
    ``_disable``/``_enable`` triggers. Disabling a disabled promotion keeps its first ``disabled_at``."""
    if disable and promotion.disabled_at is None:
        changes = {**changes, "disabled_at": clock.now()}
    elif enable:
        changes = {**changes, "disabled_at": None}
    return save(promotion, changes, promotion_problems)


Rule = CouponCodesPromotionRule | OrderAmountPromotionRule | CustomPromotionRule


def rule_problems(rule: Rule) -> list[Problem]:
    if not rule.promotion_id:
        return [blank_problem("promotion", relationship=True)]
    other = type(rule)._default_manager.filter(promotion_id=rule.promotion_id).exclude(pk=rule.pk)
    if other.exists():
        # One rule of a kind per promotion: a second one could never be told apart from the first.
        return [
            problem(
                "promotion",
                "has already been taken",
                CommonErrorCode.TAKEN,
                pointer="/data/relationships/promotion",
                value=rule.promotion_id,
            )
        ]
    return []


def save_rule(rule: Rule, changes: dict[str, Any]) -> Rule:
    """A rule of any kind (coupon codes, order amount, custom). Its ``promotion`` is polymorphic (any kind of
    promotion); the type it names is the promotion's own ``type``, not stored on the rule."""
    changes = {k: v for k, v in changes.items() if k != "promotion_type"}
    return save(rule, changes, _own_rule_problems)


def _own_rule_problems(rule: Rule) -> list[Problem]:
    found = rule_problems(rule)
    if isinstance(rule, OrderAmountPromotionRule):
        found += _at_least(rule, "order_amount_cents", 0)
    if isinstance(rule, CustomPromotionRule):
        unknown = conditions.unknown_keys(rule.filters)
        if unknown:
            found.append(
                problem(
                    "filters",
                    f"has predicates that are not supported: {', '.join(map(str, unknown))}",
                    CommonErrorCode.INVALID,
                    value=rule.filters,
                )
            )
    return found


save_coupon_codes_promotion_rule = save_rule


def code_length_bounds() -> tuple[int, int]:
    config = (
        Organization.objects.filter(pk=scope.current().organization_id)
        .values_list("config", flat=True)
        .first()
        or {}
    )
    return (
        int(config.get("coupons_min_code_length", COUPONS_MIN_CODE_LENGTH)),
        int(config.get("coupons_max_code_length", COUPONS_MAX_CODE_LENGTH)),
    )


def coupon_problems(coupon: Coupon) -> list[Problem]:
    found = required(coupon, "code")
    if not blank(coupon.code):
        shortest, longest = code_length_bounds()
        length = len(coupon.code)
        if length < shortest:
            found.append(
                problem(
                    "code",
                    f"is too short (minimum is {shortest} characters)",
                    CommonErrorCode.TOO_SHORT,
                    value=coupon.code,
                    count=shortest,
                )
            )
        elif length > longest:
            found.append(
                problem(
                    "code",
                    f"is too long (maximum is {longest} characters)",
                    CommonErrorCode.TOO_LONG,
                    value=coupon.code,
                    count=longest,
                )
            )
        found += taken(coupon, "code")
    if not coupon.promotion_rule_id:
        found.append(blank_problem("promotion_rule", relationship=True))
    return found + _at_least(coupon, "usage_limit", 1)


def save_coupon(coupon: Coupon, changes: dict[str, Any]) -> Coupon:
    return save(coupon, changes, coupon_problems)


# --- checking coupons -------------------------------------------------------------------------------------


class CouponReason(ErrorCode):
    """Why an order cannot use a coupon code: the code of its 422 on ``coupon_code``."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"  # the coupon or its promotion expired, or the promotion has not started
    EXHAUSTED = "exhausted"  # a usage limit (coupon's, promotion's or once per customer) is reached
    DISABLED = "disabled"
    WRONG_MARKET = "wrong_market"


class CouponInvalid(Exception):
    """A coupon code an order cannot use; ``reason`` says why, ``message`` says it to a person."""

    def __init__(self, reason: CouponReason | str, message: str) -> None:
        super().__init__(message)
        self.reason = CouponReason(reason)
        self.message = message


def _running(at: dt.datetime) -> Q:
    """Enabled, started, not expired, and below its usage limit at ``at``."""
    return Q(disabled_at__isnull=True, starts_at__lte=at, expires_at__gt=at) & (
        Q(total_usage_limit__isnull=True) | Q(total_usage_count__lt=F("total_usage_limit"))
    )


def check_coupon(
    code: str, *, market_id: str | None, at: dt.datetime, used_by_customer: bool = False
) -> Coupon:
    """The coupon an order in ``market_id`` may use at ``at``, or ``CouponInvalid``. Codes match exactly
    (case included) within the caller's environment. ``used_by_customer`` is the caller's answer to "has this
    order's customer already used this coupon", which only matters for ``customer_single_use`` coupons."""
    coupon = (
        Coupon.objects.select_related("promotion_rule__promotion").filter(code=code).first() if code else None
    )
    if coupon is None:
        raise CouponInvalid(CouponReason.UNKNOWN, f"coupon {code!r} does not exist")
    promotion = coupon.promotion_rule.promotion
    if promotion.disabled_at is not None:
        raise CouponInvalid(CouponReason.DISABLED, f"the promotion of coupon {code!r} is disabled")
    if promotion.market_id is not None and promotion.market_id != market_id:
        raise CouponInvalid(CouponReason.WRONG_MARKET, f"coupon {code!r} is not valid in this market")
    if coupon.expires_at is not None and coupon.expires_at <= at:
        raise CouponInvalid(CouponReason.EXPIRED, f"coupon {code!r} has expired")
    if promotion.expires_at <= at:
        raise CouponInvalid(CouponReason.EXPIRED, f"the promotion of coupon {code!r} has expired")
    if promotion.starts_at > at:
        raise CouponInvalid(CouponReason.EXPIRED, f"the promotion of coupon {code!r} has not started")
    if coupon.usage_limit is not None and coupon.usage_count >= coupon.usage_limit:
        raise CouponInvalid(CouponReason.EXHAUSTED, f"coupon {code!r} has reached its usage limit")
    if promotion.total_usage_limit is not None and promotion.total_usage_count >= promotion.total_usage_limit:
        raise CouponInvalid(
            CouponReason.EXHAUSTED, f"the promotion of coupon {code!r} has reached its usage limit"
        )
    if coupon.customer_single_use and used_by_customer:
        raise CouponInvalid(CouponReason.EXHAUSTED, f"coupon {code!r} can be used once per customer")
    return coupon


# --- discounts --------------------------------------------------------------------------------------------


class Line(NamedTuple):
    """A SKU line of an order, as the discount sees it."""

    line_item_id: str
    sku_code: str
    total_amount_cents: int


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
    # The order's id, for the answers of its external promotions (promotions.external).
    order_id: str | None = None


def _rules_hold(promotion: Promotion, facts: OrderFacts) -> bool:
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
    *, market_id: str | None, coupon: Coupon | None, at: dt.datetime, facts: OrderFacts | None = None
) -> list[Promotion]:
    """The promotions an order gets, in the order they apply. A promotion with a coupon codes rule applies
    only with one of its own coupons, one with an order amount or custom rule only to orders ``facts`` says
    they hold for; one without rules applies to every order of its market (of every market when it has
    none). If any exclusive promotion applies, only the highest-ranked exclusive one does: lower
    priority number first, promotions without a priority last, then the oldest."""
    own_promotion_id = coupon.promotion_rule.promotion_id if coupon is not None else None
    applying = list(
        Promotion.objects.filter(
            _running(at),
            Q(market_id=market_id) | Q(market_id__isnull=True),
            Q(coupon_codes_promotion_rule__isnull=True) | Q(pk=own_promotion_id),
        )
        .select_related("order_amount_promotion_rule", "custom_promotion_rule")
        .order_by(F("priority").asc(nulls_last=True), "created_at", "id")
    )
    applying = [p for p in applying if _rules_hold(p, facts or OrderFacts())]
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
    lines: Iterable[Line | tuple[str, str, int]],
    at: dt.datetime,
    used_by_customer: bool = False,
    currency_code: str | None = None,
    shipping_cents: int = 0,
    facts: OrderFacts | None = None,
) -> list[Discount]:
    """The discounts of an order whose SKU lines are ``lines`` (summing to ``subtotal_cents``), in the order
    its promotions apply (``applicable_promotions``).

    A percentage applies to the SKU subtotal, rounded half up to the cent; a fixed amount is taken whole (a
    promotion with a currency other than the order's gives nothing). Either is split over the lines in
    proportion to what is left of them, and stacked promotions never discount more than the subtotal: a later
    one gets at most what the earlier ones left. Free shipping discounts the shipping (``shipping_cents``),
    once, and no SKU line. An invalid ``coupon_code`` raises ``CouponInvalid``; a caller that should ignore it
    (``ignore_invalid_coupon``) checks it first and passes None."""
    coupon = (
        check_coupon(coupon_code, market_id=market_id, at=at, used_by_customer=used_by_customer)
        if coupon_code
        else None
    )
    order_lines = [Line(*line) for line in lines]
    remaining = [max(line.total_amount_cents, 0) for line in order_lines]
    left = max(min(subtotal_cents, sum(remaining)), 0)
    shipping_left = max(shipping_cents, 0)
    discounts = []
    if facts is None:
        facts = OrderFacts(subtotal_cents, subtotal_cents + shipping_left)
    applying = applicable_promotions(market_id=market_id, coupon=coupon, at=at, facts=facts)
    outside = [p.pk for p in applying if p.type == EXTERNAL]
    if outside:
        state = external.fingerprint(facts.order or {}, order_lines, facts.lines)
        stored = external.answers(facts.order_id, outside)
        stale = []
    for promotion in applying:
        code = (
            coupon.code if coupon is not None and coupon.promotion_rule.promotion_id == promotion.pk else None
        )
        name = promotion.name
        shares: list[int] | None = None
        if promotion.type == FREE_SHIPPING:
            amount, shipping_left = shipping_left, 0
            if amount:
                discounts.append(Discount(promotion, promotion.name, -amount, {}, code))
            continue
        if promotion.type == EXTERNAL:
            answer, call = external.usable(
                stored.get(promotion.pk), state=state, status=(facts.order or {}).get("status")
            )
            if call:
                stale.append(promotion.pk)
            if answer is None:
                continue
            name = answer.name or name
            ids = [line.line_item_id for line in order_lines]
            shares = external.shares(answer, ids, remaining, left, _split)
            amount = sum(shares)
        elif promotion.type == FLEX:
            shares = flex.shares(promotion.rules, facts.order or {}, facts.lines, remaining, left, _split)
            amount = sum(shares)
        elif promotion.type == FIXED_AMOUNT:
            other_currency = (
                promotion.currency_code and currency_code and promotion.currency_code != currency_code
            )
            amount = 0 if other_currency else min(promotion.fixed_amount_cents or 0, left)
        else:
            amount = min(_round_half_up(max(subtotal_cents, 0), promotion.percentage or 0), left)
        if amount == 0:
            continue
        if shares is None:
            shares = _split(amount, remaining)
        remaining = [r - s for r, s in zip(remaining, shares, strict=True)]
        left -= amount
        per_line = {line.line_item_id: -s for line, s in zip(order_lines, shares, strict=True) if s}
        discounts.append(Discount(promotion, name, -amount, per_line, code))
    if outside:
        external.ask(facts.order_id, state, stale)
    return discounts


# --- usage ------------------------------------------------------------------------------------------------


@transaction.atomic
def count_usage(*, promotion_ids: Iterable[str], coupon_id: str | None) -> None:
    """Count one use of each promotion and of the coupon, each only while under its limit. The conditional
    UPDATE is the compare-and-set: when a concurrent placement took the last use, it touches no row and this
    raises ``CouponInvalid("exhausted")`` with nothing counted. Rows are updated promotions first, in id order,
    then the coupon, so concurrent callers lock in the same order and cannot deadlock."""
    now = clock.now()
    for promotion_id in sorted(set(promotion_ids)):
        counted = (
            Promotion.objects.filter(pk=promotion_id)
            .filter(Q(total_usage_limit__isnull=True) | Q(total_usage_count__lt=F("total_usage_limit")))
            .update(total_usage_count=F("total_usage_count") + 1, updated_at=now)
        )
        if not counted:
            raise CouponInvalid(
                CouponReason.EXHAUSTED, f"promotion {promotion_id} has reached its usage limit"
            )
    if coupon_id is not None:
        counted = (
            Coupon.objects.filter(pk=coupon_id)
            .filter(Q(usage_limit__isnull=True) | Q(usage_count__lt=F("usage_limit")))
            .update(usage_count=F("usage_count") + 1, updated_at=now)
        )
        if not counted:
            raise CouponInvalid(CouponReason.EXHAUSTED, f"coupon {coupon_id} has reached its usage limit")


@transaction.atomic
def release_usage(*, promotion_ids: Iterable[str], coupon_id: str | None) -> None:
    """Give back the uses ``count_usage`` counted, when the order is cancelled. The caller releases once per
    counted order (its cancel is a compare-and-set on the order's status); counts never go below zero."""
    now = clock.now()
    Promotion.objects.filter(pk__in=sorted(set(promotion_ids)), total_usage_count__gt=0).update(
        total_usage_count=F("total_usage_count") - 1, updated_at=now
    )
    if coupon_id is not None:
        Coupon.objects.filter(pk=coupon_id, usage_count__gt=0).update(
            usage_count=F("usage_count") - 1, updated_at=now
        )
