"""The merchants, price_lists, shipping_categories, skus, prices, markets and shipping_methods resources."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models import F

from orderfactory.catalog import bundles, services
from orderfactory.catalog.models import (
    FREQUENCY_TIERS,
    PRICE_TIER_TYPES,
    SHIPPING_SCHEMES,
    UNITS_OF_WEIGHT,
    VOLUME_TIERS,
    Market,
    Merchant,
    Price,
    PriceList,
    PriceTier,
    ShippingCategory,
    ShippingMethod,
    Sku,
)
from orderfactory.core.models import InTenant
from orderfactory.core.money import money
from orderfactory.inventory.services import sku_inventory
from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import (
    Array,
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
from orderfactory.tags.resources import tagged


def nothing(row: dict[str, Any]) -> None:
    """A Commerce Layer attribute whose feature is not implemented (rules engine, JWT custom claims)."""
    return None


class ServiceResource(Resource):
    """A resource whose creates and updates go through one domain service, ``save(instance, changes)``,
    which validates the whole row and reports every problem at once."""

    @staticmethod
    def save(instance: Any, changes: dict[str, Any], /) -> models.Model:
        raise NotImplementedError

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        return cls.save(cls.model(), payload.model_fields(cls))

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        return cls.save(instance, payload.model_fields(cls))


class TriggeredServiceResource(Resource):
    """A ServiceResource whose service also acts on the trigger attributes (``_disable``, ``_enable``, ...):
    ``save(instance, changes, triggers)``."""

    @staticmethod
    def save(instance: Any, changes: dict[str, Any], triggers: dict[str, Any], /) -> models.Model:
        raise NotImplementedError

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        return cls.save(cls.model(), payload.model_fields(cls), payload.triggers)

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        return cls.save(instance, payload.model_fields(cls), payload.triggers)


@registry.register
class MerchantResource(ServiceResource):
    type = "merchants"
    model = Merchant
    save = staticmethod(services.save_merchant)
    attributes = (String("name", "CUFfs", required=True),)
    relationships = (ToOne("address", "addresses", "CUf", required=True),)


@registry.register
class PriceListResource(ServiceResource):
    type = "price_lists"
    cacheable = True
    model = PriceList
    save = staticmethod(services.save_price_list)
    attributes = (
        String("name", "CUFfs", required=True),
        String("code", "CUFfs"),
        String("currency_code", "CUFfs", required=True),
        Boolean("tax_included", "CUFfs", nullable=False),
        # The rules engine is not implemented: rules are stored, there are no outcomes to show.
        Object("rule_outcomes", "F", compute=nothing),
        Object("rules", "CUFf"),
        Object("resource_payload", "F", compute=nothing),
    )
    relationships = (ToMany("prices", "prices", "f", reverse="price_list_id"),)


@registry.register
class ShippingCategoryResource(ServiceResource):
    type = "shipping_categories"
    model = ShippingCategory
    save = staticmethod(services.save_shipping_category)
    attributes = (
        String("name", "CUFfs", required=True),
        String("code", "CUFfs"),
    )
    relationships = (ToMany("skus", "skus", "f", reverse="shipping_category_id"),)


def inventory(row: dict[str, Any]) -> dict[str, Any]:
    return sku_inventory(row["id"], row["do_not_track"])


@registry.register
@tagged
class SkuResource(ServiceResource):
    type = "skus"
    cacheable = True
    has_events = True
    model = Sku
    save = staticmethod(services.save_sku)
    sales_channel_actions = ("list", "retrieve")
    attributes = (
        String("code", "CUFfs", required=True),
        String("name", "CUFfs", required=True),
        String("description", "CUFf"),
        String("image_url", "CUFf"),
        Integer("pieces_per_pack", "CUF"),
        Float("weight", "CUF"),
        String("unit_of_weight", "CUF", enum=UNITS_OF_WEIGHT),
        String("hs_tariff_number", "CUF"),
        Boolean("do_not_ship", "CUFfs", nullable=False),
        Boolean("do_not_track", "CUFfs", nullable=False),
        # Stock across every stock location; a query per SKU, so only when one SKU is retrieved.
        Object("inventory", "F", compute=inventory, depends=("id", "do_not_track"), detail=True),
        Object("jwt_custom_claim", "F", compute=nothing),
    )
    relationships = (
        ToOne("shipping_category", "shipping_categories", "CUf", required=True),
        ToMany("prices", "prices", "f", reverse="sku_id"),
        ToMany("stock_items", "stock_items", "f", reverse="sku_id"),
        ToMany("sku_list_items", "sku_list_items", "f", reverse="sku_id"),
        ToMany(
            "sku_lists",
            "sku_lists",
            "f",
            queryset=lambda target, parent_ids: target.filter(sku_list_items__sku_id__in=parent_ids).annotate(
                _parent_id=F("sku_list_items__sku_id")
            ),
            lookup="sku_list_items__sku_list",
        ),
        # The options whose expression matches the SKU's code (Commerce Layer's is virtual, not filterable).
        ToMany("sku_options", "sku_options", "", queryset=bundles.options_of_skus),
        # The lead times from the stock locations that stock the SKU.
        ToMany(
            "delivery_lead_times",
            "delivery_lead_times",
            "f",
            queryset=lambda target, parent_ids: target.filter(
                stock_location__stock_items__sku_id__in=parent_ids
            ).annotate(_parent_id=F("stock_location__stock_items__sku_id")),
            lookup="stock_items__stock_location__delivery_lead_times",
        ),
    )


# No price rules run, so the original amount is the amount (Commerce Layer shows no float of it).
ORIGINAL_AMOUNT_CENTS, _, FORMATTED_ORIGINAL_AMOUNT = money(
    "original_amount_cents",
    "original_amount_float",
    "formatted_original_amount",
    flags="F",
    column="amount_cents",
)


@registry.register
class PriceResource(ServiceResource):
    type = "prices"
    cacheable = True
    model = Price
    save = staticmethod(services.save_price)
    sales_channel_actions = ("list", "retrieve")
    attributes = (
        String("currency_code", "F"),
        # Names the SKU instead of the sku relationship (the service resolves it); reads back the SKU's code.
        String("sku_code", "CUF", expression=InTenant("sku__code")),
        *money("amount_cents", "amount_float", "formatted_amount", flags="CUFfs"),
        ORIGINAL_AMOUNT_CENTS,
        FORMATTED_ORIGINAL_AMOUNT,
        *money(
            "compare_at_amount_cents", "compare_at_amount_float", "formatted_compare_at_amount", flags="CUFfs"
        ),
        Object("rule_outcomes", "F", compute=nothing),
        Datetime("processed_at", "UF"),
        Object("rules", "CUFf"),
        Object("resource_payload", "F", compute=nothing),
        Object("jwt_custom_claim", "F", compute=nothing),
    )
    relationships = (
        # Both required, the sku possibly given as sku_code: the service reports them missing along with
        # every other problem of the row.
        ToOne("price_list", "price_lists", "CUf"),
        ToOne("sku", "skus", "CUf"),
        # Linking tiers here moves them to this price (a tier belongs to one price).
        ToMany("price_tiers", "price_tiers", "CUf", reverse="price_id"),
        ToMany("price_volume_tiers", VOLUME_TIERS, "", reverse="price_id", lookup="price_tiers"),
        ToMany("price_frequency_tiers", FREQUENCY_TIERS, "", reverse="price_id", lookup="price_tiers"),
    )

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        return cls.update(Price(), payload)

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, Price)
        return services.save_price_with_tiers(
            instance, payload.model_fields(cls), payload.relationships.get("price_tiers")
        )


def tier_attributes(up_to: Any) -> tuple[Any, ...]:
    return (
        String("name", "CUFfs", required=True),
        String("type", "Ffs", enum=PRICE_TIER_TYPES),
        up_to,
        # In its price's currency.
        *money(
            "price_amount_cents",
            "price_amount_float",
            "formatted_price_amount",
            currency="price__currency_code",
            flags="CUFfs",
        ),
    )


@registry.register
class PriceTierResource(Resource):
    """Every tier of either type, each naming its own type in ``type``: a read-only list."""

    type = "price_tiers"
    model = PriceTier
    actions = ("list", "retrieve")
    attributes = tier_attributes(Float("up_to", "CUFfs"))
    relationships = (ToOne("price", "prices", "CUf"),)


class TypedPriceTierResource(ServiceResource):
    """The tiers of one type."""

    model = PriceTier
    has_events = True
    tier_type: ClassVar[str]
    scope_only_queryset = True  # narrows by its type, a constant
    relationships = (
        # Required: the service reports it missing with every other problem of the row.
        ToOne("price", "prices", "CUf"),
    )

    @classmethod
    def queryset(cls) -> models.QuerySet:
        return super().queryset().filter(type=cls.tier_type)


@registry.register
class PriceVolumeTierResource(TypedPriceTierResource):
    type = VOLUME_TIERS
    tier_type = VOLUME_TIERS
    save = staticmethod(services.price_tier_saver(VOLUME_TIERS))
    attributes = tier_attributes(Integer("up_to", "CUFfs"))


@registry.register
class PriceFrequencyTierResource(TypedPriceTierResource):
    type = FREQUENCY_TIERS
    tier_type = FREQUENCY_TIERS
    save = staticmethod(services.price_tier_saver(FREQUENCY_TIERS))
    attributes = tier_attributes(Integer("up_to", "CUFfs"))


@registry.register
class MarketResource(TriggeredServiceResource):
    type = "markets"
    cacheable = True
    model = Market
    save = staticmethod(services.save_market)
    attributes = (
        Integer("number", "F"),
        String("name", "CUFfs", required=True),
        String("code", "CUFfs"),
        String("facebook_pixel_id", "CUF"),
        String("checkout_url", "CUF"),
        String("external_prices_url", "CUF"),
        String("external_order_validation_url", "CUF"),
        Boolean("private", "F"),
        Integer("shipping_cost_cutoff", "CUF"),
        Boolean("_disable", "CU", trigger=True),
        Boolean("_enable", "CU", trigger=True),
        Datetime("disabled_at", "Ffs"),
        String("shared_secret", "F"),
        Boolean("_regenerate_shared_secret", "U", trigger=True),
        Array("external_includes", "CUF"),
    )
    relationships = (
        ToOne("merchant", "merchants", "CUf", required=True),
        ToOne("price_list", "price_lists", "CUf", required=True),
        # Without price list schedulers, the base price list is the price list.
        ToOne("base_price_list", "price_lists", "", column="price_list_id"),
        ToOne("inventory_model", "inventory_models", "CUf", required=True),
        ToOne("subscription_model", "subscription_models", "CUf"),
        ToOne("default_shipping_method", "shipping_methods", "CUf"),
        ToOne("default_payment_method", "payment_methods", "CUf"),
        ToOne("tax_calculator", ("manual_tax_calculators", "external_tax_calculators"), "CUf"),
        ToOne("customer_group", "customer_groups", "CUf"),
    )


# A shipping method's price for the shipment it is read through (orders.selectors.price_for_shipment).
SHIPMENT_PRICE = "_shipment_price_cents"
NO_SHIPMENT_PRICE = models.Value(None, output_field=models.BigIntegerField())


@registry.register
@tagged
class ShippingMethodResource(TriggeredServiceResource):
    type = "shipping_methods"
    has_events = True
    model = ShippingMethod
    save = staticmethod(services.save_shipping_method)
    sales_channel_actions = ("list", "retrieve")
    attributes = (
        String("name", "CUFfs", required=True),
        String("scheme", "CUFfs", enum=SHIPPING_SCHEMES),
        String("currency_code", "CUFfs"),
        String("external_prices_url", "CUF"),
        *money("price_amount_cents", "price_amount_float", "formatted_price_amount", flags="CUFfs"),
        *money(
            "free_over_amount_cents", "free_over_amount_float", "formatted_free_over_amount", flags="CUFfs"
        ),
        Boolean("use_subtotal", "CUF", nullable=False),
        # The price for one shipment exists only where a shipment asks (its available shipping methods, its
        # chosen one included): the queryset's annotation, null for a method read on its own.
        *money(
            "price_amount_for_shipment_cents",
            "price_amount_for_shipment_float",
            "formatted_price_amount_for_shipment",
            flags="F",
            column=SHIPMENT_PRICE,
        ),
        Float("min_weight", "CUF"),
        Float("max_weight", "CUF"),
        String("unit_of_weight", "CUF", enum=UNITS_OF_WEIGHT),
        String("tax_code", "CUF"),
        Boolean("_disable", "CU", trigger=True),
        Boolean("_enable", "CU", trigger=True),
        Datetime("disabled_at", "Ffs"),
        String("circuit_state", "Ffs"),
        Integer("circuit_failure_count", "Ffs"),
        Boolean("_reset_circuit", "U", trigger=True),
        String("shared_secret", "F"),
        Boolean("_regenerate_shared_secret", "U", trigger=True),
        Array("external_includes", "CUF"),
    )
    # The annotation only reads a constant: a query built on it is right for every caller (core.prepared).
    scope_only_queryset = True

    @classmethod
    def queryset(cls) -> models.QuerySet:
        # Null on its own; the reads through a shipment (orders.selectors) annotate the method's price for it.
        return super().queryset().annotate(**{SHIPMENT_PRICE: NO_SHIPMENT_PRICE})

    relationships = (
        ToOne("market", "markets", "CUf"),
        ToOne("shipping_zone", "shipping_zones", "CUf"),
        ToOne("shipping_category", "shipping_categories", "CUf"),
        ToOne("stock_location", "stock_locations", "CUf"),
        # Exists only where a shipment asks, as price_amount_for_shipment_*.
        ToOne("delivery_lead_time_for_shipment", "delivery_lead_times", "", resolve=nothing),
        # Linking tiers here moves them to this method (a tier belongs to one method).
        ToMany("shipping_method_tiers", "shipping_method_tiers", "CUf", reverse="shipping_method_id"),
        ToMany("shipping_weight_tiers", "shipping_weight_tiers", "", reverse="shipping_method_id"),
    )

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        return cls.update(cls.model(), payload)

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, ShippingMethod)
        return services.save_shipping_method(
            instance,
            payload.model_fields(cls),
            payload.triggers,
            tiers=payload.relationships.get("shipping_method_tiers"),
        )
