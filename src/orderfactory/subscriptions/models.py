"""Order subscriptions: a source order copied on schedule (served by the subscriptions issue; the order-copy
engine needs the table to tie recurring copies to their subscription)."""

from __future__ import annotations

from django.db import models

from orderfactory.core.models import TenantModel

SUBSCRIPTION_STATUSES = ("draft", "inactive", "active", "running", "cancelled")


class OrderSubscription(TenantModel):
    number = models.CharField(max_length=255, null=True, blank=True)
    status = models.CharField(max_length=16, default="draft", db_index=True)
    frequency = models.CharField(max_length=100)
    activate_by_source_order = models.BooleanField(default=True)
    place_target_order = models.BooleanField(default=True)
    renewal_alert_period = models.IntegerField(default=1)
    customer_email = models.CharField(max_length=255, null=True, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    occurrencies = models.IntegerField(default=0)
    errors_count = models.IntegerField(default=0)
    succeeded_on_last_run = models.BooleanField(null=True, blank=True)
    options = models.JSONField(default=dict)
    market = models.ForeignKey("catalog.Market", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    source_order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="order_subscriptions"
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="order_subscriptions"
    )
    customer_payment_source = models.ForeignKey(
        "customers.CustomerPaymentSource", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subscription_model_id = models.CharField(max_length=10, null=True, blank=True)

    @property
    def is_active(self) -> bool:
        return self.status in ("active", "running")
