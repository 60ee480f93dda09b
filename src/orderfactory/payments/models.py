"""Payment gateways, payment methods and payment sources."""

from __future__ import annotations

import secrets

from django.db import models

from orderfactory.core.models import TenantModel, tenant_index

# Commerce Layer's payment source types (payment_methods.payment_source_type). We serve the last two.
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
SERVED_PAYMENT_SOURCE_TYPES = ("external_payments", "wire_transfers")
PAYMENT_GATEWAY_TYPES = ("manual_gateways", "external_gateways")


def new_shared_secret() -> str:
    """32 random bytes, URL-safe: the key of the HMAC signing requests to an external gateway."""
    return secrets.token_urlsafe(32)


class ManualGateway(TenantModel):
    name = models.CharField(max_length=255)
    force_payments = models.BooleanField(default=False)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("manual_gateway_tenant", "created_at")]


class ExternalGateway(TenantModel):
    """A gateway the merchant runs: we POST authorizations, captures, voids and refunds to its URLs."""

    name = models.CharField(max_length=255)
    force_payments = models.BooleanField(default=False)
    disabled_at = models.DateTimeField(null=True, blank=True)
    authorize_url = models.CharField(max_length=2048, null=True, blank=True)
    capture_url = models.CharField(max_length=2048, null=True, blank=True)
    void_url = models.CharField(max_length=2048, null=True, blank=True)
    refund_url = models.CharField(max_length=2048, null=True, blank=True)
    token_url = models.CharField(max_length=2048, null=True, blank=True)
    circuit_state = models.CharField(max_length=16, default="closed")
    circuit_failure_count = models.IntegerField(default=0)
    shared_secret = models.CharField(max_length=255, default=new_shared_secret)
    external_includes = models.JSONField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("external_gateway_tenant", "created_at")]


class PaymentMethod(TenantModel):
    """How a market takes payments: a payment source type processed by a gateway (manual or external,
    stored as ``payment_gateway_type`` + ``payment_gateway_id`` since it lives in one of two tables)."""

    name = models.CharField(max_length=255)
    payment_source_type = models.CharField(max_length=32)
    currency_code = models.CharField(max_length=3, null=True, blank=True)
    moto = models.BooleanField(default=False)
    require_capture = models.BooleanField(default=True)
    auto_place = models.BooleanField(default=False)
    auto_capture = models.BooleanField(default=False)
    price_amount_cents = models.BigIntegerField(default=0)
    auto_capture_max_amount_cents = models.BigIntegerField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    market = models.ForeignKey(
        "catalog.Market", null=True, blank=True, on_delete=models.PROTECT, related_name="payment_methods"
    )
    payment_gateway_type = models.CharField(max_length=32)
    payment_gateway_id = models.CharField(max_length=10)
    # The stores resource is not served; the column keeps the relationship's value for when it is.
    store_id = models.CharField(max_length=10, null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [
            tenant_index("payment_method_tenant", "created_at"),
            models.Index(fields=["payment_gateway_type", "payment_gateway_id"]),
        ]

    @property
    def payment_gateway(self) -> ManualGateway | ExternalGateway | None:
        model = ManualGateway if self.payment_gateway_type == "manual_gateways" else ExternalGateway
        return model.objects.filter(pk=self.payment_gateway_id).first()


class PaymentSource(TenantModel):
    """What an order pays with. ``order_id`` is the order it is the payment source of (the orders app owns
    that table); ``customer_payment_source_id`` the wallet entry it was saved to or taken from."""

    order_id = models.CharField(max_length=10, null=True, blank=True, db_index=True)
    customer_payment_source_id = models.CharField(max_length=10, null=True, blank=True, db_index=True)
    # The gateway's last answer (authorization, void), as received.
    payment_response = models.JSONField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        abstract = True
        indexes = [tenant_index("%(class)s_tenant", "created_at")]


class WireTransfer(PaymentSource):
    pass


class ExternalPayment(PaymentSource):
    payment_source_token = models.CharField(max_length=255)
    options = models.JSONField(null=True, blank=True)
    # Inherited from the order's payment method when the payment is attached to an order.
    payment_gateway = models.ForeignKey(
        ExternalGateway, null=True, blank=True, on_delete=models.PROTECT, related_name="external_payments"
    )


TRANSACTION_TYPES = ("authorizations", "voids", "captures", "refunds")


class Transaction(TenantModel):
    """One call to a payment gateway and its answer, in one table as Commerce Layer's single-table
    ``Transaction``: ``type`` names the kind. A capture or a void refers to its authorization, a refund to its
    capture. The balances are kept on the row they belong to, moved by the services that take from them
    (compare-and-set, so two captures cannot both take the same balance): an authorization's
    ``capture_balance_cents`` (what may still be captured, which is also what may still be voided), a
    capture's ``refund_balance_cents``. ``order_id`` is the order the transaction pays (the orders
    app owns that table, as for payment sources)."""

    type = models.CharField(max_length=16)
    number = models.CharField(max_length=255)
    order_id = models.CharField(max_length=10, db_index=True)
    payment_source_type = models.CharField(max_length=32, null=True, blank=True)
    payment_source_id = models.CharField(max_length=10, null=True, blank=True)
    payment_method_type = models.CharField(max_length=32, null=True, blank=True)
    currency_code = models.CharField(max_length=3, null=True, blank=True)
    amount_cents = models.BigIntegerField(default=0)
    succeeded = models.BooleanField(default=False)
    message = models.CharField(max_length=255, null=True, blank=True)
    error_code = models.CharField(max_length=255, null=True, blank=True)
    error_detail = models.CharField(max_length=255, null=True, blank=True)
    token = models.CharField(max_length=255, null=True, blank=True)
    gateway_transaction_id = models.CharField(max_length=255, null=True, blank=True)
    reference_authorization = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reference_capture = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    capture_balance_cents = models.BigIntegerField(null=True, blank=True)
    refund_balance_cents = models.BigIntegerField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.CheckConstraint(condition=models.Q(type__in=TRANSACTION_TYPES), name="transaction_type"),
            models.CheckConstraint(
                condition=models.Q(capture_balance_cents__gte=0) & models.Q(refund_balance_cents__gte=0),
                name="transaction_balances_not_negative",
            ),
        ]
        indexes = [
            tenant_index("transaction_tenant", "created_at"),
            # Each typed list (authorizations, captures, voids, refunds) reads its own rows.
            tenant_index("transaction_type_tenant", "type", "created_at"),
        ]

    @property
    def jsonapi_type(self) -> str:
        return self.type
