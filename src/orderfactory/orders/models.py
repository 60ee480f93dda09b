"""Orders, their line items and shipments.

Commerce Layer's order carries ~150 attributes; every one we serve is a real column or computed from
columns. Amounts are integer cents; ``*_float`` and ``formatted_*`` are computed when rendered.
"""

from __future__ import annotations

from django.db import models

from orderfactory.core.models import TenantModel, tenant_index

ORDER_STATUSES = ("draft", "pending", "editing", "placing", "placed", "approved", "cancelled")
PAYMENT_STATUSES = (
    "unpaid",
    "authorized",
    "partially_authorized",
    "paid",
    "partially_paid",
    "voided",
    "partially_voided",
    "refunded",
    "partially_refunded",
    "free",
)
FULFILLMENT_STATUSES = ("unfulfilled", "in_progress", "fulfilled", "not_required")
SHIPMENT_STATUSES = (
    "draft",
    "upcoming",
    "cancelled",
    "on_hold",
    "picking",
    "packing",
    "ready_to_ship",
    "shipped",
    "delivered",
)


def _text() -> models.CharField:
    return models.CharField(max_length=255, null=True, blank=True)


def _cents() -> models.BigIntegerField:
    return models.BigIntegerField(default=0)


class Order(TenantModel):
    number = _text()
    affiliate_code = _text()
    autorefresh = models.BooleanField(default=True)
    place_async = models.BooleanField(default=False)
    status = models.CharField(max_length=16, default="draft")
    payment_status = models.CharField(max_length=24, default="unpaid")
    fulfillment_status = models.CharField(max_length=16, default="unfulfilled")
    guest = models.BooleanField(default=False)
    customer_email = _text()
    customer_type = _text()
    language_code = models.CharField(max_length=8, default="en")
    currency_code = models.CharField(max_length=3, null=True, blank=True)
    tax_included = models.BooleanField(default=True)
    tax_rate = models.FloatField(null=True, blank=True)
    freight_taxable = models.BooleanField(null=True, blank=True)
    payment_method_taxable = models.BooleanField(null=True, blank=True)
    adjustment_taxable = models.BooleanField(null=True, blank=True)
    gift_card_taxable = models.BooleanField(null=True, blank=True)
    country_code = models.CharField(max_length=2, null=True, blank=True)
    shipping_country_code_lock = models.CharField(max_length=2, null=True, blank=True)
    coupon_code = _text()
    gift_card_code = _text()

    subtotal_amount_cents = _cents()
    shipping_amount_cents = _cents()
    payment_method_amount_cents = _cents()
    discount_amount_cents = _cents()
    adjustment_amount_cents = _cents()
    gift_card_amount_cents = _cents()
    total_amount_cents = _cents()
    # Taxes (orders.services.taxing, from taxes.calculation): each a sum of the lines' rounded taxes.
    total_tax_amount_cents = _cents()
    subtotal_tax_amount_cents = _cents()
    shipping_tax_amount_cents = _cents()
    payment_method_tax_amount_cents = _cents()
    adjustment_tax_amount_cents = _cents()
    total_taxable_amount_cents = _cents()
    subtotal_taxable_amount_cents = _cents()
    shipping_taxable_amount_cents = _cents()
    payment_method_taxable_amount_cents = _cents()
    adjustment_taxable_amount_cents = _cents()
    tax_calculations_count = models.IntegerField(default=0)
    # The tax calculator whose taxes the order carries, as of its last pricing; null: none (no calculator, or
    # an external one not called since). Placing requires it to be the market's calculator.
    taxes_calculator_id = models.CharField(max_length=10, null=True, blank=True)
    place_total_amount_cents = models.BigIntegerField(null=True, blank=True)
    skus_count = models.IntegerField(default=0)
    line_item_options_count = models.IntegerField(default=0)
    shipments_count = models.IntegerField(default=0)
    validations_count = models.IntegerField(default=0)
    errors_count = models.IntegerField(default=0)
    payment_source_details = models.JSONField(null=True, blank=True)
    token = models.CharField(max_length=64, null=True, blank=True)
    cart_url = models.CharField(max_length=2048, null=True, blank=True)
    return_url = models.CharField(max_length=2048, null=True, blank=True)
    terms_url = models.CharField(max_length=2048, null=True, blank=True)
    privacy_url = models.CharField(max_length=2048, null=True, blank=True)
    checkout_url = models.CharField(max_length=2048, null=True, blank=True)

    placed_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    payment_updated_at = models.DateTimeField(null=True, blank=True)
    fulfillment_updated_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    subscription_created_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    expiration_info = models.JSONField(null=True, blank=True)
    circuit_state = models.CharField(max_length=16, default="closed")
    circuit_failure_count = models.IntegerField(default=0)
    # Set by _save_payment_source_to_customer_wallet before placing: the source is saved when the order is placed.
    save_payment_source_to_wallet = models.BooleanField(default=False)

    market = models.ForeignKey(
        "catalog.Market", null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    shipping_address = models.ForeignKey(
        "addresses.Address", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    billing_address = models.ForeignKey(
        "addresses.Address", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payment_method = models.ForeignKey(
        "payments.PaymentMethod", null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    # Polymorphic (wire_transfers | external_payments): the JSON:API type and the id.
    payment_source_type = models.CharField(max_length=32, null=True, blank=True)
    payment_source_id = models.CharField(max_length=10, null=True, blank=True)
    store_id = models.CharField(max_length=10, null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "mode", "number"],
                name="order_number_uniq",
                condition=models.Q(number__isnull=False),
            )
        ]
        indexes = [
            tenant_index("order_tenant", "created_at"),
            tenant_index("order_tenant_status", "status", "created_at"),
        ]

    @property
    def editable(self) -> bool:
        return self.status in ("draft", "pending", "editing")

    @property
    def total_amount_with_taxes_cents(self) -> int:
        """What the customer pays, so what is authorized: the total, plus the tax when prices exclude it
        (as the served ``total_amount_with_taxes``)."""
        return self.total_amount_cents + (0 if self.tax_included else self.total_tax_amount_cents or 0)


class Shipment(TenantModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    number = _text()
    status = models.CharField(max_length=16, default="draft")
    currency_code = models.CharField(max_length=3, null=True, blank=True)
    cost_amount_cents = _cents()
    skus_count = models.IntegerField(default=0)
    selected_rate_id = _text()
    rates = models.JSONField(null=True, blank=True)
    purchase_error_code = _text()
    purchase_error_message = _text()
    get_rates_errors = models.JSONField(null=True, blank=True)
    get_rates_started_at = models.DateTimeField(null=True, blank=True)
    get_rates_completed_at = models.DateTimeField(null=True, blank=True)
    purchase_started_at = models.DateTimeField(null=True, blank=True)
    purchase_completed_at = models.DateTimeField(null=True, blank=True)
    purchase_failed_at = models.DateTimeField(null=True, blank=True)
    on_hold_at = models.DateTimeField(null=True, blank=True)
    picking_at = models.DateTimeField(null=True, blank=True)
    packing_at = models.DateTimeField(null=True, blank=True)
    ready_to_ship_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    shipping_category = models.ForeignKey(
        "catalog.ShippingCategory", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    inventory_stock_location = models.ForeignKey(
        "inventory.InventoryStockLocation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stock_location = models.ForeignKey(
        "inventory.StockLocation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    origin_address = models.ForeignKey(
        "addresses.Address", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shipping_address = models.ForeignKey(
        "addresses.Address", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shipping_method = models.ForeignKey(
        "catalog.ShippingMethod", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("shipment_tenant", "created_at")]


class LineItem(TenantModel):
    # Found through line_item_order_type, which leads with it.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="line_items", db_index=False)
    sku_code = _text()
    bundle_code = _text()
    quantity = models.IntegerField(default=1)
    currency_code = models.CharField(max_length=3, null=True, blank=True)
    unit_amount_cents = models.BigIntegerField(null=True, blank=True)
    compare_at_amount_cents = models.BigIntegerField(null=True, blank=True)
    options_amount_cents = _cents()
    discount_cents = _cents()
    total_amount_cents = _cents()
    tax_amount_cents = _cents()
    tax_rate = models.FloatField(default=0)
    tax_breakdown = models.JSONField(default=dict)
    name = _text()
    image_url = models.CharField(max_length=2048, null=True, blank=True)
    discount_breakdown = models.JSONField(null=True, blank=True)
    item_type = models.CharField(max_length=40, default="skus")
    item_id = models.CharField(max_length=10, null=True, blank=True)
    frequency = _text()
    coupon_code = _text()
    circuit_state = models.CharField(max_length=16, default="closed")
    circuit_failure_count = models.IntegerField(default=0)
    sku = models.ForeignKey(
        "catalog.Sku", null=True, blank=True, on_delete=models.PROTECT, related_name="line_items"
    )
    # For item_type "shipments": the shipment this line prices. For "payment_methods": the method.
    shipment = models.ForeignKey(Shipment, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    payment_method = models.ForeignKey(
        "payments.PaymentMethod", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # For item_type "bundles": the bundle (the line keeps its code, name and amount if it is deleted).
    bundle = models.ForeignKey(
        "catalog.Bundle", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # For item_type "adjustments": the adjustment (the line keeps its name and amount if it is deleted).
    adjustment = models.ForeignKey(
        "adjustments.Adjustment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # For item_type "gift_cards": the gift card the order sells.
    gift_card = models.ForeignKey(
        "giftcards.GiftCard", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # For SKU lines: the shipment that carries them (served as shipments.line_items).
    fulfilling_shipment = models.ForeignKey(
        Shipment, null=True, blank=True, on_delete=models.SET_NULL, related_name="line_items"
    )

    class Meta(TenantModel.Meta):
        indexes = [
            tenant_index("line_item_tenant", "created_at"),
            models.Index(fields=["order", "item_type"], name="line_item_order_type"),
        ]


class LineItemOption(TenantModel):
    """An option (a catalog.SkuOption) a SKU line takes, ``quantity`` times, at its price then (frozen, as the
    line's); the line's ``options_amount_cents`` is the sum of its options' totals."""

    # Deleted with their line by the services that delete lines with options (lines.delete_line_item,
    # transitions.delete_order): a cascade would cost every deletion of derived lines (pricing.recompute) a
    # query of its own.
    line_item = models.ForeignKey(LineItem, on_delete=models.DO_NOTHING, related_name="line_item_options")
    sku_option = models.ForeignKey("catalog.SkuOption", on_delete=models.PROTECT, related_name="+")
    name = _text()
    quantity = models.IntegerField(default=1)
    currency_code = models.CharField(max_length=3, null=True, blank=True)
    unit_amount_cents = _cents()
    total_amount_cents = _cents()
    delay_hours = models.IntegerField(default=0)
    delay_days = models.IntegerField(default=0)
    options = models.JSONField(default=dict)

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("line_item_option_tenant", "created_at")]


class StockAllocation(TenantModel):
    """Stock taken from one stock item for one line item when its order was placed; given back on cancel."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="stock_allocations")
    line_item = models.ForeignKey(LineItem, on_delete=models.CASCADE, related_name="+")
    stock_item = models.ForeignKey("inventory.StockItem", on_delete=models.PROTECT, related_name="+")
    quantity = models.IntegerField()
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("stock_allocation_tenant", "created_at")]


class OrderNumberSequence(models.Model):
    """The last order number given in one organization and mode (numbers are given when orders are placed)."""

    organization = models.ForeignKey("oauth.Organization", on_delete=models.CASCADE, related_name="+")
    mode = models.CharField(max_length=4)
    last_value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "mode"], name="order_number_seq_uniq")]
