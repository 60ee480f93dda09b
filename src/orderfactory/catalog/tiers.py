"""A line's unit price from a price and its tiers: by the line's quantity (volume tiers) and by its
frequency in days (frequency tiers). Pure computation; imports no service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from croniter import croniter
from django.db.models import Exists, OuterRef, QuerySet

from orderfactory.catalog.models import FREQUENCY_TIERS, VOLUME_TIERS, Price, PriceTier

# A named frequency in days, as a frequency tier's ``up_to`` counts it (months of 30 days, years of 365).
NAMED_DAYS: dict[str, float] = {
    "hourly": 1 / 24,
    "daily": 1,
    "weekly": 7,
    "monthly": 30,
    "two-month": 60,
    "three-month": 90,
    "four-month": 120,
    "six-month": 180,
    "yearly": 365,
}
# A crontab's interval is measured between two runs from a fixed moment, so the same line always gets the
# same price.
_CRON_ORIGIN = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def frequency_days(frequency: str | None) -> float | None:
    """A line item frequency in days: a named one, a number of days, or a crontab's interval between its
    first two runs; None for no frequency (or one that is not valid, which the line's checks report)."""
    if not frequency:
        return None
    if frequency in NAMED_DAYS:
        return NAMED_DAYS[frequency]
    if frequency.isdigit():
        return float(frequency)
    if not croniter.is_valid(frequency):
        return None
    runs = croniter(frequency, _CRON_ORIGIN)
    first = runs.get_next(dt.datetime)
    return float((runs.get_next(dt.datetime) - first) / dt.timedelta(days=1))


@dataclass(frozen=True)
class Tier:
    type: str
    up_to: int | None
    price_amount_cents: int


def _matching(tiers: Iterable[Tier], kind: str, value: float) -> int | None:
    """The price of the tier ``value`` falls in: the lowest ``up_to`` at or above it, else the beyond tier
    (``up_to`` null), else none."""
    of_kind = [t for t in tiers if t.type == kind]
    bounded = sorted((t for t in of_kind if t.up_to is not None), key=lambda t: t.up_to or 0)
    for tier in bounded:
        assert tier.up_to is not None
        if value <= tier.up_to:
            return tier.price_amount_cents
    beyond = [t for t in of_kind if t.up_to is None]
    return beyond[0].price_amount_cents if beyond else None


def unit_amount_cents(amount_cents: int, tiers: Iterable[Tier], quantity: int, frequency: str | None) -> int:
    """The unit price of ``quantity`` at ``frequency``: the volume tier the quantity falls in, the frequency
    tier the frequency falls in (a line with a frequency only), the lower of the two when both apply, and
    the price's own amount when none does (docs/decisions.md, "Price tiers")."""
    tiers = list(tiers)
    found = [_matching(tiers, VOLUME_TIERS, quantity)]
    days = frequency_days(frequency)
    if days is not None:
        found.append(_matching(tiers, FREQUENCY_TIERS, days))
    applicable = [cents for cents in found if cents is not None]
    return min(applicable) if applicable else amount_cents


def flagged(prices: QuerySet[Price]) -> QuerySet[Price]:
    """``prices`` each with ``has_tiers``, in the same query: the tiers of a price without any are not read."""
    return prices.annotate(has_tiers=Exists(PriceTier.objects.filter(price_id=OuterRef("pk"))))


def tiers_of(prices: Iterable[Price]) -> dict[str, list[Tier]]:
    """The tiers of each price (read from ``flagged``), in one query if any has some."""
    ids = [price.pk for price in prices if getattr(price, "has_tiers", True)]
    found: dict[str, list[Tier]] = {}
    if not ids:
        return found
    for price_id, kind, up_to, cents in PriceTier.objects.filter(price_id__in=ids).values_list(
        "price_id", "type", "up_to", "price_amount_cents"
    ):
        found.setdefault(price_id, []).append(Tier(kind, up_to, cents))
    return found


def priced(price: Price, quantity: int, frequency: str | None) -> int:
    """The unit price a line of ``quantity`` at ``frequency`` takes from ``price`` (read from ``flagged``)."""
    return unit_amount_cents(price.amount_cents, tiers_of([price]).get(price.pk, []), quantity, frequency)
