"""The manual_gateways, external_gateways, payment_methods, wire_transfers and external_payments resources,
and the transactions: authorizations, captures, voids and refunds (one table, as Commerce Layer's single-table
``Transaction``; each typed resource lists the rows of its type) and ``transactions``, the read-only list of
them all, each naming its kind in its ``type`` attribute."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models

from orderfactory.catalog.resources import ServiceResource
from orderfactory.core import scope as scopes
from orderfactory.core.errors import DomainError
from orderfactory.core.money import format_amount, money, to_float
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
from orderfactory.payments import services, transactions
from orderfactory.payments.error_codes import PaymentErrorCode
from orderfactory.payments.models import (
    PAYMENT_SOURCE_TYPES,
    TRANSACTION_TYPES,
    ExternalGateway,
    ExternalPayment,
    ManualGateway,
    PaymentMethod,
    Transaction,
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


# --- transactions -----------------------------------------------------------------------------------------


def no_report(row: dict[str, Any]) -> None:
    """Card checks (CVV, AVS) and fraud reviews: no gateway we talk to reports them."""
    return None


def transaction_attributes() -> tuple[Any, ...]:
    return (
        String("number", "Ffs"),
        String("type", "Ffs", enum=TRANSACTION_TYPES),
        String("payment_method_type", "F"),
        String("currency_code", "Ff"),
        *money("amount_cents", "amount_float", "formatted_amount"),
        Boolean("succeeded", "UFf"),
        String("message", "Ff"),
        String("error_code", "Ff"),
        String("error_detail", "Ff"),
        String("token", "Ff"),
        String("gateway_transaction_id", "Ff"),
        Boolean("_forward", "U", trigger=True),
    )


def transaction_relationships() -> tuple[Any, ...]:
    return (
        ToOne("order", "orders", "f"),
        ToOne("payment_source", ("external_payments", "wire_transfers"), "f"),
    )


class TypedTransactionResource(Resource):
    """The transactions of one type: read, and changed by their triggers and their reference and metadata."""

    model = Transaction
    actions = ("list", "retrieve", "update")
    has_events = True
    scope_only_queryset = True  # narrows by its type, a constant

    @classmethod
    def queryset(cls) -> models.QuerySet:
        return super().queryset().filter(type=cls.type)

    @classmethod
    def change(cls, transaction_id: str, payload: Payload) -> None:
        """Reference and metadata; then the transaction's trigger, an order use-case (it may call the
        gateway, so it runs with no transaction open)."""
        from orderfactory.orders.services import paying

        refused = sorted(
            {"succeeded"} & payload.attributes.keys() | {"_forward", "_cancel"} & payload.triggers.keys()
        )
        if refused:
            raise DomainError.of(
                PaymentErrorCode.NOT_SUPPORTED, refused[0], "is not supported by orderfactory"
            )
        row = transactions.change(transaction_id, cls.type, payload.model_fields(cls))
        if triggered(payload, "_capture"):
            paying.capture(
                row.order_id, payload.triggers.get("_capture_amount_cents"), authorization_id=row.pk
            )
        if triggered(payload, "_void"):
            paying.void(row.order_id, authorization_id=row.pk)
        if triggered(payload, "_refund"):
            paying.refund(row.order_id, payload.triggers.get("_refund_amount_cents"), capture_id=row.pk)


@registry.register
class TransactionResource(Resource):
    """Every transaction, each naming its kind in ``type``."""

    type = "transactions"
    model = Transaction
    actions = ("list", "retrieve")
    attributes = transaction_attributes()
    relationships = (
        *transaction_relationships(),
        # A view of rows written as their own type: there is no transactions.* topic (has_events would make one).
        ToMany("events", "events", "f", reverse="resource_id"),
    )


@registry.register
class AuthorizationResource(TypedTransactionResource):
    type = "authorizations"
    attributes = (
        *transaction_attributes(),
        *(
            String(name, "F", compute=no_report)
            for name in ("cvv_code", "cvv_message", "avs_code", "avs_message")
        ),
        String("fraud_review", "F", compute=no_report),
        Boolean("_capture", "U", trigger=True),
        Integer("_capture_amount_cents", "U", trigger=True),
        # What a capture takes by default is what is left to capture, which is also what is left to void.
        *money(
            "capture_amount_cents",
            "capture_amount_float",
            "formatted_capture_amount",
            flags="F",
            column="capture_balance_cents",
        ),
        *money("capture_balance_cents", "capture_balance_float", "formatted_capture_balance", flags="F"),
        Boolean("_void", "U", trigger=True),
        *money(
            "void_balance_cents",
            "void_balance_float",
            "formatted_void_balance",
            flags="F",
            column="capture_balance_cents",
        ),
        Boolean("_cancel", "U", trigger=True),
    )
    relationships = (
        *transaction_relationships(),
        ToMany("captures", "captures", "", reverse="reference_authorization_id"),
        ToMany("voids", "voids", "", reverse="reference_authorization_id"),
    )
    changed_by = staticmethod(lambda rid, payload: AuthorizationResource.change(rid, payload))


@registry.register
class CaptureResource(TypedTransactionResource):
    type = "captures"
    attributes = (
        *transaction_attributes(),
        Boolean("_refund", "U", trigger=True),
        Integer("_refund_amount_cents", "U", trigger=True),
        # What a refund gives back by default is what is left to refund.
        *money(
            "refund_amount_cents",
            "refund_amount_float",
            "formatted_refund_amount",
            flags="F",
            column="refund_balance_cents",
        ),
        *money("refund_balance_cents", "refund_balance_float", "formatted_refund_balance", flags="F"),
        Boolean("_cancel", "U", trigger=True),
    )
    relationships = (
        *transaction_relationships(),
        ToOne("reference_authorization", "authorizations", ""),
        ToMany("refunds", "refunds", "", reverse="reference_capture_id"),
    )
    changed_by = staticmethod(lambda rid, payload: CaptureResource.change(rid, payload))


@registry.register
class VoidResource(TypedTransactionResource):
    type = "voids"
    attributes = transaction_attributes()
    relationships = (*transaction_relationships(), ToOne("reference_authorization", "authorizations", "f"))
    changed_by = staticmethod(lambda rid, payload: VoidResource.change(rid, payload))


@registry.register
class RefundResource(TypedTransactionResource):
    type = "refunds"
    attributes = transaction_attributes()
    relationships = (*transaction_relationships(), ToOne("reference_capture", "captures", "f"))
    changed_by = staticmethod(lambda rid, payload: RefundResource.change(rid, payload))
