"""Order subscriptions: a source order copied into a new placed order every period.

Beyond Commerce Layer (docs/compatibility.md, "Extensions"): every scheduled run is a row of its own
(``SubscriptionRun``, unique per subscription and scheduled time, so no tick, restart or second scheduler can
make a second order for it), runs are retried by a policy, and subscriptions can skip runs and pause.
"""

from __future__ import annotations

from django.db import models

from orderfactory.core.models import TenantModel, tenant_index

SUBSCRIPTION_STATUSES = ("draft", "inactive", "active", "running", "cancelled")
STRATEGIES = ("by_frequency", "by_line_items")
MISSED_RUNS_POLICIES = ("skip", "run_once", "run_all")
AFTER_RETRIES = ("skip", "deactivate", "cancel")
RUN_STATUSES = ("running", "retrying", "succeeded", "failed", "skipped", "missed")


class RetryPolicy(models.Model):
    """How failed runs are retried: attempts and backoff, with payment and stock failures counted apart, and
    what happens after the last attempt. Null on a subscription means "as its subscription model says"."""

    payment_retry_attempts = models.IntegerField(null=True, blank=True)
    stock_retry_attempts = models.IntegerField(null=True, blank=True)
    retry_backoff_hours = models.FloatField(null=True, blank=True)
    after_retries = models.CharField(max_length=16, null=True, blank=True)
    missed_runs_policy = models.CharField(max_length=16, null=True, blank=True)

    class Meta:
        abstract = True


class SubscriptionModel(TenantModel, RetryPolicy):
    name = models.CharField(max_length=255)
    strategy = models.CharField(max_length=16, default="by_frequency")
    frequencies = models.JSONField(default=list)
    auto_activate = models.BooleanField(default=True)
    auto_cancel = models.BooleanField(default=False)

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("subscription_model_tenant", "created_at")]


class OrderSubscription(TenantModel, RetryPolicy):
    number = models.CharField(max_length=255, null=True, blank=True)
    status = models.CharField(max_length=16, default="draft")
    frequency = models.CharField(max_length=100)
    activate_by_source_order = models.BooleanField(default=True)
    place_target_order = models.BooleanField(default=True)
    # The copy policies each run's copy takes (extensions, factories.models.UNAVAILABLE_LINES and PRICES).
    unavailable_lines = models.CharField(max_length=8, default="fail")
    prices = models.CharField(max_length=8, default="frozen")
    renewal_alert_period = models.IntegerField(default=1)
    customer_email = models.CharField(max_length=255, null=True, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    occurrencies = models.IntegerField(default=0)
    errors_count = models.IntegerField(default=0)
    succeeded_on_last_run = models.BooleanField(null=True, blank=True)
    options = models.JSONField(default=dict)
    market = models.ForeignKey(
        "catalog.Market", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subscription_model = models.ForeignKey(
        SubscriptionModel, null=True, blank=True, on_delete=models.PROTECT, related_name="order_subscriptions"
    )
    source_order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="order_subscriptions"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="order_subscriptions",
    )
    customer_payment_source = models.ForeignKey(
        "customers.CustomerPaymentSource", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The addresses runs ship to and bill (copied from the source order when the subscription is made).
    billing_address = models.ForeignKey(
        "addresses.Address", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shipping_address = models.ForeignKey(
        "addresses.Address", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Schedule bookkeeping: the time the period is counted from (month ends stay month ends), runs to skip,
    # the pause, and the run whose renewal alert was sent.
    anchor_at = models.DateTimeField(null=True, blank=True)
    skip_runs = models.IntegerField(default=0)
    paused_until = models.DateTimeField(null=True, blank=True)
    renewal_alert_sent_for = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [
            tenant_index("subscription_tenant", "created_at"),
            tenant_index("subscription_tenant_status", "status", "created_at"),
            tenant_index("subscription_tenant_next_run", "next_run_at"),
            # the scheduler, across tenants: due runs, and renewal alerts (one range per alert period)
            models.Index(fields=["status", "next_run_at"], name="subscription_due"),
            models.Index(fields=["renewal_alert_period", "next_run_at"], name="subscription_alert"),
        ]

    @property
    def is_active(self) -> bool:
        return self.status in ("active", "running")

    @property
    def automatic(self) -> bool:
        return self.subscription_model_id is not None


class OrderSubscriptionItem(TenantModel):
    order_subscription = models.ForeignKey(
        OrderSubscription, on_delete=models.CASCADE, related_name="order_subscription_items"
    )
    # Its item: a SKU or a bundle (docs/decisions.md, "Subscription items of bundles").
    sku = models.ForeignKey("catalog.Sku", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sku_code = models.CharField(max_length=255, null=True, blank=True)
    bundle = models.ForeignKey(
        "catalog.Bundle", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    bundle_code = models.CharField(max_length=255, null=True, blank=True)
    quantity = models.IntegerField()
    unit_amount_cents = models.BigIntegerField(null=True, blank=True)
    currency_code = models.CharField(max_length=3, null=True, blank=True)
    source_line_item = models.ForeignKey(
        "orders.LineItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("subscription_item_tenant", "created_at")]


class SubscriptionRun(TenantModel):
    """One scheduled run of a subscription, whatever number of attempts it takes."""

    # Found through subscription_run_uniq, which leads with it.
    order_subscription = models.ForeignKey(
        OrderSubscription, on_delete=models.CASCADE, related_name="subscription_runs", db_index=False
    )
    scheduled_at = models.DateTimeField()
    status = models.CharField(max_length=16, default="running")
    attempts = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    missed = models.BooleanField(default=False)
    missed_runs_policy = models.CharField(max_length=16, null=True, blank=True)
    failure_kind = models.CharField(max_length=16, null=True, blank=True)  # payment | stock | other
    target_order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["order_subscription", "scheduled_at"], name="subscription_run_uniq"
            )
        ]
        indexes = [
            tenant_index("subscription_run_tenant", "created_at"),
            tenant_index("subscription_run_status", "status", "created_at"),
            # the scheduler's retries, across tenants
            models.Index(fields=["status", "next_attempt_at"], name="subscription_run_retry"),
        ]


class SubscriptionRunAttempt(TenantModel):
    """One attempt of a run: the order factory that made it."""

    subscription_run = models.ForeignKey(
        SubscriptionRun, on_delete=models.CASCADE, related_name="run_attempts"
    )
    order_factory = models.OneToOneField(
        "factories.OrderFactory", on_delete=models.CASCADE, related_name="run_attempt"
    )
    number = models.IntegerField()

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("subscription_attempt_tenant", "created_at")]
