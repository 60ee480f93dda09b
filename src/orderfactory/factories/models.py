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

# The copy options a batch passes to each of its copies: the one list of them (a column of both models, an
# attribute of both resources; tests/factories/test_batches.py holds it).
COPY_OPTIONS = (
    "place_target_order",
    "reuse_wallet",
    "cancel_source_order",
    "apply_promotions",
    "skip_errors",
    "ignore_invalid_coupon",
    "unavailable_lines",
    "prices",
)
BATCH_STATUSES = ("pending", "in_progress", "completed", "failed", "cancelled")
BATCH_FINAL = ("completed", "failed", "cancelled")
MAX_BATCH_SOURCES = 10_000


class CopyOptions(models.Model):
    """The copy options (COPY_OPTIONS), as order_copies take them: columns of a copy, of the preview it may be
    made from and of the batch that may make it."""

    place_target_order = models.BooleanField(null=True, blank=True)
    reuse_wallet = models.BooleanField(default=True)
    cancel_source_order = models.BooleanField(default=False)
    apply_promotions = models.BooleanField(default=False)
    skip_errors = models.BooleanField(default=False)
    ignore_invalid_coupon = models.BooleanField(default=False)
    unavailable_lines = models.CharField(max_length=8, default="fail")
    prices = models.CharField(max_length=8, default="frozen")

    class Meta:
        abstract = True


class OrderFactory(TenantModel, CopyOptions):
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
    # Extension: the batch that made this copy (factories/batches.py); one copy per source and batch (unique).
    order_copy_batch = models.ForeignKey(
        "factories.OrderCopyBatch",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="copies",
        db_index=False,  # the unique constraint's index leads with it
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
        constraints = [
            # exactly one copy per source and batch, however often a chunk of the batch is expanded
            models.UniqueConstraint(fields=["order_copy_batch", "source_order"], name="factory_batch_source"),
        ]
        verbose_name_plural = "order factories"

    @property
    def jsonapi_type(self) -> str:
        return self.type


class OrderCopyPreview(TenantModel, CopyOptions):
    """A dry run of an order copy (an extension): the target as the copy would build it when the preview was
    made, with the copy's options, for a day (``expires_at``). Nothing of the target was kept."""

    source_order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
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


class OrderCopyBatch(TenantModel, CopyOptions):
    """Extension (docs/compatibility.md): many order copies made and followed as one. Its sources (the given
    ``source_order_ids``, or the orders ``orders_filter`` matched when it was created) are expanded into
    ``order_copies`` by a job, a chunk per transaction; the copies run as any copy, and each one's ending
    counts here, in its own transaction (factories/batches.py)."""

    status = models.CharField(max_length=16, default="pending")
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    source_order_ids = models.JSONField(null=True, blank=True)  # as given
    orders_filter = models.JSONField(null=True, blank=True)  # as given: filter[q] keys -> values
    sources = models.JSONField(default=list)  # the source ids to copy, in order (not served)
    total_count = models.IntegerField(default=0)
    expanded_count = models.IntegerField(default=0)  # sources expanded into copies so far (the cursor)
    completed_count = models.IntegerField(default=0)
    failed_count = models.IntegerField(default=0)
    aborted_count = models.IntegerField(default=0)
    # While sources remain to expand: when the expansion's job should have moved on (the sweep queues it again).
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [
            tenant_index("copy_batch_tenant", "created_at"),
            models.Index(fields=["status", "lease_expires_at"], name="copy_batch_lease"),
        ]
        verbose_name_plural = "order copy batches"
