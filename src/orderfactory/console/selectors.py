"""What the console's pages read, one function per page or panel, each with the queries it runs in sight. Every
query goes through the tenant managers, so it reads the operator's organization and mode only."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import models
from django.db.models.functions import Coalesce, TruncHour
from django.http import Http404

from orderfactory.auth.models import Application
from orderfactory.console import charts
from orderfactory.core import clock
from orderfactory.core import scope as scopes
from orderfactory.events.models import Event, EventCallback, EventStore, Webhook, WebhookDelivery
from orderfactory.factories.models import FINAL, OrderFactory
from orderfactory.orders.models import LineItem, Order, Shipment
from orderfactory.subscriptions import services as subscriptions
from orderfactory.subscriptions.models import (
    OrderSubscription,
    OrderSubscriptionItem,
    SubscriptionRun,
    SubscriptionRunAttempt,
)

PAGE_SIZE = 25
PANEL_SIZE = 10
# The statuses of a target that is not placed yet and that orders.services.cancel takes.
UNPLACED_CANCELLABLE = ("pending", "placing")


def one(qs: models.QuerySet, pk: str) -> Any:
    """The row of this (scoped) queryset with this id, or a 404."""
    row = qs.filter(pk=pk).first() if len(pk) <= 64 else None
    if row is None:
        raise Http404(pk)
    return row


def paginate(qs: models.QuerySet, number: str | None) -> Page:
    return Paginator(qs, PAGE_SIZE).get_page(number)


# --- the overview -----------------------------------------------------------------------------------------


@dataclass
class Renewals:
    count: int
    totals: list[tuple[str | None, int]]  # (currency, cents), for the runs that will happen
    rows: list[
        tuple[OrderSubscription, subscriptions.Projection, str | None]
    ]  # (subscription, projection, why not)


@dataclass
class Overview:
    chart: charts.Chart
    renewals: Renewals
    failing: list[OrderSubscription]
    failing_count: int
    failures: list[OrderFactory]
    open_circuits: list[Webhook]


def copies_per_hour(now: dt.datetime) -> charts.Chart:
    """One query: the copies that ended in the last 7 days, counted by hour and outcome."""
    end = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    rows = (
        OrderFactory.objects.filter(status__in=FINAL)
        .annotate(ended_at=Coalesce("completed_at", "failed_at"))
        .filter(ended_at__gte=end - dt.timedelta(days=7))
        .annotate(hour=TruncHour("ended_at", tzinfo=dt.UTC))
        .values("hour", "status")
        .annotate(n=models.Count("id"))
        .order_by()
    )
    return charts.build({(r["hour"], r["status"]): r["n"] for r in rows}, end)


def renewals_due(now: dt.datetime) -> Renewals:
    """The runs due within 24 hours: one query for the subscriptions, at most six for their projections
    (subscriptions.services.projections). Skipped and paused runs are listed but not counted in the total."""
    due = list(
        OrderSubscription.objects.filter(
            status__in=("active", "running"), next_run_at__lte=now + dt.timedelta(hours=24)
        ).order_by("next_run_at", "id")
    )
    projected = subscriptions.projections(due)
    totals: dict[str | None, int] = defaultdict(int)
    rows = []
    for subscription in due:
        projection = projected[subscription.pk]
        assert subscription.next_run_at is not None
        why_not = None
        if subscription.skip_runs:
            why_not = "skipped"
        elif subscription.paused_until and subscription.next_run_at < subscription.paused_until:
            why_not = "paused"
        else:
            totals[projection.currency_code] += projection.subtotal_amount_cents
        rows.append((subscription, projection, why_not))
    return Renewals(len(due), sorted(totals.items(), key=lambda t: t[0] or ""), rows[:PANEL_SIZE])


def failing_subscriptions() -> tuple[list[OrderSubscription], int]:
    """Two queries: the subscriptions whose last run failed, or whose run waits for a retry (``retrying``), and
    how many."""
    retrying = SubscriptionRun.objects.filter(status="retrying", order_subscription_id=models.OuterRef("pk"))
    qs = (
        OrderSubscription.objects.exclude(status="cancelled")
        .annotate(retrying=models.Exists(retrying))
        .filter(models.Q(succeeded_on_last_run=False) | models.Q(retrying=True))
        .order_by("-last_run_at", "id")
    )
    return list(qs[:PANEL_SIZE]), qs.count()


def recent_failures(now: dt.datetime) -> list[OrderFactory]:
    """One query: the copies that failed or aborted in the last 7 days, newest first."""
    return list(
        OrderFactory.objects.filter(
            status__in=("failed", "aborted"), failed_at__gte=now - dt.timedelta(days=7)
        )
        .select_related("order_subscription")
        .only("id", "type", "status", "failed_at", "errors_details", "order_subscription__number")
        .order_by("-failed_at", "-id")[:PANEL_SIZE]
    )


def overview() -> Overview:
    now = clock.now()
    failing, failing_count = failing_subscriptions()
    return Overview(
        chart=copies_per_hour(now),
        renewals=renewals_due(now),
        failing=failing,
        failing_count=failing_count,
        failures=recent_failures(now),
        open_circuits=list(Webhook.objects.filter(circuit_state="open").order_by("created_at", "id")),
    )


# --- copies -----------------------------------------------------------------------------------------------


def copies(
    *,
    kind: str | None,
    status: str | None,
    email: str | None,
    since: dt.date | None,
    until: dt.date | None,
) -> models.QuerySet:
    """Order copies and recurring order copies, newest first, with their source and target orders' numbers."""
    qs = OrderFactory.objects.select_related("source_order", "target_order").only(
        "id",
        "type",
        "status",
        "created_at",
        "errors_count",
        "source_order__number",
        "source_order__customer_email",
        "target_order__number",
        "target_order__status",
    )
    if kind:
        qs = qs.filter(type=kind)
    if status:
        qs = qs.filter(status=status)
    if email:
        qs = qs.filter(source_order__customer_email__iexact=email.strip())
    if since:
        qs = qs.filter(created_at__gte=dt.datetime.combine(since, dt.time(), dt.UTC))
    if until:
        qs = qs.filter(created_at__lt=dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC))
    return qs.order_by("-created_at", "-id")


@dataclass
class Entry:
    """One line of a resource's history: a change from the audit trail, or a named event."""

    at: dt.datetime
    name: str
    changes: dict[str, list[Any]] = field(default_factory=dict)
    who: dict[str, Any] = field(default_factory=dict)


def history(resource_id: str) -> list[Entry]:
    """Two queries: the resource's audit trail and its domain events (``orders.place``,
    ``order_copies.fail``; not ``<type>.create|update|destroy``, which repeat the trail), in the order they
    happened."""
    entries = [
        Entry(s.created_at, s.event, s.payload, s.who)
        for s in EventStore.objects.filter(resource_id=resource_id).order_by("created_at", "id")
    ]
    entries += [
        Entry(e.created_at, e.name)
        for e in Event.objects.filter(resource_id=resource_id)
        .exclude(name__regex=r"\.(create|update|destroy)$")
        .order_by("created_at", "id")
    ]
    return sorted(entries, key=lambda e: e.at)


@dataclass
class CopyPage:
    copy: OrderFactory
    retry: OrderFactory | None
    run: SubscriptionRun | None
    history: list[Entry]

    @property
    def retryable(self) -> bool:
        return self.copy.status in ("failed", "aborted") and self.retry is None

    @property
    def target_cancellable(self) -> bool:
        target = self.copy.target_order
        return target is not None and target.status in UNPLACED_CANCELLABLE


def copy_page(copy_id: str) -> CopyPage:
    copy = one(
        OrderFactory.objects.select_related("source_order", "target_order", "order_subscription", "retry_of"),
        copy_id,
    )
    attempt = (
        SubscriptionRunAttempt.objects.filter(order_factory_id=copy.pk)
        .select_related("subscription_run")
        .first()
    )
    return CopyPage(
        copy=copy,
        retry=OrderFactory.objects.filter(retry_of_id=copy.pk).only("id", "status").first(),
        run=attempt.subscription_run if attempt else None,
        history=history(copy.pk),
    )


# --- subscriptions ----------------------------------------------------------------------------------------


def subscriptions_found(q: str | None, status: str | None) -> models.QuerySet:
    qs = OrderSubscription.objects.all()
    if q:
        q = q.strip()
        qs = qs.filter(models.Q(number__icontains=q) | models.Q(customer_email__icontains=q))
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


@dataclass
class RunRow:
    run: SubscriptionRun
    attempts: list[OrderFactory]


@dataclass
class SubscriptionPage:
    subscription: OrderSubscription
    items: list[tuple[str | None, int, int | None, str | None]]  # (sku code, quantity, unit cents, currency)
    preview: list[dict[str, Any]]
    runs: list[RunRow]
    history: list[Entry]


PREVIEW_RUNS = 6
RUNS_SHOWN = 20


def subscription_page(subscription_id: str) -> SubscriptionPage:
    subscription = one(
        OrderSubscription.objects.select_related("source_order", "market", "subscription_model", "customer"),
        subscription_id,
    )
    if subscription.automatic:
        items = [
            (i.sku_code, i.quantity, i.unit_amount_cents, i.currency_code)
            for i in OrderSubscriptionItem.objects.filter(order_subscription=subscription).order_by(
                "created_at", "id"
            )
        ]
    else:
        items = [
            (line.sku_code, line.quantity, line.unit_amount_cents, line.currency_code)
            for line in LineItem.objects.filter(
                order_id=subscription.source_order_id, item_type="skus"
            ).order_by("created_at", "id")
        ]
    runs = list(
        SubscriptionRun.objects.filter(order_subscription=subscription).order_by("-scheduled_at")[:RUNS_SHOWN]
    )
    attempts: dict[str, list[OrderFactory]] = defaultdict(list)
    for attempt in (
        SubscriptionRunAttempt.objects.filter(subscription_run__in=[r.pk for r in runs])
        .select_related("order_factory")
        .order_by("number")
    ):
        attempts[attempt.subscription_run_id].append(attempt.order_factory)
    return SubscriptionPage(
        subscription=subscription,
        items=items,
        preview=subscriptions.preview(subscription, PREVIEW_RUNS),
        runs=[RunRow(run, attempts[run.pk]) for run in runs],
        history=history(subscription.pk),
    )


# --- orders -----------------------------------------------------------------------------------------------


def orders_found(q: str | None) -> models.QuerySet:
    qs = Order.objects.only(
        "id", "number", "status", "customer_email", "total_amount_cents", "currency_code", "created_at"
    )
    if q:
        q = q.strip()
        qs = qs.filter(models.Q(number__iexact=q) | models.Q(customer_email__icontains=q) | models.Q(pk=q))
    return qs.order_by("-created_at", "-id")


@dataclass
class OrderPage:
    order: Order
    lines: list[LineItem]
    shipments: list[Shipment]
    payment_source: Any
    made_by: OrderFactory | None
    copies: list[OrderFactory]
    subscriptions: list[OrderSubscription]
    history: list[Entry]


def order_page(order_id: str) -> OrderPage:
    from orderfactory.orders.services import payment_source_of

    order = one(
        Order.objects.select_related(
            "market", "customer", "billing_address", "shipping_address", "payment_method"
        ),
        order_id,
    )
    return OrderPage(
        order=order,
        lines=list(LineItem.objects.filter(order=order).order_by("created_at", "id")),
        shipments=list(
            Shipment.objects.filter(order=order)
            .select_related("shipping_method", "stock_location")
            .order_by("created_at", "id")
        ),
        payment_source=payment_source_of(order),
        made_by=OrderFactory.objects.filter(target_order=order).select_related("order_subscription").first(),
        copies=list(OrderFactory.objects.filter(source_order=order).order_by("-created_at", "-id")),
        subscriptions=list(OrderSubscription.objects.filter(source_order=order).order_by("created_at", "id")),
        history=history(order.pk),
    )


# --- access -----------------------------------------------------------------------------------------------


def applications() -> models.QuerySet:
    """The API applications of the operator's organization and mode (applications are not tenant rows: the
    scope is applied here)."""
    s = scopes.current()
    return Application.objects.filter(organization_id=s.organization_id, mode=s.mode).order_by(
        "-created_at", "-id"
    )


@dataclass
class WebhookRow:
    webhook: Webhook
    failed: int
    pending: int


def webhooks() -> list[WebhookRow]:
    """Two queries: the webhooks, and their deliveries counted by status."""
    counts: dict[tuple[str, str], int] = {
        (r["webhook_id"], r["status"]): r["n"]
        for r in WebhookDelivery.objects.values("webhook_id", "status")
        .annotate(n=models.Count("id"))
        .order_by()
    }
    return [
        WebhookRow(w, counts.get((w.pk, "failed"), 0), counts.get((w.pk, "pending"), 0))
        for w in Webhook.objects.order_by("created_at", "id")
    ]


@dataclass
class WebhookPage:
    webhook: Webhook
    deliveries: Page
    callbacks: list[EventCallback]


def webhook_page(webhook_id: str, status: str | None, page: str | None) -> WebhookPage:
    webhook = one(Webhook.objects.all(), webhook_id)
    deliveries = WebhookDelivery.objects.filter(webhook=webhook).select_related("event").defer("body")
    if status:
        deliveries = deliveries.filter(status=status)
    return WebhookPage(
        webhook=webhook,
        deliveries=paginate(deliveries.order_by("-created_at", "-id"), page),
        callbacks=list(
            EventCallback.objects.filter(webhook=webhook)
            .select_related("event")
            .defer("payload")
            .order_by("-created_at", "-id")[:PANEL_SIZE]
        ),
    )
