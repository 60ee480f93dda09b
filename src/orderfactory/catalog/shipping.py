"""Shipping writes besides the methods themselves: shipping zones, weight tiers and delivery lead times. Each is
one transaction that checks the whole row and reports every problem at once (catalog.services)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from orderfactory.addresses.matching import REGEX_COLUMNS, expression_problems
from orderfactory.catalog.models import DeliveryLeadTime, ShippingMethodTier, ShippingZone
from orderfactory.catalog.services import blank, missing, negative, required, save
from orderfactory.core.errors import CommonErrorCode, Problem, problem

HOURS_IN_A_DAY = 24


def shipping_zone_problems(zone: ShippingZone) -> list[Problem]:
    return required(zone, "name") + expression_problems(zone)


def save_shipping_zone(zone: ShippingZone, changes: dict[str, Any]) -> ShippingZone:
    """An empty regular expression is no condition: stored as none."""
    changes = {c: None if c in REGEX_COLUMNS and blank(v) else v for c, v in changes.items()}
    return save(zone, changes, shipping_zone_problems)


def weight_tier_problems(tier: ShippingMethodTier) -> list[Problem]:
    return (
        required(tier, "name", "price_amount_cents")
        + negative(tier, "price_amount_cents", "up_to")
        + missing(tier, "shipping_method")
    )


def save_shipping_weight_tier(tier: ShippingMethodTier, changes: dict[str, Any]) -> ShippingMethodTier:
    """``up_to`` is in the method's unit of weight; none: any weight (the tier after all the others)."""
    tier.type = "shipping_weight_tiers"
    return save(tier, changes, weight_tier_problems)


def days(hours: int | None) -> int | None:
    """Hours in days, rounded half up (Commerce Layer's example: 48 and 72 hours are 2 and 3 days)."""
    return None if hours is None else (hours + HOURS_IN_A_DAY // 2) // HOURS_IN_A_DAY


def lead_time_problems(lead_time: DeliveryLeadTime) -> list[Problem]:
    found = (
        required(lead_time, "min_hours", "max_hours")
        + negative(lead_time, "min_hours", "max_hours")
        + missing(lead_time, "stock_location", "shipping_method")
    )
    low, high = lead_time.min_hours, lead_time.max_hours
    if low is not None and high is not None and low >= 0 and high < low:
        found.append(
            problem(
                "max_hours",
                "must be greater than or equal to min_hours",
                CommonErrorCode.GREATER_THAN_OR_EQUAL_TO,
                count=low,
            )
        )
    return found


@transaction.atomic
def save_delivery_lead_time(lead_time: DeliveryLeadTime, changes: dict[str, Any]) -> DeliveryLeadTime:
    """The days are the hours, rounded (``days``), written with them."""
    for column, value in changes.items():
        setattr(lead_time, column, value)
    lead_time.min_days = days(lead_time.min_hours)  # type: ignore[assignment]
    lead_time.max_days = days(lead_time.max_hours)  # type: ignore[assignment]
    return save(lead_time, {}, lead_time_problems)
