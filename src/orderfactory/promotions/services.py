"""Promotion writes, coupon checks, discount computation and usage counting.

Plain functions, no HTTP. Each runs inside its caller's transaction (the request's, or the order service's),
so a coupon checked, a discount computed and a usage counted while placing an order commit or roll back with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import F, Q

from orderfactory.auth.models import Organization
from orderfactory.catalog.services import CURRENCY_CODE, blank, required, save, taken
from orderfactory.core import clock, scope
from orderfactory.core.errors import CommonErrorCode, ErrorCode, Problem, problem
from orderfactory.core.errors import blank as blank_problem
from orderfactory.jsonapi.resource import format_datetime
from orderfactory.promotions import conditions
from orderfactory.promotions.models import (
    BUY_X_PAY_Y,
    FIXED_AMOUNT,
    FIXED_PRICE,
    FREE_GIFT,
    LIST_TYPES,
    PERCENTAGE_DISCOUNT,
    Coupon,
    CouponCodesPromotionRule,
    CustomPromotionRule,
    OrderAmountPromotionRule,
    Promotion,
    SkuListPromotionRule,
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
    own = {
        PERCENTAGE_DISCOUNT: ("percentage",),
        FIXED_AMOUNT: ("fixed_amount_cents",),
        FIXED_PRICE: ("fixed_amount_cents",),
        BUY_X_PAY_Y: ("x", "y"),
    }.get(promotion.type, ())
    found = required(promotion, "name", "starts_at", "expires_at", *own) + _list_problems(promotion)
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
        found
        + _at_least(promotion, "fixed_amount_cents", 0)
        + _at_least(promotion, "total_usage_limit", 1)
        + _at_least(promotion, "max_quantity", 1)
        + _at_least(promotion, "y", 1)
        + _x_above_y(promotion)
    )


def _x_above_y(promotion: Promotion) -> list[Problem]:
    x, y = promotion.x, promotion.y
    if x is None or y is None or x > y:
        return []
    return [problem("x", "must be greater than y", CommonErrorCode.GREATER_THAN, value=x, count=y)]


def _list_problems(promotion: Promotion) -> list[Problem]:
    """The kinds that price a list's units need one; a free gift, a manual one (its items' positions and
    quantities say which units are free)."""
    if promotion.type not in LIST_TYPES:
        return []
    sku_list = promotion.sku_list
    if sku_list is None:
        return [blank_problem("sku_list", relationship=True)]
    if promotion.type == FREE_GIFT and not sku_list.manual:
        return [
            problem(
                "sku_list",
                "must be manual: a free gift gives its items",
                CommonErrorCode.INVALID,
                pointer="/data/relationships/sku_list",
                value=promotion.sku_list_id,
            )
        ]
    return []


# A promotion's rule relationships, one rule of each kind; the rule holds the link (its ``promotion``).
RULE_RELATIONSHIPS = (
    "coupon_codes_promotion_rule",
    "order_amount_promotion_rule",
    "custom_promotion_rule",
    "sku_list_promotion_rule",
)


def _rule_link_problems(promotion: Promotion, rules: Mapping[str, Any]) -> list[Problem]:
    """A rule named on the promotion's side must already be its own: a rule always has a promotion (it is
    created with one), so linking another promotion's rule would take it from that one, and unlinking would
    leave it with none."""
    found = []
    for name, rule in rules.items():
        if rule is not None and rule.promotion_id == promotion.pk:
            continue
        found.append(
            problem(
                name,
                "has already been taken" if rule is not None else "can't be unlinked: delete the rule",
                CommonErrorCode.TAKEN if rule is not None else CommonErrorCode.INVALID,
                pointer=f"/data/relationships/{name}",
                value=rule.pk if rule is not None else None,
            )
        )
    return found


def save_promotion(
    promotion: Promotion,
    changes: dict[str, Any],
    *,
    disable: bool = False,
    enable: bool = False,
    rules: Mapping[str, Any] | None = None,
) -> Promotion:
    """Create (an unsaved ``promotion`` of its type) or update one; ``disable``/``enable`` are the
    ``_disable``/``_enable`` triggers. Disabling a disabled promotion keeps its first ``disabled_at``.
    ``rules``: the rule relationships written on the promotion's side (name -> rule or None)."""
    if disable and promotion.disabled_at is None:
        changes = {**changes, "disabled_at": clock.now()}
    elif enable:
        changes = {**changes, "disabled_at": None}
    if promotion.type == FREE_GIFT and promotion.max_quantity is None:
        changes = {"max_quantity": 1, **changes}  # Commerce Layer's default
    return save(promotion, changes, lambda p: promotion_problems(p) + _rule_link_problems(p, rules or {}))


Rule = CouponCodesPromotionRule | OrderAmountPromotionRule | CustomPromotionRule | SkuListPromotionRule


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
    """A rule of any kind (coupon codes, order amount, custom, SKU list). Its ``promotion`` is polymorphic (any kind of
    promotion); the type it names is the promotion's own ``type``, not stored on the rule."""
    changes = {k: v for k, v in changes.items() if k != "promotion_type"}
    return save(rule, changes, _own_rule_problems)


def _own_rule_problems(rule: Rule) -> list[Problem]:
    found = rule_problems(rule)
    if isinstance(rule, OrderAmountPromotionRule):
        found += _at_least(rule, "order_amount_cents", 0)
    if isinstance(rule, SkuListPromotionRule):
        found += _at_least(rule, "min_quantity", 0)
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
