"""Customers, their address books and their wallets."""

from __future__ import annotations

from django.db import models

from orderfactory.core.models import TenantModel, tenant_index

CUSTOMER_STATUSES = ("prospect", "acquired", "repeat")


class CustomerGroup(TenantModel):
    """Customers grouped: a market given a group is private to its customers (docs/decisions.md, "Customer
    groups")."""

    name = models.CharField(max_length=255)
    # Optional; unique within the environment when given.
    code = models.CharField(max_length=25, null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "mode", "code"],
                condition=models.Q(code__isnull=False),
                name="customer_group_code_uniq",
            )
        ]
        indexes = [tenant_index("customer_group_tenant", "created_at")]


class Customer(TenantModel):
    # Stored normalised (trimmed, lower case): unique within the environment (organization and mode).
    email = models.CharField(max_length=254)
    status = models.CharField(max_length=16, default="prospect")
    # A django.contrib.auth hash, never the password itself; None when the customer has none (a guest).
    password = models.CharField(max_length=255, null=True, blank=True)
    total_orders_count = models.IntegerField(default=0)
    shopper_reference = models.CharField(max_length=255, null=True, blank=True)
    profile_id = models.CharField(max_length=255, null=True, blank=True)
    tax_exemption_code = models.CharField(max_length=255, null=True, blank=True)
    customer_group = models.ForeignKey(
        CustomerGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )
    # The current anonymization request (None: never requested): its status (customers.anonymization:
    # requested -> in_progress -> completed | failed; requested -> cancelled), Commerce Layer's
    # ``anonymization_info`` object, and the id its job carries, so that a job of an earlier request (one
    # cancelled, then requested again) does nothing.
    anonymization_status = models.CharField(max_length=16, null=True, blank=True)
    anonymization_info = models.JSONField(null=True, blank=True)
    anonymization_request_id = models.CharField(max_length=10, null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "mode", "email"], name="customer_email_uniq")
        ]
        indexes = [
            tenant_index("customer_tenant", "created_at"),
            tenant_index("customer_status", "status", "created_at"),
        ]

    @property
    def has_password(self) -> bool:
        return self.password is not None


class CustomerAddress(TenantModel):
    """One entry of a customer's address book."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="customer_addresses")
    address = models.ForeignKey("addresses.Address", on_delete=models.PROTECT, related_name="+")

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("customer_address_tenant", "created_at")]


class CustomerPaymentSource(TenantModel):
    """One entry of a customer's wallet: a payment source saved for reuse. The source lives in one of
    several tables (wire_transfers, external_payments), hence ``payment_source_type`` + ``payment_source_id``."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="customer_payment_sources")
    payment_method = models.ForeignKey(
        "payments.PaymentMethod", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payment_source_type = models.CharField(max_length=32, null=True, blank=True)
    payment_source_id = models.CharField(max_length=10, null=True, blank=True)
    name = models.CharField(max_length=255, null=True, blank=True)
    customer_token = models.CharField(max_length=255, null=True, blank=True)
    payment_source_token = models.CharField(max_length=255, null=True, blank=True)

    class Meta(TenantModel.Meta):
        # A payment source is in at most one wallet (it records that entry as its own
        # ``customer_payment_source_id``); ids are unique across tenants, so no scope columns are needed.
        constraints = [
            models.UniqueConstraint(
                fields=["payment_source_type", "payment_source_id"],
                condition=models.Q(payment_source_id__isnull=False),
                name="customer_payment_source_source_uniq",
            )
        ]
        indexes = [tenant_index("customer_payment_source_tenant", "created_at")]
