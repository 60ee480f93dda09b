"""The manual_gateways resource."""

from __future__ import annotations

from django.db import models

from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import Boolean, Datetime, Payload, Resource, String
from orderfactory.payments import services
from orderfactory.payments.models import ManualGateway


@registry.register
class ManualGatewayResource(Resource):
    type = "manual_gateways"
    model = ManualGateway
    attributes = (
        String("name", "CUFfs", required=True),
        Boolean("force_payments", "CUF", default=False, nullable=False),
        Boolean("_disable", "CU", trigger=True),
        Boolean("_enable", "CU", trigger=True),
        Datetime("disabled_at", "Ffs"),
    )

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        return cls.update(ManualGateway(), payload)

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, ManualGateway)
        return services.save_manual_gateway(
            instance,
            payload.model_fields(cls),
            disable=payload.triggers.get("_disable") is True,
            enable=payload.triggers.get("_enable") is True,
        )
