"""The manual_gateways, external_gateways, payment_methods, wire_transfers and external_payments resources."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models

from orderfactory.catalog.resources import ServiceResource
from orderfactory.core import scope as scopes
from orderfactory.core.money import format_amount, to_float
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
from orderfactory.payments import services
from orderfactory.payments.models import (
    PAYMENT_SOURCE_TYPES,
    ExternalGateway,
    ExternalPayment,
    ManualGateway,
    PaymentMethod,
    WireTransfer,
)


def triggered(payload: Payload, name: str) -> bool:
    return payload.triggers.get(name) is True


def gateway_payment_methods(gateway_type: str) -> ToMany:
    """A gateway's payment methods. They point at it through a polymorphic column pair, which no Django
    relation can join: filters go through ``payment_gateway_id`` alone (ids are unique across types)."""

    def methods(qs: models.QuerySet, parent_ids: Sequence[str]) -> models.QuerySet:
        return qs.filter(payment_gateway_type=gateway_type, payment_gateway_id__in=parent_ids).annotate(
            _parent_id=models.F("payment_gateway_id")
        )

    return ToMany("payment_methods", "payment_methods", "f", queryset=methods, reverse="payment_gateway_id")


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
    relationships = (gateway_payment_methods("manual_gateways"),)

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        return cls.update(ManualGateway(), payload)

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, ManualGateway)
        return services.save_manual_gateway(
            instance,
            payload.model_fields(cls),
            disable=triggered(payload, "_disable"),
            enable=triggered(payload, "_enable"),
        )


@registry.register
class ExternalGatewayResource(Resource):
    type = "external_gateways"
    model = ExternalGateway
    attributes = (
        String("name", "CUFfs", required=True),
        Boolean("force_payments", "CUF", default=False, nullable=False),
        Boolean("_disable", "CU", trigger=True),
        Boolean("_enable", "CU", trigger=True),
        Datetime("disabled_at", "Ffs"),
        String("authorize_url", "CUF"),
        String("capture_url", "CUF"),
        String("void_url", "CUF"),
        String("refund_url", "CUF"),
        String("token_url", "CUF"),
        String("circuit_state", "Ffs"),
        Integer("circuit_failure_count", "Ffs"),
        Boolean("_reset_circuit", "U", trigger=True),
        # Shown, as Commerce Layer shows it: the merchant's endpoint needs it to check our signature.
        String("shared_secret", "F"),
        Boolean("_regenerate_shared_secret", "U", trigger=True),
        Array("external_includes", "CUF"),
    )
    relationships = (
        gateway_payment_methods("external_gateways"),
        ToMany("external_payments", "external_payments", "f", reverse="payment_gateway_id"),
    )

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        return cls.update(ExternalGateway(), payload)

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, ExternalGateway)
        return services.save_external_gateway(
            instance,
            payload.model_fields(cls),
            disable=triggered(payload, "_disable"),
            enable=triggered(payload, "_enable"),
            reset_circuit=triggered(payload, "_reset_circuit"),
            regenerate_shared_secret=triggered(payload, "_regenerate_shared_secret"),
        )


def amount(cents_name: str, float_name: str, formatted_name: str, flags: str, **kw: Any) -> tuple[Any, ...]:
    """An amount in the payment method's currency: cents, float and formatted."""
    return (
        Integer(cents_name, flags, **kw),
        Float(
            float_name,
            "F",
            compute=lambda row: to_float(row[cents_name], row["currency_code"]),
            depends=(cents_name, "currency_code"),
        ),
        String(
            formatted_name,
            "F",
            compute=lambda row: format_amount(row[cents_name], row["currency_code"]),
            depends=(cents_name, "currency_code"),
        ),
    )


@registry.register
class PaymentMethodResource(Resource):
    type = "payment_methods"
    model = PaymentMethod
    sales_channel_actions = ("list", "retrieve")
    attributes = (
        String("name", "CUFfs"),
        String("payment_source_type", "CUFfs", required=True, enum=PAYMENT_SOURCE_TYPES),
        String("currency_code", "CUFfs"),
        Boolean("moto", "CUF", nullable=False),
        Boolean("require_capture", "CUF", nullable=False),
        Boolean("auto_place", "CUF", nullable=False),
        Boolean("auto_capture", "CUF", nullable=False),
        *amount("price_amount_cents", "price_amount_float", "formatted_price_amount", "CUFfs", required=True),
        *amount(
            "auto_capture_max_amount_cents",
            "auto_capture_max_amount_float",
            "formatted_auto_capture_max_amount",
            "CUF",
        ),
        Boolean("_disable", "CU", trigger=True),
        Boolean("_enable", "CU", trigger=True),
        Datetime("disabled_at", "Ffs"),
    )
    relationships = (
        ToOne("market", "markets", "CUf"),
        ToOne("payment_gateway", ("manual_gateways", "external_gateways"), "CUf", required=True),
    )

    @classmethod
    def queryset(cls) -> models.QuerySet:
        """A token scoped to markets sees their payment methods and those of no market (usable anywhere)."""
        markets = scopes.current().market_ids
        qs = super().queryset()
        if markets is None:
            return qs
        return qs.filter(models.Q(market_id__in=markets) | models.Q(market_id__isnull=True))

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        return cls.update(PaymentMethod(), payload)

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, PaymentMethod)
        return services.save_payment_method(
            instance,
            payload.model_fields(cls),
            disable=triggered(payload, "_disable"),
            enable=triggered(payload, "_enable"),
        )


class PaymentSourceResource(ServiceResource):
    """A payment source. Given an ``order``, it becomes that order's payment source (Commerce Layer requires the
    order; here it may also be linked from the order's side: docs/compatibility.md)."""

    @classmethod
    def _link(cls, source: models.Model, payload: Payload) -> models.Model:
        order = payload.relationships.get("order")
        if order is not None:
            from orderfactory.orders.services.editing import link_order_payment_source

            link_order_payment_source(order.pk, source)
        return source

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        order = payload.relationships.pop("order", None)
        source = super().create(payload)
        payload.relationships["order"] = order
        return cls._link(source, payload)

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        order = payload.relationships.pop("order", None)
        source = super().update(instance, payload)
        payload.relationships["order"] = order
        return cls._link(source, payload)

    @classmethod
    def delete(cls, instance: models.Model) -> None:
        assert isinstance(instance, (WireTransfer, ExternalPayment))
        services.delete_payment_source(instance)


def no_instrument(row: dict[str, Any]) -> None:
    """No gateway we talk to reports card or account details, so there is no instrument to show."""
    return None


@registry.register
class WireTransferResource(PaymentSourceResource):
    type = "wire_transfers"
    model = WireTransfer
    save = staticmethod(services.save_wire_transfer)
    attributes = (Object("payment_instrument", "F", compute=no_instrument),)
    relationships = (ToOne("order", "orders", "CU"),)


@registry.register
class ExternalPaymentResource(PaymentSourceResource):
    type = "external_payments"
    model = ExternalPayment
    save = staticmethod(services.save_external_payment)
    attributes = (
        String("payment_source_token", "CFf", required=True),
        Object("options", "CUF"),
        Object("payment_instrument", "F", compute=no_instrument),
    )
    relationships = (
        ToOne("order", "orders", "CUf"),
        ToOne("payment_gateway", "external_gateways", ""),
        ToOne("wallet", "customer_payment_sources", "", column="customer_payment_source_id"),
    )
