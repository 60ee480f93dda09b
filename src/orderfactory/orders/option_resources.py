"""The line_item_options resource: writes through orders.services.options."""

from __future__ import annotations

from django.db import models

from orderfactory.core import scope as scopes
from orderfactory.jsonapi import errors, registry
from orderfactory.jsonapi.resource import Integer, Object, Payload, Resource, String, ToOne
from orderfactory.orders.fields import amount
from orderfactory.orders.models import LineItemOption
from orderfactory.orders.services import options
from orderfactory.tags.resources import tagged


def _columns(payload: Payload) -> dict[str, object]:
    if "unit_amount_cents" in payload.attributes and scopes.current().application_kind == "sales_channel":
        raise errors.param_not_allowed("unit_amount_cents", pointer="/data/attributes/unit_amount_cents")
    return payload.model_fields(LineItemOptionResource)


@registry.register
@tagged
class LineItemOptionResource(Resource):
    type = "line_item_options"
    model = LineItemOption
    has_events = True
    sales_channel_actions = ("list", "retrieve", "create", "update", "delete")
    attributes = (
        String("name", "CUFfs"),
        Integer("quantity", "CUFfs", required=True),
        String("currency_code", "Ffs"),
        *amount("unit_amount", "CUFfs"),
        *amount("total_amount"),
        Integer("delay_hours", "Ffs"),
        Integer("delay_days", "Ff"),
        Object("options", "CUF", required=True),
    )
    relationships = (
        # Required: the service reports it missing.
        ToOne("line_item", "line_items", "Cf"),
        ToOne("sku_option", "sku_options", "CUf"),
    )

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        return options.save_option(LineItemOption(), _columns(payload))

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, LineItemOption)
        return options.save_option(instance, _columns(payload))

    @classmethod
    def delete(cls, instance: models.Model) -> None:
        assert isinstance(instance, LineItemOption)
        options.delete_option(instance)
