"""catalog.shipping_rules, without a database: weights, tiers, ranges and zones."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from orderfactory.catalog.error_codes import ShippingErrorCode
from orderfactory.catalog.shipping_rules import Parcel, Tier, parcel_grams, price_cents, refusal, tier_for
from orderfactory.core.errors import DomainError

NO_REGEX = dict.fromkeys(
    ("country_code_regex", "not_country_code_regex", "state_code_regex", "not_state_code_regex"), None
)


def method(**columns: Any) -> Any:
    defaults = {
        "name": "M",
        "scheme": "flat",
        "price_amount_cents": 700,
        "free_over_amount_cents": None,
        "min_weight": None,
        "max_weight": None,
        "unit_of_weight": None,
        "shipping_zone_id": None,
    }
    return SimpleNamespace(**{**defaults, **columns})


def test_a_shipment_weighs_its_lines_in_grams() -> None:
    assert parcel_grams([(2, 1.0, "lb"), (3, 100.0, None), (1, None, "oz")]) == pytest.approx(1207.18474)


def test_the_lowest_tier_that_takes_the_weight_then_the_open_one() -> None:
    tiers = [Tier(None, 1500), Tier(2000, 900), Tier(500, 400)]
    assert [tier_for(tiers, w).price_amount_cents for w in (0, 500, 500.1, 2000, 10**6)] == [  # type: ignore[union-attr]
        400,
        400,
        900,
        900,
        1500,
    ]
    assert tier_for([Tier(500, 400)], 501) is None


def test_a_range_includes_its_ends_in_the_methods_unit() -> None:
    ranged = method(unit_of_weight="lb", min_weight=1, max_weight=2)
    for grams, refused in ((453.0, True), (453.59237, False), (907.18474, False), (908.0, True)):
        assert (refusal(ranged, None, [], Parcel(None, grams, 0)) is not None) is refused, grams


def test_free_over_amount_wins_over_tiers() -> None:
    tiered = method(scheme="weight_tiered", free_over_amount_cents=5000)
    tiers = [Tier(None, 1200)]
    assert price_cents(tiered, tiers, Parcel(None, 10, 4999)) == 1200
    assert price_cents(tiered, tiers, Parcel(None, 10, 5000)) == 0


def test_a_zone_refuses_an_address_outside_it_or_none() -> None:
    zone = SimpleNamespace(
        pk="z", name="Jersey", **NO_REGEX, zip_code_regex="(?i)JE[1-5]", not_zip_code_regex=None
    )
    zoned = method(shipping_zone_id="z")
    inside = SimpleNamespace(country_code="GB", state_code=None, zip_code="je2 3ab")
    outside = SimpleNamespace(country_code="GB", state_code=None, zip_code="SW1A 1AA")
    assert refusal(zoned, zone, [], Parcel(inside, 0, 0)) is None
    assert refusal(zoned, zone, [], Parcel(outside, 0, 0)) is not None
    assert refusal(zoned, zone, [], Parcel(None, 0, 0)) is not None


def test_a_pathological_zone_fails_with_a_code() -> None:
    zone = SimpleNamespace(
        pk="z", name="slow", **NO_REGEX, zip_code_regex="^(a|aa)+$", not_zip_code_regex=None
    )
    address = SimpleNamespace(country_code=None, state_code=None, zip_code="a" * 40 + "b")
    with pytest.raises(DomainError) as raised:
        refusal(method(shipping_zone_id="z"), zone, [], Parcel(address, 0, 0))
    assert raised.value.problems[0].code is ShippingErrorCode.REGEX_TIMEOUT
