"""Which shipping methods may carry a shipment and at what price, from the shipment's facts alone (where it
goes, what it weighs, what its order amounts to). Pure: no query, so the orders' shipments, the list of a
shipment's available methods and a copy decide alike (docs/decisions.md, "Shipping rules").

- A method with a shipping zone serves only shipping addresses the zone describes (addresses.matching, the
  rule of tax rules: each expression must find a match, no ``not_`` one may); a shipment without an address
  is in no zone.
- A method with a ``min_weight`` or ``max_weight`` serves only shipments whose weight is in that range, both
  ends included. Weights are compared in the method's ``unit_of_weight`` (grams when it has none); a
  shipment weighs the sum of its lines' SKU weights, each converted from its SKU's unit (grams when none), a
  SKU without a weight weighing nothing.
- A ``weight_tiered`` method is priced by its tier with the lowest ``up_to`` that is at least the weight (a
  tier without ``up_to`` takes any weight, after the others); a shipment that no tier takes cannot use it.
  Other schemes are priced ``price_amount_cents`` (nothing calls an external scheme's URL).
- A method is free when the amount compared reaches ``free_over_amount_cents``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from orderfactory.addresses import matching
from orderfactory.catalog.error_codes import ShippingErrorCode
from orderfactory.core.errors import DomainError

GRAMS_IN = {"gr": 1.0, "oz": 28.349523125, "lb": 453.59237}


class Method(Protocol):
    """The columns of a shipping method (models.ShippingMethod) that the rules read."""

    name: str
    scheme: str
    price_amount_cents: int
    free_over_amount_cents: int | None
    min_weight: float | None
    max_weight: float | None
    unit_of_weight: str | None
    shipping_zone_id: str | None


@dataclass(frozen=True)
class Tier:
    up_to: float | None
    price_amount_cents: int


@dataclass(frozen=True)
class Parcel:
    """What a shipment is, as far as shipping methods are concerned."""

    address: Any | None  # country_code, state_code and zip_code; None: no shipping address
    grams: float
    amount_cents: int  # compared with free_over_amount_cents


def grams(weight: float | None, unit_of_weight: str | None) -> float:
    return (weight or 0.0) * GRAMS_IN[unit_of_weight or "gr"]


def parcel_grams(lines: Iterable[tuple[int, float | None, str | None]]) -> float:
    """The weight of (quantity, SKU weight, SKU unit of weight) lines."""
    return sum(quantity * grams(weight, unit) for quantity, weight, unit in lines)


def weight_in(method: Method, parcel: Parcel) -> float:
    return parcel.grams / GRAMS_IN[method.unit_of_weight or "gr"]


def in_zone(zone: Any, address: Any | None) -> bool:
    if address is None:
        return False
    try:
        return matching.matches(zone, address)
    except matching.RegexTimeout as exc:
        raise DomainError.of(
            ShippingErrorCode.REGEX_TIMEOUT,
            "shipping_zone",
            f"the {exc.column} of the shipping zone {zone.name!r} takes too long to evaluate",
            shipping_zone_id=zone.pk,
        ) from None


def tier_for(tiers: Sequence[Tier], weight: float) -> Tier | None:
    ordered = sorted(tiers, key=lambda t: (t.up_to is None, t.up_to or 0.0))
    return next((t for t in ordered if t.up_to is None or weight <= t.up_to), None)


def refusal(method: Method, zone: Any | None, tiers: Sequence[Tier], parcel: Parcel) -> str | None:
    """Why ``method`` (its ``zone`` and ``tiers`` read) cannot carry ``parcel``, or None when it can."""
    if method.shipping_zone_id is not None and not in_zone(zone, parcel.address):
        return "the shipping address is outside its shipping zone"
    weight = weight_in(method, parcel)
    unit = method.unit_of_weight or "gr"
    if method.min_weight is not None and weight < method.min_weight:
        return f"the shipment weighs {weight:g} {unit}, under its minimum of {method.min_weight:g} {unit}"
    if method.max_weight is not None and weight > method.max_weight:
        return f"the shipment weighs {weight:g} {unit}, over its maximum of {method.max_weight:g} {unit}"
    if method.scheme == "weight_tiered" and tier_for(tiers, weight) is None:
        return f"none of its weight tiers takes {weight:g} {unit}"
    return None


def price_cents(method: Method, tiers: Sequence[Tier], parcel: Parcel) -> int:
    """The price of ``method`` for ``parcel`` (one it can carry)."""
    if method.free_over_amount_cents is not None and parcel.amount_cents >= method.free_over_amount_cents:
        return 0
    if method.scheme == "weight_tiered":
        tier = tier_for(tiers, weight_in(method, parcel))
        return tier.price_amount_cents if tier is not None else method.price_amount_cents
    return method.price_amount_cents
