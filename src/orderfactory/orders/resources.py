"""The orders and line_items resources (shipments: orders.shipment_resources)."""

from __future__ import annotations

from typing import Any

from django.db import models

from orderfactory.adjustments.models import Adjustment
from orderfactory.core import money
from orderfactory.core import scope as scopes
from orderfactory.jsonapi import errors, registry
from orderfactory.jsonapi.resource import (
    Boolean,
    Datetime,
    Float,
    Integer,
    Object,
    Payload,
    Resource,
    String,
    ToMany,
    ToOne,
)
from orderfactory.orders import selectors
from orderfactory.orders.fields import amount, order_changes, transaction_relationships, triggers
from orderfactory.orders.models import (
    FULFILLMENT_STATUSES,
    ORDER_STATUSES,
    PAYMENT_STATUSES,
    LineItem,
    Order,
)
from orderfactory.orders.services import building, editing, transitions
from orderfactory.orders.services.rules import EDITABLE, ITEM_TARGETS
from orderfactory.tags.resources import tagged

Row = dict[str, Any]

PAYMENT_SOURCE_TYPES = (
    "adyen_payments",
    "axerve_payments",
    "braintree_payments",
    "checkout_com_payments",
    "external_payments",
    "klarna_payments",
    "paypal_payments",
    "satispay_payments",
    "stripe_payments",
    "wire_transfers",
)
ITEM_TYPES = (
    "skus",
    "bundles",
    "gift_cards",
    "shipments",
    "payment_methods",
    "adjustments",
    "discount_engine_items",
    "percentage_discount_promotions",
    "free_shipping_promotions",
    "buy_x_pay_y_promotions",
    "free_gift_promotions",
    "fixed_price_promotions",
    "external_promotions",
    "fixed_amount_promotions",
    "flex_promotions",
)


# Columns a line item added by hand takes as given.
LINE_ITEM_EXTRA = ("bundle_code", "compare_at_amount_cents", "reference", "reference_origin", "metadata")


def _change_order(order_id: str, payload: Payload) -> Order:
    """An order's PATCH: its attributes, payment source and triggers, as one call of editing.change_order."""
    return editing.change_order(order_id, order_changes(payload, OrderResource), payload.triggers)


@registry.register
@tagged
class OrderResource(Resource):
    type = "orders"
    model = Order
    has_events = True
    sales_channel_actions = ("list", "retrieve", "create", "update")
    attributes = (
        String("number", "CUFfs"),
        String("affiliate_code", "CUFfs"),
        Boolean("autorefresh", "CUF", nullable=False),
        Boolean("place_async", "CUFfs", nullable=False),
        String(
            "status",
            "Ffs",
            enum=ORDER_STATUSES,
        ),
        String(
            "payment_status",
            "Ffs",
            enum=PAYMENT_STATUSES,
        ),
        String("fulfillment_status", "Ffs", enum=FULFILLMENT_STATUSES),
        Boolean("guest", "CUFfs", nullable=False),
        Boolean("editable", "F", compute=lambda row: row["status"] in EDITABLE, depends=("status",)),
        String("customer_email", "CUFf"),
        String("customer_password", "CU", compute=lambda row: None),
        String("customer_type", "F", enum=("new", "returning"), compute=lambda row: None),
        String("language_code", "CUFfs", nullable=False),
        String("currency_code", "Ffs"),
        Boolean("tax_included", "Ffs"),
        Float("tax_rate", "Ffs"),
        Boolean("freight_taxable", "CUF"),
        Boolean("payment_method_taxable", "CUF"),
        Boolean("adjustment_taxable", "CUF"),
        Boolean("gift_card_taxable", "CUF"),
        Boolean("requires_billing_info", "F", compute=lambda row: False),
        String("country_code", "Ffs"),
        String("shipping_country_code_lock", "CUF"),
        String("coupon_code", "CUFfs"),
        String("gift_card_code", "CUFfs"),
        String(
            "gift_card_or_coupon_code",
            "CUF",
            compute=lambda row: row["gift_card_code"] or row["coupon_code"],
            depends=("gift_card_code", "coupon_code"),
        ),
        *amount("subtotal_amount", "Ffs"),
        *amount("shipping_amount", "Ffs"),
        *amount("payment_method_amount", "Ffs"),
        *amount("discount_amount", "Ffs"),
        *amount("adjustment_amount", "Ffs"),
        *amount("gift_card_amount", "Ffs"),
        # Taxes: stored by orders.services.taxing from the market's tax calculator.
        *amount("total_tax_amount", "Ffs"),
        *amount("subtotal_tax_amount", "Ffs"),
        *amount("shipping_tax_amount"),
        *amount("payment_method_tax_amount"),
        *amount("adjustment_tax_amount"),
        *amount("total_amount", "Ffs"),
        *amount("total_taxable_amount"),
        *amount("subtotal_taxable_amount"),
        *amount("shipping_taxable_amount"),
        *amount("payment_method_taxable_amount"),
        *amount("adjustment_taxable_amount"),
        *amount(
            "total_amount_with_taxes",
            cents=lambda row: (
                row["total_amount_cents"] + (0 if row["tax_included"] else row["total_tax_amount_cents"])
            ),
            depends=("total_amount_cents", "total_tax_amount_cents", "tax_included"),
        ),
        *amount("fees_amount", "Ffs", zero=True),
        *amount("duty_amount", "Ffs", zero=True),
        *amount("place_total_amount"),
        Integer("skus_count", "F"),
        Integer("line_item_options_count", "F"),
        Integer("shipments_count", "F"),
        Integer("tax_calculations_count", "F"),
        Integer("validations_count", "F"),
        Integer("errors_count", "F"),
        Object("payment_source_details", "Ff"),
        String("token", "Ff"),
        String("cart_url", "CUF"),
        String("return_url", "CUF"),
        String("terms_url", "CUF"),
        String("privacy_url", "CUF"),
        String("checkout_url", "F"),
        *triggers(
            "_archive",
            "_unarchive",
            "_pending",
            "_place",
            "_cancel",
            "_approve",
            "_approve_and_capture",
            "_authorize",
        ),
        *triggers("_authorization_amount_cents", "_refund_amount_cents", kind=Integer),
        *triggers(
            "_capture",
            "_refund",
            "_fulfill",
            "_update_taxes",
            "_nullify_payment_source",
            "_fix_payment_source",
        ),
        *triggers(
            "_billing_address_clone_id",
            "_shipping_address_clone_id",
            "_customer_payment_source_id",
            kind=String,
        ),
        *triggers(
            "_shipping_address_same_as_billing",
            "_billing_address_same_as_shipping",
            "_commit_invoice",
            "_refund_invoice",
            "_save_payment_source_to_customer_wallet",
            "_save_shipping_address_to_customer_address_book",
            "_save_billing_address_to_customer_address_book",
            "_refresh",
            "_refresh_prices",
            "_validate",
            "_create_subscriptions",
            "_start_editing",
            "_stop_editing",
        ),
        Datetime("placed_at", "Ffs"),
        Datetime("approved_at", "Ffs"),
        Datetime("cancelled_at", "Ffs"),
        Datetime("payment_updated_at", "Ffs"),
        Datetime("fulfillment_updated_at", "Ffs"),
        Datetime("refreshed_at", "Ffs"),
        Datetime("archived_at", "Ffs"),
        Datetime("subscription_created_at", "Ffs"),
        Datetime("expires_at", "CUFfs"),
        Object("expiration_info", "CUF"),
        String("circuit_state", "Ffs"),
        Integer("circuit_failure_count", "Ffs"),
        *triggers("_reset_circuit"),
    )
    relationships = (
        ToOne("market", "markets", "CUf"),
        ToOne("customer", "customers", "CUf"),
        ToOne("shipping_address", "addresses", "CUf"),
        ToOne("billing_address", "addresses", "CUf"),
        ToOne(
            "default_shipping_method",
            "shipping_methods",
            "",
            resolve=lambda row: (
                ("shipping_methods", row["market__default_shipping_method_id"])
                if row["market__default_shipping_method_id"]
                else None
            ),
            depends=("market__default_shipping_method_id",),
        ),
        ToOne(
            "default_payment_method",
            "payment_methods",
            "",
            resolve=lambda row: (
                ("payment_methods", row["market__default_payment_method_id"])
                if row["market__default_payment_method_id"]
                else None
            ),
            depends=("market__default_payment_method_id",),
        ),
        ToMany(
            "available_payment_methods", "payment_methods", "", queryset=selectors.available_payment_methods
        ),
        ToMany(
            "available_customer_payment_sources",
            "customer_payment_sources",
            "",
            queryset=selectors.available_customer_payment_sources,
        ),
        ToOne("payment_method", "payment_methods", "CUf"),
        ToOne("payment_source", ("external_payments", "wire_transfers"), "CUf"),
        ToMany("line_items", "line_items", "f", reverse="order_id"),
        ToMany(
            "line_item_options",
            "line_item_options",
            "f",
            queryset=lambda target, parent_ids: target.filter(line_item__order_id__in=parent_ids).annotate(
                _parent_id=models.F("line_item__order_id")
            ),
            lookup="line_items__line_item_options",
        ),
        ToMany("shipments", "shipments", "f", reverse="order_id"),
        # Free gift promotions are not served, so no SKU is ever a free gift: always empty.
        ToMany("available_free_skus", "skus", "", queryset=selectors.no_free_skus),
        ToMany("available_free_bundles", "bundles", "", queryset=selectors.no_free_skus),
        # The subscription that produced this order (a target order), through the factory that built it.
        ToOne(
            "order_subscription",
            "order_subscriptions",
            "f",
            lookup="order_factory__order_subscription",
            resolve=lambda row: (
                ("order_subscriptions", row["order_factory__order_subscription_id"])
                if row["order_factory__order_subscription_id"]
                else None
            ),
            depends=("order_factory__order_subscription_id",),
        ),
        ToMany("order_subscriptions", "order_subscriptions", "f", reverse="source_order_id"),
        ToMany("order_factories", "order_factories", "", reverse="source_order_id"),
        ToMany("order_copies", "order_copies", "f", reverse="source_order_id"),
        ToMany("recurring_order_copies", "recurring_order_copies", "f", reverse="source_order_id"),
        *transaction_relationships(),
    )

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        if payload.triggers:
            raise errors.param_not_allowed(next(iter(payload.triggers)))
        columns = payload.model_fields(cls)
        for column in ("market_id", "payment_source_type", "payment_source_id"):
            columns.pop(column, None)
        email = columns.pop("customer_email", None)
        order = building.create_order(
            columns,
            market=payload.relationships.get("market"),
            customer_email=email,
            default_market_ids=scopes.current().market_ids,
        )
        source = payload.relationships.get("payment_source")
        if source is not None:
            building.link_payment_source(order, source)
            order.save(update_fields=["payment_source_type", "payment_source_id"])
        return order

    # PATCH is change_order, which owns its transactions (placing calls a gateway with no lock held).
    changed_by = staticmethod(_change_order)

    @classmethod
    def delete(cls, instance: models.Model) -> None:
        assert isinstance(instance, Order)
        transitions.delete_order(instance)


@registry.register
@tagged
class LineItemResource(Resource):
    type = "line_items"
    model = LineItem
    has_events = True
    sales_channel_actions = ("list", "retrieve", "create", "update", "delete")
    attributes = (
        String("sku_code", "CUFf"),
        String("bundle_code", "CUF"),
        Integer("quantity", "CUFf", required=True),
        Boolean("_external_price", "CUF", trigger=True),
        Boolean("_update_quantity", "C", trigger=True),
        Boolean("_reserve_stock", "CU", trigger=True),
        Boolean("_reset_restocked_quantity", "CU", trigger=True),
        String("currency_code", "Ffs"),
        *amount("unit_amount", "CUFfs"),
        *amount("compare_at_amount", "CUFfs"),
        *amount("options_amount", "UFfs"),
        Integer("discount_cents", "Ffs"),
        Float(
            "discount_float",
            "F",
            compute=lambda row: money.to_float(row["discount_cents"], row["currency_code"]),
            depends=("discount_cents", "currency_code"),
        ),
        String(
            "formatted_discount",
            "F",
            compute=lambda row: money.format_amount(row["discount_cents"], row["currency_code"]),
            depends=("discount_cents", "currency_code"),
        ),
        *amount("total_amount", "Ffs"),
        *amount("tax_amount", "Ffs"),
        String("name", "CUFfs"),
        String("image_url", "CUFf"),
        Object("discount_breakdown", "F"),
        Float("tax_rate", "F"),
        Object("tax_breakdown", "F"),
        String("item_type", "CFfs", enum=ITEM_TYPES),
        String("frequency", "CUF"),
        String("coupon_code", "F"),
        Object("rule_outcomes", "F", compute=lambda row: None),
        String("circuit_state", "Ffs"),
        Integer("circuit_failure_count", "Ffs"),
        *triggers("_reset_circuit"),
    )
    relationships = (
        ToOne("order", "orders", "Cf", required=True),
        ToOne("item", ITEM_TARGETS, "C", column="item_id", type_column="item_type"),
        ToOne("sku", "skus", "f"),
        ToOne("bundle", "bundles", "f"),
        ToOne("adjustment", "adjustments", "f"),
        ToOne("gift_card", "gift_cards", "f"),
        ToOne("shipment", "shipments", "f"),
        ToOne("payment_method", "payment_methods", "f"),
        ToMany("line_item_options", "line_item_options", "f", reverse="line_item_id"),
    )

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        attrs = payload.attributes
        sales_channel = scopes.current().application_kind == "sales_channel"
        if sales_channel and "unit_amount_cents" in attrs:
            raise errors.param_not_allowed("unit_amount_cents", pointer="/data/attributes/unit_amount_cents")
        if sales_channel and isinstance(payload.relationships.get("item"), Adjustment):  # as a price
            raise errors.param_not_allowed("item", pointer="/data/relationships/item")
        return editing.add_line_item(
            payload.relationships["order"].pk,
            item=payload.relationships.get("item"),
            item_type=attrs.get("item_type"),
            sku_code=attrs.get("sku_code"),
            quantity=attrs.get("quantity"),
            unit_amount_cents=attrs.get("unit_amount_cents"),
            name=attrs.get("name"),
            image_url=attrs.get("image_url"),
            frequency=attrs.get("frequency"),
            extra={k: attrs[k] for k in LINE_ITEM_EXTRA if k in attrs},
            merge=bool(payload.triggers.get("_update_quantity")),
        )

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, LineItem)
        # A line's item is fixed: another SKU or bundle is another line.
        for name in ("sku_code", "bundle_code", "item_type"):
            if name in payload.attributes:
                raise errors.param_not_allowed(name if name != "item_type" else "sku_code")
        if "unit_amount_cents" in payload.attributes and scopes.current().application_kind == "sales_channel":
            raise errors.param_not_allowed("unit_amount_cents", pointer="/data/attributes/unit_amount_cents")
        return editing.change_line_item(instance, payload.model_fields(cls))

    @classmethod
    def delete(cls, instance: models.Model) -> None:
        assert isinstance(instance, LineItem)
        editing.remove_line_item(instance)
