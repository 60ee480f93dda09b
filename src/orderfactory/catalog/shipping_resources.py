"""The shipping_zones, shipping_method_tiers (the polymorphic, read-only list), shipping_weight_tiers and
delivery_lead_times resources. The tiers share one table (models.ShippingMethodTier, as Commerce Layer's
single-table ``ShippingMethodTier``): ``shipping_weight_tiers`` lists the rows of its type,
``shipping_method_tiers`` lists them all, each naming its own type in its ``type`` attribute."""

from __future__ import annotations

from typing import Any

from django.db import models

from orderfactory.addresses.matching import REGEX_COLUMNS
from orderfactory.catalog import shipping
from orderfactory.catalog.models import (
    SHIPPING_METHOD_TIER_TYPES,
    DeliveryLeadTime,
    ShippingMethodTier,
    ShippingZone,
)
from orderfactory.catalog.resources import ServiceResource
from orderfactory.core.money import money
from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import Float, Integer, Resource, String, ToOne


@registry.register
class ShippingZoneResource(ServiceResource):
    type = "shipping_zones"
    model = ShippingZone
    save = staticmethod(shipping.save_shipping_zone)
    attributes = (
        String("name", "CUFfs", required=True),
        *(String(column, "CUF") for column in REGEX_COLUMNS),
    )


def tier_attributes() -> tuple[Any, ...]:
    return (
        String("name", "CUFfs", required=True),
        String("type", "Ffs", enum=SHIPPING_METHOD_TIER_TYPES),
        Float("up_to", "CUFfs"),
        # In the currency of the tier's method.
        *money(
            "price_amount_cents",
            "price_amount_float",
            "formatted_price_amount",
            flags="CUFfs",
            currency="shipping_method__currency_code",
        ),
    )


# Required (the service reports it missing with every other problem of the row).
TIER_METHOD = ToOne("shipping_method", "shipping_methods", "CUf")


@registry.register
class ShippingMethodTierResource(Resource):
    type = "shipping_method_tiers"
    model = ShippingMethodTier
    actions = ("list", "retrieve")
    attributes = tier_attributes()
    relationships = (TIER_METHOD,)


@registry.register
class ShippingWeightTierResource(ServiceResource):
    type = "shipping_weight_tiers"
    model = ShippingMethodTier
    save = staticmethod(shipping.save_shipping_weight_tier)
    scope_only_queryset = True  # narrows by its type, a constant
    attributes = tier_attributes()
    relationships = (TIER_METHOD,)

    @classmethod
    def queryset(cls) -> models.QuerySet:
        return super().queryset().filter(type="shipping_weight_tiers")


@registry.register
class DeliveryLeadTimeResource(ServiceResource):
    type = "delivery_lead_times"
    model = DeliveryLeadTime
    save = staticmethod(shipping.save_delivery_lead_time)
    attributes = (
        Integer("min_hours", "CUFfs", required=True),
        Integer("max_hours", "CUFfs", required=True),
        Integer("min_days", "Ffs"),
        Integer("max_days", "Ff"),
    )
    relationships = (
        ToOne("stock_location", "stock_locations", "CUf", required=True),
        ToOne("shipping_method", "shipping_methods", "CUf", required=True),
    )
