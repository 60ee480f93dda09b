"""The reads of the orders resources' computed relationships: each returns the target rows of a page of
parents in one query, each row annotated with its parent's id (``_parent_id``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import models
from django.db.models import OuterRef, Subquery

from orderfactory.catalog import shipping_rules
from orderfactory.catalog.models import DeliveryLeadTime, ShippingMethod
from orderfactory.orders.models import LineItem, Shipment
from orderfactory.orders.services.goods import load_parts
from orderfactory.orders.services.shipments import ShippingFacts, lines_grams, shipment_serves


def available_payment_methods(target: models.QuerySet, parent_ids: Sequence[str]) -> models.QuerySet:
    return target.filter(disabled_at__isnull=True, market__orders__id__in=parent_ids).annotate(
        _parent_id=models.F("market__orders__id")
    )


def available_customer_payment_sources(target: models.QuerySet, parent_ids: Sequence[str]) -> models.QuerySet:
    return target.filter(customer__orders__id__in=parent_ids).annotate(
        _parent_id=models.F("customer__orders__id")
    )


def no_free_skus(target: models.QuerySet, parent_ids: Sequence[str]) -> models.QuerySet:
    return target.none().annotate(_parent_id=models.Value("", output_field=models.CharField()))


def delivery_lead_time_id() -> Subquery:
    """The delivery lead time of a shipment: its shipping method's from its stock location (the oldest, if
    several). Unscoped: the shipment's stock location and method, both of its tenant, already narrow it (and
    a query with the scope once stays preparable, core.prepared)."""
    return Subquery(
        DeliveryLeadTime.unscoped.filter(
            stock_location_id=OuterRef("stock_location_id"), shipping_method_id=OuterRef("shipping_method_id")
        )
        .order_by("created_at", "id")
        .values("id")[:1]
    )


def _shipments_and_facts(
    parent_ids: Sequence[str], methods_of: Callable[[list[Shipment]], list[ShippingMethod]]
) -> tuple[list[Shipment], list[ShippingMethod], ShippingFacts, dict[str, float]]:
    """The shipments ``parent_ids`` with their orders, the methods ``methods_of`` them, the facts the rules
    read of those methods (zones, tiers, addresses) and, when a method's weight matters (a weight range, a
    weight tier), each shipment's weight in grams: what pricing a method for a shipment needs."""
    shipments = list(Shipment.objects.filter(pk__in=parent_ids).select_related("order"))
    methods = methods_of(shipments)
    facts = ShippingFacts()
    facts.load(methods, [s.order.shipping_address_id for s in shipments])
    grams: dict[str, float] = defaultdict(float)
    if any(m.min_weight is not None or m.max_weight is not None or m.pk in facts.tiers for m in methods):
        lines = list(LineItem.objects.filter(fulfilling_shipment_id__in=parent_ids).select_related("sku"))
        load_parts(lines)  # a bundle line weighs its SKUs' (one query more, only with bundle lines)
        for line in lines:
            assert line.fulfilling_shipment_id is not None
            grams[line.fulfilling_shipment_id] += lines_grams([line])
    return shipments, methods, facts, grams


def _parcel(shipment: Shipment, facts: ShippingFacts, grams: dict[str, float]) -> shipping_rules.Parcel:
    order = shipment.order
    return facts.parcel(order.shipping_address_id, grams[shipment.pk], order.subtotal_amount_cents or 0)


def price_for_shipment(prices: Mapping[str, int]) -> models.Expression:
    """The annotation ``_shipment_price_cents`` of shipping methods read through a shipment: each method's
    price for it (method id -> cents); null for the others, and for a method read on its own."""
    if not prices:
        return models.Value(None, output_field=models.BigIntegerField())
    return models.Case(
        *(models.When(pk=pk, then=models.Value(cents)) for pk, cents in prices.items()),
        default=models.Value(None),
        output_field=models.BigIntegerField(),
    )


def available_shipping_methods(target: models.QuerySet, parent_ids: Sequence[str]) -> models.QuerySet:
    """The shipping methods that may carry each shipment (orders.services.shipments: market, shipping
    category, stock location, then the shipping rules), each with its price for that shipment. A method may
    apply to several shipments of a page: each (shipment, method) pair is one row of a UNION ALL, so the
    include still costs one query for the methods, whatever the number of shipments; the weights, zones,
    tiers and addresses are read only when a method has a rule that needs them."""

    def serving(shipments: list[Shipment]) -> list[ShippingMethod]:
        return [
            m
            for m in ShippingMethod.objects.filter(disabled_at__isnull=True)
            if any(shipment_serves(s.order, s, m) for s in shipments)
        ]

    shipments, methods, facts, grams = _shipments_and_facts(parent_ids, serving)
    parts = []
    for shipment in shipments:
        parcel = _parcel(shipment, facts, grams)
        prices = {
            m.pk: facts.price_cents(m, parcel)
            for m in methods
            if shipment_serves(shipment.order, shipment, m) and facts.refusal(m, parcel) is None
        }
        if prices:
            parts.append(
                target.filter(pk__in=list(prices)).annotate(
                    _parent_id=models.Value(shipment.pk, output_field=models.CharField()),
                    _shipment_price_cents=price_for_shipment(prices),
                )
            )
    if not parts:
        return target.none().annotate(_parent_id=models.Value("", output_field=models.CharField()))
    if len(parts) == 1:
        return parts[0]
    return parts[0].union(*parts[1:], all=True)


def chosen_shipping_methods(target: models.QuerySet, parents: Sequence[Mapping[str, Any]]) -> models.QuerySet:
    """The shipping methods the shipments ``parents`` (rows with their ``id``) chose, each with its price for
    its shipment (a method chosen by several shipments of a page: for the first; a JSON:API document holds
    one object per method)."""

    def chosen(shipments: list[Shipment]) -> list[ShippingMethod]:
        ids = {s.shipping_method_id for s in shipments if s.shipping_method_id}
        return list(ShippingMethod.objects.filter(pk__in=ids)) if ids else []

    shipments, methods, facts, grams = _shipments_and_facts([row["id"] for row in parents], chosen)
    by_id = {m.pk: m for m in methods}
    prices: dict[str, int] = {}
    for shipment in shipments:
        method = by_id.get(shipment.shipping_method_id or "")
        if method is not None and method.pk not in prices:
            prices[method.pk] = facts.price_cents(method, _parcel(shipment, facts, grams))
    return target.annotate(_shipment_price_cents=price_for_shipment(prices))
