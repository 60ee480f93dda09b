"""The shipments resource: built from the line items and the inventory model, each with its shipping method
(orders.services.shipments)."""

from __future__ import annotations

from django.db import models

from orderfactory.jsonapi import errors, registry
from orderfactory.jsonapi.resource import Array, Datetime, Integer, Payload, Resource, String, ToMany, ToOne
from orderfactory.orders import selectors
from orderfactory.orders.fields import amount
from orderfactory.orders.models import SHIPMENT_STATUSES, Shipment
from orderfactory.orders.services import editing
from orderfactory.tags.resources import tagged


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

    @classmethod
    def queryset(cls) -> models.QuerySet:
        return super().queryset().annotate(delivery_lead_time_id=selectors.delivery_lead_time_id())

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, Shipment)
        refused = (set(payload.relationships) - {"shipping_method"}) | (
            set(payload.attributes) - {"reference", "reference_origin", "metadata"}
        )
        if refused:
            raise errors.param_not_allowed(sorted(refused)[0])
        return editing.change_shipment(instance, payload.model_fields(cls))
