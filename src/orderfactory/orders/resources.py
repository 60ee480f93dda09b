"""The orders, line_items and shipments resources."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from django.db import models, transaction

from orderfactory.core import clock, hooks, money
from orderfactory.core import scope as scopes
from orderfactory.jsonapi import errors, registry
from orderfactory.jsonapi.resource import (
    Array,
    Attr,
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
from orderfactory.orders import services
from orderfactory.orders.models import (
    FULFILLMENT_STATUSES,
    ORDER_STATUSES,
    PAYMENT_STATUSES,
    SHIPMENT_STATUSES,
    LineItem,
    Order,
    Shipment,
)

if TYPE_CHECKING:
    from orderfactory.catalog.models import PriceList

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


def amount(
    stem: str,
    flags: str = "F",
    *,
    cents: str | Callable[[Row], int] | None = None,
    depends: Sequence[str] = (),
    zero: bool = False,
) -> tuple[Attr, ...]:
    """``<stem>_cents``, ``<stem>_float`` and ``formatted_<stem>`` for an amount stored in a column (default
    ``<stem>_cents``), computed from the row, or always 0 (``zero``: amounts we do not model, such as taxes;
    a constant of the query, so that filters and sorts compare it as they do a column)."""
    if zero:
        cents = _zero
    if cents is None or isinstance(cents, str):
        column = cents or f"{stem}_cents"
        return money.money(f"{stem}_cents", f"{stem}_float", f"formatted_{stem}", flags=flags, column=column)
    fn = cents
    deps = (*depends, "currency_code")
    return (
        Integer(f"{stem}_cents", flags, expression=_ZERO)
        if zero
        else Integer(f"{stem}_cents", flags, compute=fn, depends=deps),
        Float(
            f"{stem}_float",
            "F",
            compute=lambda row: money.to_float(fn(row), row["currency_code"]),
            depends=deps,
        ),
        String(
            f"formatted_{stem}",
            "F",
            compute=lambda row: money.format_amount(fn(row), row["currency_code"]),
            depends=deps,
        ),
    )


_ZERO = models.Value(0, output_field=models.IntegerField())


def _zero(row: Row) -> int:
    return 0


def _triggers(*names: str, kind: type[Attr] = Boolean, flags: str = "U") -> tuple[Attr, ...]:
    return tuple(kind(name, flags, trigger=True) for name in names)


# Triggers we accept and perform; the rest are refused with a 422 that names them (docs/compatibility.md).
ORDER_TRIGGERS_DONE = {
    "_create_subscriptions",
    "_place",
    "_cancel",
    "_approve",
    "_archive",
    "_unarchive",
    "_refresh",
    "_refresh_prices",
    "_update_taxes",
    "_validate",
    "_save_payment_source_to_customer_wallet",
    "_billing_address_clone_id",
    "_shipping_address_clone_id",
    "_shipping_address_same_as_billing",
    "_billing_address_same_as_shipping",
    "_customer_payment_source_id",
    "_nullify_payment_source",
    "_pending",
    "_reset_circuit",
}


def _source_of(row: Row) -> tuple[str, str] | None:
    if row["payment_source_type"] and row["payment_source_id"]:
        return (row["payment_source_type"], row["payment_source_id"])
    return None


def _available_payment_methods(target: models.QuerySet, parent_ids: Sequence[str]) -> models.QuerySet:
    return target.filter(disabled_at__isnull=True, market__orders__id__in=parent_ids).annotate(
        _parent_id=models.F("market__orders__id")
    )


def _available_customer_payment_sources(
    target: models.QuerySet, parent_ids: Sequence[str]
) -> models.QuerySet:
    return target.filter(customer__orders__id__in=parent_ids).annotate(
        _parent_id=models.F("customer__orders__id")
    )


def _no_free_skus(target: models.QuerySet, parent_ids: Sequence[str]) -> models.QuerySet:
    return target.none().annotate(_parent_id=models.Value("", output_field=models.CharField()))


@registry.register
class OrderResource(Resource):
    type = "orders"
    model = Order
    own_transactions = True
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
        Boolean("editable", "F", compute=lambda row: row["status"] in services.EDITABLE, depends=("status",)),
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
            compute=lambda row: row["coupon_code"],
            depends=("coupon_code",),
        ),
        *amount("subtotal_amount", "Ffs"),
        *amount("shipping_amount", "Ffs"),
        *amount("payment_method_amount", "Ffs"),
        *amount("discount_amount", "Ffs"),
        *amount("adjustment_amount", "Ffs"),
        *amount("gift_card_amount", "Ffs"),
        # Taxes are not calculated (no tax calculators are served): prices are taken as tax included.
        *amount("total_tax_amount", "Ffs", zero=True),
        *amount("subtotal_tax_amount", "Ffs", zero=True),
        *amount("shipping_tax_amount", zero=True),
        *amount("payment_method_tax_amount", zero=True),
        *amount("adjustment_tax_amount", zero=True),
        *amount("total_amount", "Ffs"),
        *amount(
            "total_taxable_amount",
            cents=lambda row: row["total_amount_cents"],
            depends=("total_amount_cents",),
        ),
        *amount(
            "subtotal_taxable_amount",
            cents=lambda row: row["subtotal_amount_cents"],
            depends=("subtotal_amount_cents",),
        ),
        *amount(
            "shipping_taxable_amount",
            cents=lambda row: row["shipping_amount_cents"],
            depends=("shipping_amount_cents",),
        ),
        *amount(
            "payment_method_taxable_amount",
            cents=lambda row: row["payment_method_amount_cents"],
            depends=("payment_method_amount_cents",),
        ),
        *amount(
            "adjustment_taxable_amount",
            cents=lambda row: row["adjustment_amount_cents"],
            depends=("adjustment_amount_cents",),
        ),
        Integer("total_amount_with_taxes_cents", "F", column="total_amount_cents"),
        Float(
            "total_amount_with_taxes_float",
            "F",
            compute=lambda row: money.to_float(row["total_amount_cents"], row["currency_code"]),
            depends=("total_amount_cents", "currency_code"),
        ),
        String(
            "formatted_total_amount_with_taxes",
            "F",
            compute=lambda row: money.format_amount(row["total_amount_cents"], row["currency_code"]),
            depends=("total_amount_cents", "currency_code"),
        ),
        *amount("fees_amount", "Ffs", zero=True),
        *amount("duty_amount", "Ffs", zero=True),
        *amount("place_total_amount"),
        Integer("skus_count", "F"),
        Integer("line_item_options_count", "F"),
        Integer("shipments_count", "F"),
        Integer("tax_calculations_count", "F", compute=_zero),
        Integer("validations_count", "F"),
        Integer("errors_count", "F"),
        Object("payment_source_details", "Ff"),
        String("token", "Ff"),
        String("cart_url", "CUF"),
        String("return_url", "CUF"),
        String("terms_url", "CUF"),
        String("privacy_url", "CUF"),
        String("checkout_url", "F"),
        *_triggers(
            "_archive",
            "_unarchive",
            "_pending",
            "_place",
            "_cancel",
            "_approve",
            "_approve_and_capture",
            "_authorize",
        ),
        Integer("_authorization_amount_cents", "U", trigger=True),
        *_triggers(
            "_capture",
            "_refund",
            "_fulfill",
            "_update_taxes",
            "_nullify_payment_source",
            "_fix_payment_source",
        ),
        *_triggers(
            "_billing_address_clone_id",
            "_shipping_address_clone_id",
            "_customer_payment_source_id",
            kind=String,
        ),
        *_triggers(
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
        *_triggers("_reset_circuit"),
        *_triggers("_add_tags", "_remove_tags", kind=String),
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
        ToMany("available_payment_methods", "payment_methods", "", queryset=_available_payment_methods),
        ToMany(
            "available_customer_payment_sources",
            "customer_payment_sources",
            "",
            queryset=_available_customer_payment_sources,
        ),
        ToOne("payment_method", "payment_methods", "CUf"),
        ToOne("payment_source", ("external_payments", "wire_transfers"), "CUf"),
        ToMany("line_items", "line_items", "f", reverse="order_id"),
        ToMany("shipments", "shipments", "f", reverse="order_id"),
        # Free gift promotions are not served, so no SKU is ever a free gift: always empty.
        ToMany("available_free_skus", "skus", "", queryset=_no_free_skus),
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
    )

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        if payload.triggers:
            raise errors.param_not_allowed(next(iter(payload.triggers)))
        columns = payload.model_fields(cls)
        email = columns.pop("customer_email", None)
        source = payload.relationships.get("payment_source")
        columns.pop("payment_source_type", None)
        columns.pop("payment_source_id", None)
        market = payload.relationships.get("market")
        columns.pop("market_id", None)
        order = services.create_order(
            columns, market=market, customer_email=email, default_market_ids=scopes.current().market_ids
        )
        if source is not None:
            services.link_payment_source(order, source)
            order.save(update_fields=["payment_source_type", "payment_source_id"])
        return order

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        """Attribute and relationship changes and the cheap triggers in one transaction; ``_place`` and
        ``_cancel`` then run as their own use-cases (they may call a payment gateway with no lock held)."""
        assert isinstance(instance, Order)
        unknown = set(payload.triggers) - ORDER_TRIGGERS_DONE
        if unknown:
            name = sorted(unknown)[0]
            raise errors.ApiErrors(
                [errors.validation(name, "is not supported by orderfactory", "not_supported")]
            )
        triggers = {k: v for k, v in payload.triggers.items() if v not in (None, False, "")}
        # Placing or cancelling alone needs no first transaction: the use-case locks the order itself.
        try:
            if (
                not payload.attributes
                and not payload.relationships
                and set(triggers) <= {"_place", "_cancel"}
            ):
                order = instance
            else:
                with transaction.atomic():
                    order = services.lock_order(instance.pk)
                    before = services._snapshot(order)
                    cls._apply_changes(order, payload, triggers)
                    if services._snapshot(order) != before:
                        hooks.on_write("update", cls.type, order, before)
            if "_place" in triggers:
                order = services.place(order.pk)
            if "_cancel" in triggers:
                order = services.cancel(order.pk)
            if "_create_subscriptions" in triggers:
                from orderfactory.subscriptions.services import create_from_order

                with transaction.atomic():
                    create_from_order(services.lock_order(order.pk))
        except services.OrderInvalid as exc:
            raise exc.api_errors() from None
        return order

    @classmethod
    def _apply_changes(cls, order: Order, payload: Payload, triggers: dict[str, Any]) -> None:
        columns = payload.model_fields(cls)
        changes = bool(columns) or bool(
            set(triggers)
            - {
                "_place",
                "_cancel",
                "_approve",
                "_archive",
                "_unarchive",
                "_validate",
                "_create_subscriptions",
                "_update_taxes",
                "_reset_circuit",
            }
        )
        if changes:
            services.require_editable(order)
        email_given = "customer_email" in columns
        email = columns.pop("customer_email", None)
        source_given = "payment_source" in payload.relationships
        columns.pop("payment_source_type", None)
        columns.pop("payment_source_id", None)
        if "market_id" in columns and columns["market_id"] != order.market_id and order.line_items.exists():
            raise errors.ApiErrors(
                [
                    errors.validation(
                        "market",
                        "cannot change once the order has line items",
                        "immutable",
                        pointer="/data/relationships/market",
                    )
                ]
            )
        for column, value in columns.items():
            setattr(order, column, value)
        if email_given:
            services.set_customer_email(order, email)
        elif "customer_id" in columns and order.customer_id:
            assert order.customer is not None
            order.customer_email = order.customer.email
        if "market_id" in columns:
            market = order.market
            assert market is not None
            order.currency_code = (
                cast("PriceList", market.price_list).currency_code if market.price_list_id else None
            )
        if "coupon_code" in columns and order.coupon_code:
            from orderfactory.promotions.services import CouponInvalid, check_coupon

            try:
                check_coupon(order.coupon_code, market_id=order.market_id, at=clock.now())
            except CouponInvalid as exc:
                raise errors.ApiErrors(
                    [errors.validation("coupon_code", exc.message, exc.reason.value)]
                ) from None
        if source_given:
            services.link_payment_source(order, payload.relationships["payment_source"])
        if "_shipping_address_same_as_billing" in triggers and order.billing_address_id:
            assert order.billing_address is not None
            order.shipping_address = services.clone_address(order.billing_address)
        if "_billing_address_same_as_shipping" in triggers and order.shipping_address_id:
            assert order.shipping_address is not None
            order.billing_address = services.clone_address(order.shipping_address)
        for trigger, column in (
            ("_billing_address_clone_id", "billing_address"),
            ("_shipping_address_clone_id", "shipping_address"),
        ):
            if trigger in triggers:
                from orderfactory.addresses.models import Address

                address = Address.objects.filter(pk=triggers[trigger]).first()
                if address is None:
                    raise errors.not_found()
                setattr(order, column, services.clone_address(address))
        if "_customer_payment_source_id" in triggers:
            cls._use_wallet_entry(order, triggers["_customer_payment_source_id"])
        if "_nullify_payment_source" in triggers:
            services.link_payment_source(order, None)
        if "_refresh" in triggers or "_refresh_prices" in triggers:
            services.refresh(order)
        elif changes:
            services.recompute(order)
        if "_save_payment_source_to_customer_wallet" in triggers:
            if order.status in ("placed", "approved"):
                services.save_payment_source_to_wallet(order)
            else:
                order.save_payment_source_to_wallet = True
                order.save(update_fields=["save_payment_source_to_wallet"])
        if "_approve" in triggers:
            services.approve(order)
        if "_archive" in triggers or "_unarchive" in triggers:
            services.archive(order, "_archive" in triggers)
            order.save(update_fields=["archived_at"])
            hooks.event("orders.archive" if "_archive" in triggers else "orders.unarchive", "orders", order)
        if "_pending" in triggers and order.status == "draft" and order.line_items.exists():
            order.status = "pending"
            order.save(update_fields=["status"])
        if "_validate" in triggers:
            services.validate(order)

    @classmethod
    def _use_wallet_entry(cls, order: Order, entry_id: str) -> None:
        from orderfactory.customers.models import CustomerPaymentSource
        from orderfactory.customers.services import payment_source_of
        from orderfactory.payments.services import clone_payment_source

        entry = CustomerPaymentSource.objects.filter(pk=entry_id, customer_id=order.customer_id).first()
        source = payment_source_of(entry) if entry is not None else None
        if source is None:
            raise errors.ApiErrors(
                [errors.validation("_customer_payment_source_id", "is invalid", "invalid")]
            )
        copy = clone_payment_source(source)
        services.link_payment_source(order, copy)
        if entry.payment_method_id:
            order.payment_method_id = entry.payment_method_id

    @classmethod
    def delete(cls, instance: models.Model) -> None:
        assert isinstance(instance, Order)
        services.delete_order(instance)


@registry.register
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
        *amount("tax_amount", "Ffs", zero=True),
        String("name", "CUFfs"),
        String("image_url", "CUFf"),
        Object("discount_breakdown", "F"),
        Float("tax_rate", "F", compute=lambda row: 0.0),
        Object("tax_breakdown", "F", compute=lambda row: {}),
        String("item_type", "CFfs", enum=ITEM_TYPES),
        String("frequency", "CUF"),
        String("coupon_code", "F"),
        Object("rule_outcomes", "F", compute=lambda row: None),
        String("circuit_state", "Ffs"),
        Integer("circuit_failure_count", "Ffs"),
        *_triggers("_reset_circuit"),
        *_triggers("_add_tags", "_remove_tags", kind=String),
    )
    relationships = (
        ToOne("order", "orders", "Cf", required=True),
        ToOne(
            "item",
            ("skus", "shipments", "payment_methods", "percentage_discount_promotions"),
            "C",
            column="item_id",
            type_column="item_type",
        ),
        ToOne("sku", "skus", "f"),
        ToOne("shipment", "shipments", "f"),
        ToOne("payment_method", "payment_methods", "f"),
    )

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        order: Order = payload.relationships["order"]
        order = services.lock_order(order.pk)
        attrs = payload.attributes
        item = payload.relationships.get("item")
        item_type = attrs.get("item_type") or ("skus" if item is None else None)
        from orderfactory.catalog.models import Sku

        if item is not None and not isinstance(item, Sku):
            raise errors.ApiErrors(
                [
                    errors.validation(
                        "item",
                        "only SKUs can be added by hand",
                        "invalid",
                        pointer="/data/relationships/item",
                    )
                ]
            )
        if item_type not in (None, "skus"):
            raise errors.ApiErrors(
                [errors.validation("item_type", "only skus line items can be added by hand", "invalid")]
            )
        if "unit_amount_cents" in attrs and scopes.current().application_kind == "sales_channel":
            raise errors.param_not_allowed("unit_amount_cents", pointer="/data/attributes/unit_amount_cents")
        try:
            return services.add_sku_line_item(
                order,
                sku=item,
                sku_code=attrs.get("sku_code"),
                quantity=attrs.get("quantity"),
                unit_amount_cents=attrs.get("unit_amount_cents"),
                name=attrs.get("name"),
                image_url=attrs.get("image_url"),
                frequency=attrs.get("frequency"),
                extra={
                    k: attrs[k]
                    for k in (
                        "bundle_code",
                        "compare_at_amount_cents",
                        "reference",
                        "reference_origin",
                        "metadata",
                    )
                    if k in attrs
                },
                merge=bool(payload.triggers.get("_update_quantity")),
            )
        except services.OrderInvalid as exc:
            raise exc.api_errors() from None

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, LineItem)
        if any(k in payload.attributes for k in ("sku_code", "item_type")):
            raise errors.param_not_allowed("sku_code")
        if "unit_amount_cents" in payload.attributes and scopes.current().application_kind == "sales_channel":
            raise errors.param_not_allowed("unit_amount_cents", pointer="/data/attributes/unit_amount_cents")
        instance.order = services.lock_order(instance.order_id)
        try:
            return services.update_line_item(instance, payload.model_fields(cls))
        except services.OrderInvalid as exc:
            raise exc.api_errors() from None

    @classmethod
    def delete(cls, instance: models.Model) -> None:
        assert isinstance(instance, LineItem)
        instance.order = services.lock_order(instance.order_id)
        try:
            services.delete_line_item(instance)
        except services.OrderInvalid as exc:
            raise exc.api_errors() from None


def _available_shipping_methods(target: models.QuerySet, parent_ids: Sequence[str]) -> models.QuerySet:
    """The shipping methods that apply to each shipment (services.shipping_method_applies). A method may
    apply to several shipments of a page: each (shipment, method) pair is one row of a UNION ALL, so the
    include still costs one query for the methods, whatever the number of shipments."""
    shipments = list(Shipment.objects.filter(pk__in=parent_ids).select_related("order"))
    methods = list(
        target.filter(disabled_at__isnull=True).values_list(
            "pk", "market_id", "shipping_category_id", "stock_location_id"
        )
    )
    parts = []
    for shipment in shipments:
        ids = [
            pk
            for pk, *columns in methods
            if services.shipping_method_applies(shipment.order.market_id, shipment, *columns)
        ]
        if ids:
            parts.append(
                target.filter(pk__in=ids).annotate(
                    _parent_id=models.Value(shipment.pk, output_field=models.CharField())
                )
            )
    if not parts:
        return target.none().annotate(_parent_id=models.Value("", output_field=models.CharField()))
    if len(parts) == 1:
        return parts[0]
    return parts[0].union(*parts[1:], all=True)


@registry.register
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
        ToOne("shipping_method", "shipping_methods", "CUf"),
        ToMany("line_items", "line_items", "", reverse="fulfilling_shipment_id"),
        ToMany("available_shipping_methods", "shipping_methods", "", queryset=_available_shipping_methods),
    )

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, Shipment)
        order = services.lock_order(instance.order_id)
        try:
            services.require_editable(order)
        except services.OrderInvalid as exc:
            raise exc.api_errors() from None
        if set(payload.relationships) - {"shipping_method"} or set(payload.attributes) - {
            "reference",
            "reference_origin",
            "metadata",
        }:
            name = sorted(
                (set(payload.relationships) - {"shipping_method"})
                | (set(payload.attributes) - {"reference", "reference_origin", "metadata"})
            )[0]
            raise errors.param_not_allowed(name)
        method = payload.relationships.get("shipping_method")
        if method is not None and method.pk not in {
            m.pk for m in services.available_shipping_methods(order, instance)
        }:
            raise errors.ApiErrors(
                [
                    errors.validation(
                        "shipping_method",
                        "is not available for this shipment",
                        "invalid",
                        pointer="/data/relationships/shipping_method",
                    )
                ]
            )
        for column, value in payload.model_fields(cls).items():
            setattr(instance, column, value)
        instance.save()
        services.recompute(order)
        return instance
