"""The scheduler: each pass (``tick``) starts the runs that are due, retries the attempts whose backoff is
over and sends renewal alerts; then follows each attempt to its end.

Commerce Layer counts a failed run and moves on. Here every scheduled run is a ``SubscriptionRun`` (unique per
subscription and scheduled time), retried by a policy that treats payment and stock failures apart; each
attempt is its own order factory linked to the run, and a run that succeeded is never attempted again. A run,
top to bottom: ``tick`` -> ``_start_due_runs`` -> ``_attempt`` (an order factory, which the worker runs) ->
the factory's ending event -> ``follow_attempt`` -> succeeded, ``retrying`` (``tick`` attempts it again
after its backoff) or failed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, models, transaction

from orderfactory.core import clock, hooks, locks
from orderfactory.core import scope as scopes
from orderfactory.factories import services as factories
from orderfactory.factories.failures import PAYMENT_CODES, STOCK_CODES, code_of, is_one_of
from orderfactory.factories.models import ENDINGS, KINDS, OrderFactory
from orderfactory.subscriptions import schedule
from orderfactory.subscriptions.models import OrderSubscription, SubscriptionRun, SubscriptionRunAttempt
from orderfactory.subscriptions.services.rules import MISSED_GRACE, policy


def worker_scope(organization_id: str, mode: str) -> scopes.Scope:
    return scopes.worker(organization_id, mode, "scheduler")


def tick(now: dt.datetime | None = None, batch: int = 200) -> dict[str, int]:
    """One pass of the scheduler: start due runs, retry failed attempts whose backoff is over, send renewal
    alerts. Safe to run from several processes at once. Returns counters."""
    batch = max(batch, 1)
    now = now or clock.now()
    counts = {"runs": 0, "skipped": 0, "retries": 0, "alerts": 0}
    while True:
        with transaction.atomic():
            due = locks.claim(
                OrderSubscription.unscoped.filter(status="active", next_run_at__lte=now)
                .filter(models.Q(paused_until__isnull=True) | models.Q(paused_until__lte=now))
                .select_related("subscription_model")
                .order_by("next_run_at", "id"),
                batch,
            )
            for subscription in due:
                with scopes.active(worker_scope(subscription.organization_id, subscription.mode)):
                    started, skipped = _start_due_runs(subscription, now)
                counts["runs"] += started
                counts["skipped"] += skipped
        if len(due) < batch:
            break
    with transaction.atomic():
        retries = locks.claim(
            SubscriptionRun.unscoped.filter(status="retrying", next_attempt_at__lte=now)
            .select_related("order_subscription")
            .order_by("next_attempt_at", "id"),
            batch,
        )
        for run in retries:
            with scopes.active(worker_scope(run.organization_id, run.mode)):
                if run.order_subscription.status in ("active", "running"):
                    _attempt(run.order_subscription, run)
                    counts["retries"] += 1
                else:
                    run.status, run.next_attempt_at = "failed", None
                    run.save(update_fields=["status", "next_attempt_at", "updated_at"])
    counts["alerts"] = renewal_alerts(now, batch)
    return counts


def _start_due_runs(subscription: OrderSubscription, now: dt.datetime) -> tuple[int, int]:
    """The runs due since the last pass, each started or skipped, and the subscription moved on to its next
    run. Its events are written once it is saved, so their webhook payloads show its new state."""
    with hooks.batched(), hooks.recording("order_subscriptions", subscription):
        return _advance(subscription, now)


def _advance(subscription: OrderSubscription, now: dt.datetime) -> tuple[int, int]:
    anchor = subscription.anchor_at or subscription.next_run_at
    assert subscription.next_run_at is not None and anchor is not None
    times = schedule.runs_between(anchor, subscription.frequency, subscription.next_run_at, now)
    next_run = (
        schedule.next_after(anchor, subscription.frequency, times[-1]) if times else subscription.next_run_at
    )
    if subscription.expires_at is not None:
        times = [t for t in times if t < subscription.expires_at]
    missed = [
        t
        for t in times
        if t < now - MISSED_GRACE or (subscription.paused_until and t < subscription.paused_until)
    ]
    on_time = [t for t in times if t not in missed]
    missed_policy = policy(subscription, "missed_runs_policy")
    to_run: list[tuple[dt.datetime, bool]] = [(t, False) for t in on_time]
    to_skip: list[tuple[dt.datetime, bool]] = []
    if missed:
        if missed_policy == "run_all":
            to_run = [(t, True) for t in missed] + to_run
        elif missed_policy == "run_once" and not on_time:
            to_run = [(missed[-1], True)]
            to_skip = [(t, True) for t in missed[:-1]]
        else:
            to_skip = [(t, True) for t in missed]
    started = skipped = 0
    for scheduled_at, was_missed in to_skip:
        skipped += _record_skipped(subscription, scheduled_at, was_missed, missed_policy)
    for scheduled_at, was_missed in to_run:
        if subscription.skip_runs > 0:
            subscription.skip_runs -= 1
            skipped += _record_skipped(
                subscription, scheduled_at, was_missed, missed_policy if was_missed else None
            )
            continue
        run = _new_run(subscription, scheduled_at, was_missed, missed_policy if was_missed else None)
        if run is None:
            continue  # another scheduler started this run
        _attempt(subscription, run)
        started += 1
    expired = subscription.expires_at is not None and next_run >= subscription.expires_at
    subscription.next_run_at = None if expired else next_run
    subscription.paused_until = (
        subscription.paused_until if subscription.paused_until and subscription.paused_until > now else None
    )
    if started:
        subscription.status = "running"
    elif expired and subscription.status == "active":
        subscription.status = "inactive"
    subscription.save(update_fields=["next_run_at", "paused_until", "skip_runs", "status", "updated_at"])
    return started, skipped


def _new_run(
    subscription: OrderSubscription,
    scheduled_at: dt.datetime,
    missed: bool,
    missed_policy: str | None,
    status: str = "running",
) -> SubscriptionRun | None:
    try:
        with transaction.atomic():
            return SubscriptionRun.objects.create(
                order_subscription=subscription,
                scheduled_at=scheduled_at,
                status=status,
                missed=missed,
                missed_runs_policy=missed_policy,
            )
    except IntegrityError:
        return None


def _record_skipped(
    subscription: OrderSubscription, scheduled_at: dt.datetime, missed: bool, missed_policy: str | None
) -> int:
    run = _new_run(
        subscription, scheduled_at, missed, missed_policy, status="missed" if missed else "skipped"
    )
    if run is not None:
        hooks.event("order_subscriptions.skip", "order_subscriptions", subscription)
    return int(run is not None)


def _attempt(subscription: OrderSubscription, run: SubscriptionRun) -> None:
    """Start one attempt of a run: an order factory (a recurring copy for automatic subscriptions, an order copy
    for manual ones) that places its target, linked to the run."""
    kind = "recurring_order_copies" if subscription.automatic else "order_copies"
    factory = factories.create_factory(
        kind,
        {
            "source_order_id": subscription.source_order_id,
            "order_subscription_id": subscription.pk,
            "place_target_order": subscription.place_target_order,
            "reuse_wallet": True,
            "unavailable_lines": subscription.unavailable_lines,
            "prices": subscription.prices,
        },
    )
    hooks.on_write("create", kind, factory, None)
    run.attempts += 1
    run.status, run.next_attempt_at = "running", None
    run.save(update_fields=["attempts", "status", "next_attempt_at", "updated_at"])
    SubscriptionRunAttempt.objects.create(subscription_run=run, order_factory=factory, number=run.attempts)
    hooks.event("order_subscriptions.run", "order_subscriptions", subscription)


def _alert_periods(now: dt.datetime) -> list[int]:
    """The distinct ``renewal_alert_period`` of subscriptions with a run to come, one index lookup each (the
    subscription_alert index, in period order) rather than a scan of every subscription."""
    periods: list[int] = []
    while True:
        following = OrderSubscription.unscoped.filter(next_run_at__gt=now)
        if periods:
            following = following.filter(renewal_alert_period__gt=periods[-1])
        period = following.order_by("renewal_alert_period").values_list("renewal_alert_period", flat=True)[:1]
        if not period:
            return periods
        periods.append(period[0])


def renewal_alerts(now: dt.datetime, batch: int) -> int:
    """``order_subscriptions.renewal_alert``, ``renewal_alert_period`` hours before each run, once per run."""
    sent = 0
    pending = OrderSubscription.unscoped.filter(
        status__in=("active", "running"), next_run_at__gt=now
    ).exclude(renewal_alert_sent_for=models.F("next_run_at"))
    # Whose window is open, decided in SQL (one condition per distinct period, at most 720), so subscriptions
    # whose window is not open yet cannot crowd out those whose window is. Each condition is a range of the
    # subscription_alert index: the rows read are those whose window is open, however many subscriptions
    # there are.
    periods = _alert_periods(now)
    if not periods:
        return 0
    window = models.Q()
    for period in periods:
        window |= models.Q(renewal_alert_period=period, next_run_at__lte=now + dt.timedelta(hours=period))
    candidates = pending.filter(window).order_by("next_run_at")
    for subscription in candidates[: batch * 10]:
        assert subscription.next_run_at is not None
        if subscription.next_run_at - dt.timedelta(hours=subscription.renewal_alert_period) > now:
            continue
        with (
            scopes.active(worker_scope(subscription.organization_id, subscription.mode)),
            transaction.atomic(),
        ):
            claimed = (
                OrderSubscription.objects.filter(pk=subscription.pk, next_run_at=subscription.next_run_at)
                .exclude(renewal_alert_sent_for=subscription.next_run_at)
                .update(renewal_alert_sent_for=subscription.next_run_at)
            )
            if claimed:
                hooks.event("order_subscriptions.renewal_alert", "order_subscriptions", subscription)
                sent += 1
    return sent


# --- following the attempts ----------------------------------------------------------------------------------


def failure_kind(errors_details: list[dict[str, Any]], errors_log: dict[str, list[str]]) -> str:
    """payment | stock | other, from the codes of the failed attempt's retryable problems (stock first); for a
    factory written before codes existed (no errors_details), from errors_log's keys alone."""
    if errors_details:
        retryable = [code for code in map(code_of, errors_details) if code is not None and code.retryable]
        if any(is_one_of(code, STOCK_CODES) for code in retryable):
            return "stock"
        if any(is_one_of(code, PAYMENT_CODES) for code in retryable):
            return "payment"
        return "other"
    return "payment" if set(errors_log) & {"payment_source", "payment_method"} else "other"


ATTEMPT_ENDINGS = {f"{kind}.{name}": status for kind in KINDS for name, status in ENDINGS.items()}


@hooks.register_event
def _on_event(name: str, resource_type: str, instance: Any) -> None:
    if name in ATTEMPT_ENDINGS:
        follow_attempt(instance, ATTEMPT_ENDINGS[name])


def follow_attempt(factory: OrderFactory, status: str) -> None:
    """A run's attempt ended: the run succeeds, is retried after a backoff, or fails; the subscription records
    the attempt (``last_run_at``, ``succeeded_on_last_run``; ``errors_count`` for every failed attempt,
    ``occurrencies`` for a run that succeeded) and is active again.
    ``factory``: the attempt's factory as it was just saved. Only a factory made for a subscription can be a run."""
    if not factory.order_subscription_id:
        return
    attempt = (
        SubscriptionRunAttempt.unscoped.select_related("subscription_run")
        .filter(order_factory_id=factory.pk)
        .first()
    )
    if attempt is None:
        return
    with scopes.active(worker_scope(attempt.organization_id, attempt.mode)), transaction.atomic():
        run = locks.lock_one(SubscriptionRun.objects, attempt.subscription_run_id)
        assert run is not None  # its attempt's row refers to it
        subscription = locks.lock_one(
            OrderSubscription.objects.select_related("subscription_model"), run.order_subscription_id
        )
        assert subscription is not None
        if run.status in ("succeeded", "failed"):
            return
        with hooks.recording("order_subscriptions", subscription):
            _record_attempt(run, subscription, factory, status)


def _record_attempt(
    run: SubscriptionRun, subscription: OrderSubscription, factory: OrderFactory, status: str
) -> None:
    now = clock.now()
    if status == "completed":
        run.status, run.target_order_id, run.next_attempt_at = "succeeded", factory.target_order_id, None
        subscription.last_run_at = now
        subscription.occurrencies += 1
        subscription.succeeded_on_last_run = True
    else:
        kind = (
            failure_kind(factory.errors_details or [], factory.errors_log or {})
            if status == "failed"
            else "other"
        )
        run.failure_kind = kind
        # Every failed attempt counts in Commerce Layer's fields at once, retried or not: a client
        # watching them must see a failing subscription. The retry is the run's (subscription_runs).
        subscription.last_run_at = now
        subscription.errors_count += 1
        subscription.succeeded_on_last_run = False
        allowed = {
            "payment": policy(subscription, "payment_retry_attempts"),
            "stock": policy(subscription, "stock_retry_attempts"),
        }.get(kind, 0)
        if run.attempts <= allowed and subscription.status in ("active", "running"):
            run.status = "retrying"
            run.next_attempt_at = now + dt.timedelta(
                hours=float(policy(subscription, "retry_backoff_hours")) * (2 ** (run.attempts - 1))
            )
        else:
            run.status, run.next_attempt_at = "failed", None
            after = policy(subscription, "after_retries")
            if after == "deactivate" and subscription.status in ("active", "running"):
                subscription.status = "inactive"
            elif after == "cancel" and subscription.status != "cancelled":
                subscription.status, subscription.next_run_at = "cancelled", None
    run.save()
    if (
        subscription.status == "running"
        and not SubscriptionRun.objects.filter(order_subscription=subscription, status="running")
        .exclude(pk=run.pk)
        .exists()
    ):
        subscription.status = "active"
    if subscription.status == "active" and subscription.next_run_at is None and subscription.expires_at:
        subscription.status = "inactive"  # no run left before it expires
    subscription.save()
