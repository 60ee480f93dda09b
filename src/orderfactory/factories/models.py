"""Order factories: asynchronous jobs that copy a source order into a new target order."""

from __future__ import annotations

from django.db import models

from orderfactory.core.models import TenantModel, tenant_index

KINDS = ("order_copies", "recurring_order_copies")
STATUSES = ("pending", "in_progress", "aborted", "failed", "completed")
FINAL = ("aborted", "failed", "completed")
# The event each final status fires (``<kind>.complete``...), by event name.
ENDINGS = {"complete": "completed", "fail": "failed", "abort": "aborted"}
# Copy policies (extensions, docs/compatibility.md): what a line that stock cannot cover becomes, and which
# prices the copy takes. The first of each is Commerce Layer's behaviour and the default.
UNAVAILABLE_LINES = ("fail", "drop", "reduce")
PRICES = ("frozen", "current")
# What happens to a line of the source in the copy (a preview's ``line_items``' ``outcome``).
OUTCOMES = ("copied", "repriced", "dropped", "reduced", "out_of_stock")


class OrderFactory(TenantModel):
    """Both kinds in one table; ``type`` tells them apart, as the ``type`` attribute does on the wire."""

    type = models.CharField(max_length=32, choices=[(k, k) for k in KINDS])
    status = models.CharField(max_length=16, default="pending")
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    errors_log = models.JSONField(default=dict)
    errors_count = models.IntegerField(default=0)
    # Extension: errors_log's messages with a stable code and whether retrying may help (docs/compatibility.md).
    errors_details = models.JSONField(default=list)
    place_target_order = models.BooleanField(null=True, blank=True)
    reuse_wallet = models.BooleanField(default=True)
    cancel_source_order = models.BooleanField(default=False)
    apply_promotions = models.BooleanField(default=False)
    skip_errors = models.BooleanField(default=False)
    ignore_invalid_coupon = models.BooleanField(default=False)
    unavailable_lines = models.CharField(max_length=8, default="fail")
    prices = models.CharField(max_length=8, default="frozen")
    # A copy made from a preview builds what the preview showed, or fails (factories.previews).
    preview = models.ForeignKey(
        "factories.OrderCopyPreview", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="order_factories"
    )
    # Unique: one factory produces at most one target order, however often its job runs (exactly once).
    target_order = models.OneToOneField(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="order_factory"
    )
    order_subscription = models.ForeignKey(
        "subscriptions.OrderSubscription",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="order_factories",
    )
    # A copy an operator retried from the console is the copy it retries: one retry per copy (unique), shown on
    # both copies' pages (docs/console.md). Not served by the API.
    retry_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retry"
    )
    # The worker's claim: who runs the job and until when; a claim past its lease is swept back to pending.
    # A pending factory's lease is when its job should have started: past it, the sweep enqueues it again.
    claimed_by = models.CharField(max_length=64, null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.IntegerField(default=0)

    class Meta(TenantModel.Meta):
        indexes = [
            tenant_index("factory_tenant", "created_at"),
            # order_copies and recurring_order_copies list one type each
            tenant_index("factory_tenant_type", "type", "created_at"),
            tenant_index("factory_tenant_status", "type", "status", "created_at"),
            # the sweep, across tenants
            models.Index(fields=["status", "lease_expires_at"], name="factory_lease"),
        ]
        verbose_name_plural = "order factories"

    @property
    def jsonapi_type(self) -> str:
        return self.type


class OrderCopyPreview(TenantModel):
    """A dry run of an order copy (an extension): the target as the copy would build it when the preview was
    made, with the copy's options, for a day (``expires_at``). Nothing of the target was kept."""

    source_order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    # the copy's options
    place_target_order = models.BooleanField(null=True, blank=True)
    reuse_wallet = models.BooleanField(default=True)
    cancel_source_order = models.BooleanField(default=False)
    apply_promotions = models.BooleanField(default=False)
    skip_errors = models.BooleanField(default=False)
    ignore_invalid_coupon = models.BooleanField(default=False)
    unavailable_lines = models.CharField(max_length=8, default="fail")
    prices = models.CharField(max_length=8, default="frozen")
    # what the copy would build
    status = models.CharField(max_length=16)  # the copy's outcome: completed or failed
    placeable = models.BooleanField(default=False)
    currency_code = models.CharField(max_length=3, null=True, blank=True)
    line_items = models.JSONField(default=list)
    source_subtotal_amount_cents = models.BigIntegerField(default=0)
    source_total_amount_cents = models.BigIntegerField(default=0)
    source_discount_amount_cents = models.BigIntegerField(default=0)
    subtotal_amount_cents = models.BigIntegerField(null=True, blank=True)
    total_amount_cents = models.BigIntegerField(null=True, blank=True)
    discount_amount_cents = models.BigIntegerField(null=True, blank=True)
    coupon_code = models.CharField(max_length=255, null=True, blank=True)
    coupon_outcome = models.CharField(max_length=16, null=True, blank=True)
    promotions_outcome = models.CharField(max_length=16, null=True, blank=True)
    errors_log = models.JSONField(default=dict)
    errors_details = models.JSONField(default=list)

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("copy_preview_tenant", "created_at")]
