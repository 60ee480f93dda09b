"""The shipments resource: built from the line items and the inventory model, each with its shipping method
(orders.services.shipments), fulfilled through its triggers (orders.services.fulfilment)."""

from __future__ import annotations

from django.db import models

from orderfactory.core import scope as scopes
from orderfactory.core.errors import DomainError
from orderfactory.jsonapi import errors, registry
from orderfactory.jsonapi.resource import Array, Datetime, Integer, Payload, Resource, String, ToMany, ToOne
from orderfactory.orders import selectors
from orderfactory.orders.error_codes import OrderErrorCode
from orderfactory.orders.fields import amount, triggers
from orderfactory.orders.models import SHIPMENT_STATUSES, Shipment
from orderfactory.orders.services import fulfilment
from orderfactory.tags.resources import tagged

_WRITABLE = frozenset({"reference", "reference_origin", "metadata"})


def _change_shipment(shipment_id: str, payload: Payload) -> object:
    """A shipment's PATCH: its shipping method, reference and metadata, and its fulfilment triggers."""
    refused = (set(payload.relationships) - {"shipping_method"}) | (set(payload.attributes) - _WRITABLE)
    if refused:
        raise errors.param_not_allowed(sorted(refused)[0])
    staff = [name for name in fulfilment.STAFF_SHIPMENT_TRIGGERS if payload.triggers.get(name)]
    if staff and scopes.current().application_kind == "sales_channel":
        raise errors.param_not_allowed(staff[0], pointer=f"/data/attributes/{staff[0]}")
    unknown = sorted(set(payload.triggers) - fulfilment.SHIPMENT_TRIGGERS)
    if unknown:
        raise DomainError.of(OrderErrorCode.NOT_SUPPORTED, unknown[0], "is not supported by orderfactory")
    return fulfilment.change_shipment(shipment_id, payload.model_fields(ShipmentResource), payload.triggers)


@registry.register
@tagged
class ShipmentResource(Resource):
    type = "shipments"
    model = Shipment
    has_events = True
    # Shipments are built from the line items and the inventory model (docs/compatibility.md): clients choose
    # their shipping method, they do not create or delete them.
    actions = ("list", "retrieve", "update")
    sales_channel_actions = ("list", "retrieve", "update")
    attributes = (
        String("number", "Ffs"),
        String(
            "status",
            "Ffs",
            enum=SHIPMENT_STATUSES,
        ),
        String("currency_code", "F"),
        *amount("cost_amount", "Ffs"),
        Integer("skus_count", "F"),
        String("selected_rate_id", "F"),
        Array("rates", "F"),
        String("purchase_error_code", "F"),
        String("purchase_error_message", "F"),
        Array("get_rates_errors", "F"),
        Datetime("get_rates_started_at", "Ffs"),
        Datetime("get_rates_completed_at", "Ffs"),
        Datetime("purchase_started_at", "Ffs"),
        Datetime("purchase_completed_at", "Ffs"),
        Datetime("purchase_failed_at", "Ffs"),
        Datetime("on_hold_at", "Ffs"),
        Datetime("picking_at", "Ffs"),
        Datetime("packing_at", "Ffs"),
        Datetime("ready_to_ship_at", "Ffs"),
        Datetime("shipped_at", "Ffs"),
        Datetime("delivered_at", "Ffs"),
        *triggers(*fulfilment.STEPS),
    )
    relationships = (
        ToOne("order", "orders", "Cf", required=True),
        ToOne("shipping_category", "shipping_categories", "CUf"),
        ToOne("inventory_stock_location", "inventory_stock_locations", "CUf", required=True),
        ToOne("stock_location", "stock_locations", "f"),
        ToOne("origin_address", "addresses", "f"),
        ToOne("shipping_address", "addresses", "CUf"),
        # Included, the method carries its price for this shipment (price_amount_for_shipment_*).
        ToOne("shipping_method", "shipping_methods", "CUf", annotate=selectors.chosen_shipping_methods),
        ToMany("line_items", "line_items", "", reverse="fulfilling_shipment_id"),
        ToMany(
            "available_shipping_methods",
            "shipping_methods",
            "",
            queryset=selectors.available_shipping_methods,
        ),
        # The lead time of its shipping method from its stock location (the queryset's annotation, selected
        # only when the relationship is linked).
        ToOne("delivery_lead_time", "delivery_lead_times", "", lookup=None),
    )
    scope_only_queryset = True  # the annotation reads no more of the caller
    # The service owns the transaction: the order's row is locked before the shipment's, as in every order
    # use-case.
    changed_by = staticmethod(_change_shipment)

    @classmethod
    def queryset(cls) -> models.QuerySet:
        return super().queryset().annotate(delivery_lead_time_id=selectors.delivery_lead_time_id())
