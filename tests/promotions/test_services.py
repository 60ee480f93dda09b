"""Coupon checks, discounts and usage counting, at a frozen time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from orderfactory.catalog.models import Market
from orderfactory.core import clock
from orderfactory.core import scope as scopes
from orderfactory.promotions.discounts import discounts_for
from orderfactory.promotions.models import Coupon, CouponCodesPromotionRule, Promotion
from orderfactory.promotions.services import CouponInvalid, check_coupon, count_usage, release_usage

T0 = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture
def in_scope(api: Any) -> Iterator[scopes.Scope]:
    with scopes.active(api.scope()) as scope, clock.frozen(T0):
        yield scope


@pytest.fixture
def market(in_scope: scopes.Scope) -> Market:
    return Market.objects.create(name="Europe", code="eu")


def promotion(**fields: Any) -> Promotion:
    values = {
        "name": "Spring sale",
        "percentage": 10,
        "starts_at": T0 - DAY,
        "expires_at": T0 + DAY,
        **fields,
    }
    return Promotion.objects.create(**values)


def coupon(promotion: Promotion, code: str = "SPRING2026", **fields: Any) -> Coupon:
    rule = CouponCodesPromotionRule.objects.get_or_create(promotion=promotion)[0]
    return Coupon.objects.create(promotion_rule=rule, code=code, **fields)


def reason(code: str, market_id: str | None = None, at: dt.datetime = T0, **kw: Any) -> str:
    with pytest.raises(CouponInvalid) as excinfo:
        check_coupon(code, market_id=market_id, at=at, **kw)
    return excinfo.value.reason


# --- check_coupon -----------------------------------------------------------------------------------------


def test_a_valid_coupon_is_returned(in_scope: scopes.Scope, market: Market) -> None:
    valid = coupon(promotion(market=market), usage_limit=2, usage_count=1, expires_at=T0 + DAY)
    assert check_coupon("SPRING2026", market_id=market.pk, at=T0) == valid


def test_unknown_codes_match_exactly(in_scope: scopes.Scope, api: Any, live_api: Any) -> None:
    coupon(promotion())
    assert reason("spring2026") == "unknown"
    assert reason("SPRING202") == "unknown"
    assert reason("") == "unknown"
    with scopes.active(live_api.scope()):
        assert reason("SPRING2026") == "unknown"


@pytest.mark.parametrize(
    ("promotion_fields", "coupon_fields", "at"),
    [
        ({}, {"expires_at": T0}, T0),  # the coupon expired (expiry is exclusive)
        ({"expires_at": T0}, {}, T0),  # the promotion expired
        ({"starts_at": T0 + dt.timedelta(seconds=1)}, {}, T0),  # the promotion has not started
    ],
)
def test_expired_or_not_started(
    in_scope: scopes.Scope, promotion_fields: dict[str, Any], coupon_fields: dict[str, Any], at: dt.datetime
) -> None:
    fields = {"starts_at": T0 - DAY, "expires_at": T0 + DAY, **promotion_fields}
    coupon(promotion(**fields), **coupon_fields)
    assert reason("SPRING2026", at=at) == "expired"


def test_a_promotion_starting_now_is_valid(in_scope: scopes.Scope) -> None:
    coupon(promotion(starts_at=T0))
    assert check_coupon("SPRING2026", market_id=None, at=T0).code == "SPRING2026"


def test_exhausted_by_the_coupon_or_the_promotion_or_the_customer(in_scope: scopes.Scope) -> None:
    coupon(promotion(), code="COUPONLIMIT", usage_limit=2, usage_count=2)
    coupon(promotion(total_usage_limit=3, total_usage_count=3), code="PROMOLIMIT")
    coupon(promotion(), code="ONCEEACH", customer_single_use=True)
    assert reason("COUPONLIMIT") == "exhausted"
    assert reason("PROMOLIMIT") == "exhausted"
    assert reason("ONCEEACH", used_by_customer=True) == "exhausted"
    assert check_coupon("ONCEEACH", market_id=None, at=T0, used_by_customer=False).code == "ONCEEACH"


def test_disabled_and_wrong_market(in_scope: scopes.Scope, market: Market) -> None:
    other = Market.objects.create(name="United States", code="us")
    coupon(promotion(disabled_at=T0 - DAY), code="DISABLED1")
    coupon(promotion(market=market), code="EUROPEONLY")
    assert reason("DISABLED1") == "disabled"
    assert reason("EUROPEONLY", market_id=other.pk) == "wrong_market"
    assert reason("EUROPEONLY", market_id=None) == "wrong_market"
    with pytest.raises(CouponInvalid) as excinfo:
        check_coupon("EUROPEONLY", market_id=other.pk, at=T0)
    assert "EUROPEONLY" in excinfo.value.message


# --- discounts_for ----------------------------------------------------------------------------------------

LINES = [("li_a", "SKU-A", 1000), ("li_b", "SKU-B", 2345)]


def discounts(
    market_id: str | None = None, coupon_code: str | None = None, lines: Any = LINES, at: dt.datetime = T0
) -> list[tuple[str, int, dict[str, int]]]:
    found = discounts_for(
        market_id=market_id,
        coupon_code=coupon_code,
        subtotal_cents=sum(line[2] for line in lines),
        lines=lines,
        at=at,
    )
    return [(d.name, d.amount_cents, d.per_line) for d in found]


def test_a_promotion_without_rules_applies_to_every_order_of_its_market(
    in_scope: scopes.Scope, market: Market
) -> None:
    promotion(name="Everywhere", percentage=10, priority=1)
    promotion(name="Europe", percentage=20, market=market, priority=2)
    other = Market.objects.create(name="United States", code="us")

    # 10% of 33.45 is 3.345 -> 3.35 (half up), split 100 + 234.5 -> the larger remainder takes the odd cent
    assert discounts(other.pk) == [("Everywhere", -335, {"li_a": -100, "li_b": -235})]
    assert discounts(market.pk) == [
        ("Everywhere", -335, {"li_a": -100, "li_b": -235}),
        ("Europe", -669, {"li_a": -200, "li_b": -469}),
    ]


def test_a_coupon_promotion_applies_only_with_its_own_coupon(in_scope: scopes.Scope) -> None:
    spring = promotion(name="Spring", percentage=15)
    coupon(spring, code="SPRING2026")
    summer = promotion(name="Summer", percentage=5)
    coupon(summer, code="SUMMER2026")

    assert discounts() == []
    assert [name for name, _amount, _lines in discounts(coupon_code="SPRING2026")] == ["Spring"]
    with pytest.raises(CouponInvalid):
        discounts(coupon_code="AUTUMN2026")


def test_only_active_promotions_apply(in_scope: scopes.Scope) -> None:
    promotion(name="Disabled", disabled_at=T0)
    promotion(name="Future", starts_at=T0 + dt.timedelta(seconds=1))
    promotion(name="Past", expires_at=T0)
    promotion(name="Used up", total_usage_limit=1, total_usage_count=1)
    promotion(name="Live", total_usage_limit=2, total_usage_count=1)
    assert [name for name, _amount, _lines in discounts()] == ["Live"]


def test_only_the_highest_priority_exclusive_promotion_applies(in_scope: scopes.Scope) -> None:
    promotion(name="Stacking", percentage=5, priority=1)
    promotion(name="Exclusive second", percentage=30, exclusive=True, priority=2)
    promotion(name="Exclusive unranked", percentage=40, exclusive=True)
    promotion(name="Exclusive first", percentage=20, exclusive=True, priority=1)
    assert [name for name, _amount, _lines in discounts()] == ["Exclusive first"]


def test_an_exclusive_coupon_promotion_wins_only_with_its_coupon(in_scope: scopes.Scope) -> None:
    promotion(name="Everyone", percentage=5)
    coupon(promotion(name="VIP", percentage=25, exclusive=True), code="VIPONLY1")
    assert [name for name, _amount, _lines in discounts()] == ["Everyone"]
    assert [name for name, _amount, _lines in discounts(coupon_code="VIPONLY1")] == ["VIP"]


def test_rounding_is_half_up_and_the_lines_add_up(in_scope: scopes.Scope) -> None:
    promotion(name="Third", percentage=33)
    lines = [("li_a", "A", 1), ("li_b", "B", 1), ("li_c", "C", 1), ("li_d", "D", 3)]
    # 33% of 6 cents is 1.98 -> 2, on the lines with the largest shares first, then the first on ties
    [(_name, amount, per_line)] = discounts(lines=lines)
    assert (amount, per_line) == (-2, {"li_d": -1, "li_a": -1})

    half = [("li_a", "A", 5), ("li_b", "B", 5), ("li_c", "C", 5)]
    # 33% of 15 is 4.95 -> 5; a line of 5 is due 1.65 each, so every line gets 1 and two get a second cent
    [(_name, amount, per_line)] = discounts(lines=half)
    assert (amount, sum(per_line.values())) == (-5, -5)
    assert sorted(per_line.values()) == [-2, -2, -1]


def test_stacked_promotions_never_discount_more_than_the_subtotal(in_scope: scopes.Scope) -> None:
    promotion(name="Sixty", percentage=60, priority=1)
    promotion(name="Sixty again", percentage=60, priority=2)
    result = discounts()
    assert [(name, amount) for name, amount, _lines in result] == [("Sixty", -2007), ("Sixty again", -1338)]
    assert sum(amount for _name, amount, _lines in result) == -3345
    assert result[1][2] == {"li_a": -400, "li_b": -938}


def test_a_free_order_gets_no_discount_line(in_scope: scopes.Scope) -> None:
    promotion(percentage=100)
    assert discounts(lines=[("li_a", "A", 0)]) == []


# --- count_usage and release_usage ------------------------------------------------------------------------


def test_count_and_release_usage(in_scope: scopes.Scope) -> None:
    spring = promotion(total_usage_limit=2)
    everyone = promotion(name="Everyone")
    used = coupon(spring, usage_limit=1)

    count_usage(promotion_ids=[spring.pk, everyone.pk], coupon_id=used.pk)
    spring.refresh_from_db()
    used.refresh_from_db()
    assert (spring.total_usage_count, used.usage_count) == (1, 1)
    assert Promotion.objects.get(pk=everyone.pk).total_usage_count == 1

    with pytest.raises(CouponInvalid) as excinfo:
        count_usage(promotion_ids=[spring.pk], coupon_id=used.pk)
    assert excinfo.value.reason == "exhausted"
    spring.refresh_from_db()
    assert spring.total_usage_count == 1  # the promotion's count rolled back with the coupon's refusal

    release_usage(promotion_ids=[spring.pk], coupon_id=used.pk)
    release_usage(promotion_ids=[spring.pk], coupon_id=used.pk)
    spring.refresh_from_db()
    used.refresh_from_db()
    assert (spring.total_usage_count, used.usage_count) == (0, 0)


def test_a_promotion_used_up_refuses_the_count(in_scope: scopes.Scope) -> None:
    last = promotion(total_usage_limit=1, total_usage_count=1)
    with pytest.raises(CouponInvalid) as excinfo:
        count_usage(promotion_ids=[last.pk], coupon_id=None)
    assert excinfo.value.reason == "exhausted"
