"""Merchants, price lists, shipping categories, markets, SKUs, prices, shipping methods and what they depend
on: shipping zones, weight tiers and delivery lead times."""

from __future__ import annotations

from django.db import models

from orderfactory.core.models import TenantModel, tenant_index

UNITS_OF_WEIGHT = ("gr", "oz", "lb")
SHIPPING_SCHEMES = ("flat", "weight_tiered", "external")
SHIPPING_METHOD_TIER_TYPES = ("shipping_weight_tiers",)


def unique_code(model: str) -> models.UniqueConstraint:
    """Codes "must be unique within the environment" (organization and mode); many rows may have none."""
    return models.UniqueConstraint(
        fields=["organization", "mode", "code"],
        condition=models.Q(code__isnull=False),
        name=f"{model}_code_uniq",
    )


class Merchant(TenantModel):
    name = models.CharField(max_length=255)
    address = models.ForeignKey("addresses.Address", on_delete=models.PROTECT, related_name="+")

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("merchant_tenant", "created_at")]


class PriceList(TenantModel):
    name = models.CharField(max_length=255)
    code = models.CharField(max_length=255, null=True, blank=True)
    currency_code = models.CharField(max_length=3)
    tax_included = models.BooleanField(default=True)
    rules = models.JSONField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [unique_code("price_list")]
        indexes = [tenant_index("price_list_tenant", "created_at")]


class ShippingCategory(TenantModel):
    name = models.CharField(max_length=255)
    code = models.CharField(max_length=255, null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [unique_code("shipping_category")]
        indexes = [tenant_index("shipping_category_tenant", "created_at")]
        verbose_name_plural = "shipping categories"


class Market(TenantModel):
    """Where orders are placed: its price list prices the SKUs, its inventory model stocks them. Token scopes
    ``market:code:X`` resolve through it."""

    number = models.IntegerField(null=True, blank=True)
    name = models.CharField(max_length=255)
    code = models.CharField(max_length=255, null=True, blank=True)
    facebook_pixel_id = models.CharField(max_length=255, null=True, blank=True)
    checkout_url = models.CharField(max_length=255, null=True, blank=True)
    external_prices_url = models.CharField(max_length=255, null=True, blank=True)
    external_order_validation_url = models.CharField(max_length=255, null=True, blank=True)
    # Whether the market has a customer group: then only its customers place orders here.
    private = models.BooleanField(default=False)
    customer_group = models.ForeignKey(
        "customers.CustomerGroup", null=True, blank=True, on_delete=models.PROTECT, related_name="markets"
    )
    shipping_cost_cutoff = models.IntegerField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    shared_secret = models.CharField(max_length=255, null=True, blank=True)
    external_includes = models.JSONField(null=True, blank=True)
    # Required by Commerce Layer; the markets service enforces it (rows written before it may lack them).
    merchant = models.ForeignKey(Merchant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    price_list = models.ForeignKey(
        PriceList, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    inventory_model = models.ForeignKey(
        "inventory.InventoryModel", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    default_shipping_method = models.ForeignKey(
        "ShippingMethod", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Plain columns: their tables (payments.PaymentMethod, subscription models) belong to other apps; the
    # relationships resolve through the column alone.
    default_payment_method_id = models.CharField(max_length=10, null=True, blank=True)
    subscription_model_id = models.CharField(max_length=10, null=True, blank=True)
    # Manual or external (taxes.TaxCalculator, one table for both); a calculator a market uses is not deleted.
    tax_calculator = models.ForeignKey(
        "taxes.TaxCalculator", null=True, blank=True, on_delete=models.PROTECT, related_name="markets"
    )
    tax_calculator_type = models.CharField(max_length=32, null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [unique_code("market")]
        indexes = [tenant_index("market_tenant", "created_at")]


class Sku(TenantModel):
    code = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    description = models.TextField(null=True, blank=True)
    image_url = models.CharField(max_length=2048, null=True, blank=True)
    pieces_per_pack = models.IntegerField(null=True, blank=True)
    weight = models.FloatField(null=True, blank=True)
    unit_of_weight = models.CharField(max_length=2, null=True, blank=True)
    hs_tariff_number = models.CharField(max_length=255, null=True, blank=True)
    do_not_ship = models.BooleanField(default=False)
    do_not_track = models.BooleanField(default=False)
    shipping_category = models.ForeignKey(ShippingCategory, on_delete=models.PROTECT, related_name="skus")

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["organization", "mode", "code"], name="sku_code_uniq")]
        indexes = [tenant_index("sku_tenant", "created_at")]


class Price(TenantModel):
    """The amount of one SKU in one price list; its currency is the price list's, copied when written."""

    # Found through price_price_list_sku_uniq, which leads with it.
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="prices", db_index=False)
    sku = models.ForeignKey(Sku, on_delete=models.CASCADE, related_name="prices")
    currency_code = models.CharField(max_length=3)
    amount_cents = models.BigIntegerField()
    compare_at_amount_cents = models.BigIntegerField(null=True, blank=True)
    rules = models.JSONField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["price_list", "sku"], name="price_price_list_sku_uniq")
        ]
        indexes = [tenant_index("price_tenant", "created_at")]


class ShippingZone(TenantModel):
    """The shipping addresses a shipping method serves, by regular expressions on their codes (as tax rules)."""

    name = models.CharField(max_length=255)
    country_code_regex = models.TextField(null=True, blank=True)
    not_country_code_regex = models.TextField(null=True, blank=True)
    state_code_regex = models.TextField(null=True, blank=True)
    not_state_code_regex = models.TextField(null=True, blank=True)
    zip_code_regex = models.TextField(null=True, blank=True)
    not_zip_code_regex = models.TextField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("shipping_zone_tenant", "created_at")]


class ShippingMethod(TenantModel):
    """Flat and weight-tiered schemes price shipments; the external scheme is priced as flat (nothing calls
    external URLs)."""

    name = models.CharField(max_length=255)
    scheme = models.CharField(max_length=16, default="flat")
    currency_code = models.CharField(max_length=3, null=True, blank=True)
    external_prices_url = models.CharField(max_length=2048, null=True, blank=True)
    price_amount_cents = models.BigIntegerField()
    free_over_amount_cents = models.BigIntegerField(null=True, blank=True)
    use_subtotal = models.BooleanField(default=False)
    min_weight = models.FloatField(null=True, blank=True)
    max_weight = models.FloatField(null=True, blank=True)
    unit_of_weight = models.CharField(max_length=2, null=True, blank=True)
    tax_code = models.CharField(max_length=255, null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    external_includes = models.JSONField(null=True, blank=True)
    shared_secret = models.CharField(max_length=255, null=True, blank=True)
    # The circuit breaker of the external scheme; nothing calls external URLs, so it stays closed.
    circuit_state = models.CharField(max_length=16, default="closed")
    circuit_failure_count = models.IntegerField(default=0)
    market = models.ForeignKey(
        Market, null=True, blank=True, on_delete=models.PROTECT, related_name="shipping_methods"
    )
    shipping_category = models.ForeignKey(
        ShippingCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="shipping_methods"
    )
    stock_location = models.ForeignKey(
        "inventory.StockLocation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="shipping_methods",
    )
    shipping_zone = models.ForeignKey(
        ShippingZone, null=True, blank=True, on_delete=models.PROTECT, related_name="shipping_methods"
    )

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("shipping_method_tenant", "created_at")]


class ShippingMethodTier(TenantModel):
    """A price of a shipping method up to a limit (one table for every tier type, as Commerce Layer's
    single-table ``ShippingMethodTier``; weight tiers are the only type)."""

    type = models.CharField(max_length=32, default="shipping_weight_tiers")
    name = models.CharField(max_length=255)
    # In the method's unit of weight; null: no limit.
    up_to = models.FloatField(null=True, blank=True)
    price_amount_cents = models.BigIntegerField()
    shipping_method = models.ForeignKey(
        ShippingMethod, on_delete=models.CASCADE, related_name="shipping_method_tiers"
    )

    class Meta(TenantModel.Meta):
        constraints = [
            models.CheckConstraint(
                condition=models.Q(type__in=SHIPPING_METHOD_TIER_TYPES), name="shipping_method_tier_type"
            ),
        ]
        indexes = [
            tenant_index("shipping_method_tier_tenant", "created_at"),
            # A method's tiers, read whenever a shipment using a weight-tiered method is priced.
            tenant_index("shipping_method_tier_method", "shipping_method", "created_at"),
        ]

    @property
    def jsonapi_type(self) -> str:
        return self.type


class DeliveryLeadTime(TenantModel):
    """How long a shipping method takes from one stock location, in hours (days are derived)."""

    min_hours = models.IntegerField()
    max_hours = models.IntegerField()
    # The hours in days, rounded: written with them (filterable and sortable as columns).
    min_days = models.IntegerField()
    max_days = models.IntegerField()
    stock_location = models.ForeignKey(
        "inventory.StockLocation", on_delete=models.CASCADE, related_name="delivery_lead_times"
    )
    shipping_method = models.ForeignKey(
        ShippingMethod, on_delete=models.CASCADE, related_name="delivery_lead_times"
    )

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("delivery_lead_time_tenant", "created_at")]


VOLUME_TIERS = "price_volume_tiers"
FREQUENCY_TIERS = "price_frequency_tiers"
PRICE_TIER_TYPES = (VOLUME_TIERS, FREQUENCY_TIERS)


class PriceTier(TenantModel):
    """A unit price of one price for a range of line item quantities (volume) or of line item frequencies in
    days (frequency): it applies up to ``up_to`` included, or beyond every other tier of its type when
    ``up_to`` is null. One table for both types, as Commerce Layer's single-table ``PriceTier``; ``type`` is
    the JSON:API type."""

    type = models.CharField(max_length=24)
    name = models.CharField(max_length=255)
    up_to = models.IntegerField(null=True, blank=True)
    price_amount_cents = models.BigIntegerField()
    price = models.ForeignKey(Price, on_delete=models.CASCADE, related_name="price_tiers")

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("price_tier_tenant", "created_at")]


class SkuList(TenantModel):
    """A list of SKUs: its items (``manual``, each with a quantity and a position), or the SKUs whose code
    matches ``sku_code_regex``. A bundle sells a manual list's items at one price."""

    name = models.CharField(max_length=255)
    slug = models.CharField(max_length=255)
    description = models.TextField(null=True, blank=True)
    image_url = models.CharField(max_length=2048, null=True, blank=True)
    manual = models.BooleanField(default=True)
    sku_code_regex = models.TextField(null=True, blank=True)
    # A plain column: customers build on the catalog; the relationship resolves through the column alone.
    customer_id = models.CharField(max_length=10, null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("sku_list_tenant", "created_at")]


class SkuListItem(TenantModel):
    sku_list = models.ForeignKey(SkuList, on_delete=models.CASCADE, related_name="sku_list_items")
    sku = models.ForeignKey(Sku, on_delete=models.CASCADE, related_name="sku_list_items")
    position = models.IntegerField(default=0)
    quantity = models.IntegerField(default=1)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["sku_list", "sku"], name="sku_list_item_uniq")]
        indexes = [
            tenant_index("sku_list_item_tenant", "created_at"),
            # A list's items in their order: read when a bundle line is priced, checked or placed.
            tenant_index("sku_list_item_list", "sku_list", "position"),
        ]


def unique_in_market(model: str) -> list[models.BaseConstraint]:
    """A code names one row per market (a bundle sold in two markets is two bundles of one code), and one
    row without a market."""
    return [
        models.UniqueConstraint(
            fields=["organization", "mode", "market", "code"],
            condition=models.Q(market__isnull=False),
            name=f"{model}_market_code_uniq",
        ),
        models.UniqueConstraint(
            fields=["organization", "mode", "code"],
            condition=models.Q(market__isnull=True),
            name=f"{model}_code_uniq",
        ),
    ]


class Bundle(TenantModel):
    """A manual SKU list's items sold as one line item (``bundle_code``) at the bundle's price, in its market
    (or any market of its currency)."""

    code = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    currency_code = models.CharField(max_length=3)
    description = models.TextField(null=True, blank=True)
    image_url = models.CharField(max_length=2048, null=True, blank=True)
    price_amount_cents = models.BigIntegerField()
    compare_at_amount_cents = models.BigIntegerField(null=True, blank=True)
    market = models.ForeignKey(Market, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sku_list = models.ForeignKey(SkuList, on_delete=models.PROTECT, related_name="bundles")

    class Meta(TenantModel.Meta):
        constraints = unique_in_market("bundle")
        indexes = [tenant_index("bundle_tenant", "created_at")]


class SkuOption(TenantModel):
    """An option a SKU line may take (an engraving, a gift wrap), at its price, for the SKUs whose code
    matches ``sku_code_regex`` (every SKU when it has none)."""

    name = models.CharField(max_length=255)
    currency_code = models.CharField(max_length=3)
    description = models.TextField(null=True, blank=True)
    price_amount_cents = models.BigIntegerField(default=0)
    delay_hours = models.IntegerField(default=0)
    # The hours in days, rounded up: written with them (filterable and sortable as a column).
    delay_days = models.IntegerField(default=0)
    sku_code_regex = models.TextField(null=True, blank=True)
    market = models.ForeignKey(Market, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("sku_option_tenant", "created_at")]
