"""The merchants, price_lists and shipping_categories resources."""

from __future__ import annotations

from typing import Any

from django.db import models

from orderfactory.catalog import services
from orderfactory.catalog.models import Merchant, PriceList, ShippingCategory
from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import Boolean, Object, Payload, Resource, String, ToOne


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
    model = PriceList
    save = staticmethod(services.save_price_list)
    attributes = (
        String("name", "CUFfs", required=True),
        String("code", "CUFfs"),
        String("currency_code", "CUFfs", required=True),
        Boolean("tax_included", "CUFfs", nullable=False),
        # The rules engine is not implemented: rules are stored, there are no outcomes to show.
        Object("rule_outcomes", "F", compute=lambda row: None),
        Object("rules", "CUFf"),
        Object("resource_payload", "F", compute=lambda row: None),
    )


@registry.register
class ShippingCategoryResource(ServiceResource):
    type = "shipping_categories"
    model = ShippingCategory
    save = staticmethod(services.save_shipping_category)
    attributes = (
        String("name", "CUFfs", required=True),
        String("code", "CUFfs"),
    )
