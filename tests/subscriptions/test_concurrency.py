"""Two schedulers on one PostgreSQL database, over many ticks: each scheduled run is started once, makes one
order factory, and places one order, whether the schedulers are threads of this process (with two workers
running the factories at the same time) or ``orderfactory scheduler`` processes.

PostgreSQL only: the schedulers there really overlap (``SKIP LOCKED`` batches, the unique run per subscription
and time), while SQLite has one writer at a time and serializes them whole.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from orderfactory.core import clock, scope
from orderfactory.events.models import Event
from orderfactory.factories import services as factories
from orderfactory.factories.models import OrderFactory
from orderfactory.orders.models import Order
from orderfactory.subscriptions import services
from orderfactory.subscriptions.models import OrderSubscription, SubscriptionRun, SubscriptionRunAttempt
from tests.orders.conftest import build_shop, new_order, place
from tests.subscriptions.conftest import subscribe
from tests.test_worker import orderfactory, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite has one writer at a time: concurrent schedulers cannot overlap",
    ),
]

SOURCES = 4
SUBSCRIPTIONS = 20
HOURS = 12
# Small batches, so both schedulers take part in every tick instead of the first locking every due row.
BATCH = 4
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def shop(api: Any) -> Any:
    # Stock for every run of every subscription: a stock failure would be a retry, not what this test is about.
    return build_shop(api, skus={"TSHIRT": (1500, {"milan": 100_000})})


@pytest.fixture
def subscriptions(api: Any, shop: Any) -> Callable[[], list[str]]:
    """Makes SUBSCRIPTIONS hourly subscriptions over SOURCES placed orders (their payment sources in the
    customers' wallets, so every run can place), at the clock's time; returns their ids."""
    sources = []
    for i in range(SOURCES):
        order = new_order(api, shop, {"TSHIRT": 1}, email=f"customer-{i}@example.com")
        assert (
            api.update("orders", order["id"], {"_save_payment_source_to_customer_wallet": True}).status == 200
        )
        r = place(api, order["id"])
        assert r.status == 200, r
        sources.append(r.data["id"])

    def make() -> list[str]:
        made = [subscribe(api, sources[i % SOURCES], frequency="hourly") for i in range(SUBSCRIPTIONS)]
        assert all(r.status == 201 for r in made), made
        return [r.data["id"] for r in made]

    return make


def in_thread(fn: Callable[[], None], failures: list[BaseException]) -> threading.Thread:
    """``fn`` in a thread of its own, on its own database connection, closed when it ends."""

    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)
        finally:
            connection.close()

    return threading.Thread(target=target)


def one_hour(ticks: list[dict[str, int]], jobs: list[tuple[str, str | None]]) -> None:
    """Two schedulers ticking twice each, and two workers running every pending factory (both of them, in
    shuffled orders: each job is delivered twice) until the schedulers are done and nothing is pending."""
    start = threading.Barrier(4)
    schedulers_done = threading.Event()
    failures: list[BaseException] = []

    def scheduler() -> None:
        start.wait()
        for _ in range(2):
            ticks.append(services.tick(batch=BATCH))

    def worker(seed: int) -> None:
        shuffle = random.Random(seed).shuffle
        start.wait()
        while True:
            # Read before the query: once the schedulers are done, the query sees every factory they made.
            done = schedulers_done.is_set()
            pending = list(OrderFactory.unscoped.filter(status="pending").values_list("pk", flat=True))
            if not pending and done:
                return
            shuffle(pending)
            jobs.extend((factory_id, factories.run(factory_id)) for factory_id in pending)
            if not pending:
                time.sleep(0.005)

    schedulers = [in_thread(scheduler, failures) for _ in range(2)]
    workers = [in_thread(lambda seed=seed: worker(seed), failures) for seed in range(2)]
    for thread in [*schedulers, *workers]:
        thread.start()
    for thread in schedulers:
        thread.join(120)
    schedulers_done.set()
    for thread in workers:
        thread.join(120)
    assert not failures, failures
    assert not any(thread.is_alive() for thread in [*schedulers, *workers]), "a scheduler or worker hangs"


def assert_each_run_made_one_placed_order(api: Any, expected: dict[str, list[dt.datetime]]) -> None:
    """``expected``: subscription id -> the times it was scheduled at, each of which has exactly one run, one
    attempt, one completed factory claimed once, and one placed target order of its own."""
    with scope.active(api.scope()):
        runs = list(
            SubscriptionRun.objects.filter(order_subscription_id__in=expected).order_by("scheduled_at")
        )
        per_time = Counter((run.order_subscription_id, run.scheduled_at) for run in runs)
        assert per_time == Counter((sid, at) for sid, times in expected.items() for at in times)
        assert Counter(run.status for run in runs) == {"succeeded": len(runs)}
        assert Counter(run.attempts for run in runs) == {1: len(runs)}
        attempts = list(
            SubscriptionRunAttempt.objects.filter(subscription_run__in=runs).select_related("order_factory")
        )
        assert Counter(a.subscription_run_id for a in attempts) == Counter({run.pk: 1 for run in runs})
        factory_of = {a.subscription_run_id: a.order_factory for a in attempts}
        assert Counter((f.status, f.attempts) for f in factory_of.values()) == {("completed", 1): len(runs)}
        targets = [run.target_order_id for run in runs]
        assert targets == [factory_of[run.pk].target_order_id for run in runs]
        assert len(set(targets)) == len(runs) and None not in targets
        placed = Order.objects.filter(pk__in=targets, status="placed").count()
        assert placed == Order.objects.filter(status="placed").count() - SOURCES == len(runs)
        # Each run and each factory started once: one event, one webhook topic fired, each.
        started = Counter(
            Event.objects.filter(name="order_subscriptions.run").values_list("resource_id", flat=True)
        )
        assert started == Counter({sid: len(times) for sid, times in expected.items()})
        factory_starts = Counter(
            Event.objects.filter(name="order_copies.start").values_list("resource_id", flat=True)
        )
        assert factory_starts == Counter({f.pk: 1 for f in factory_of.values()})


def alerts(api: Any) -> Counter[str]:
    with scope.active(api.scope()):
        return Counter(
            Event.objects.filter(name="order_subscriptions.renewal_alert").values_list(
                "resource_id", flat=True
            )
        )


def test_two_scheduler_threads_and_two_workers_over_twelve_hours(api, subscriptions):
    ticks: list[dict[str, int]] = []
    jobs: list[tuple[str, str | None]] = []
    with clock.frozen(clock.now()) as advance:
        start = clock.now()
        ids = subscriptions()
        advance(MINUTE)
        for _ in range(HOURS):
            advance(HOUR)
            one_hour(ticks, jobs)
        with scope.active(api.scope()):
            states = list(
                OrderSubscription.objects.filter(pk__in=ids).values_list(
                    "status", "occurrencies", "next_run_at"
                )
            )

    assert sum(t["runs"] for t in ticks) == SUBSCRIPTIONS * HOURS
    assert sum(t["skipped"] + t["retries"] for t in ticks) == 0
    # Every job was delivered twice and ran once: the other delivery found it claimed and did nothing.
    finished = Counter(factory_id for factory_id, status in jobs if status is not None)
    assert len(finished) == SUBSCRIPTIONS * HOURS and set(finished.values()) == {1}
    assert {status for _, status in jobs} == {"completed", None}
    assert set(states) == {("active", HOURS, start + (HOURS + 1) * HOUR)}
    times = [start + n * HOUR for n in range(1, HOURS + 1)]
    assert_each_run_made_one_placed_order(api, dict.fromkeys(ids, times))
    # One renewal alert per run announced (the runs at 2..13 hours: no tick came before the first one).
    assert alerts(api) == Counter(dict.fromkeys(ids, HOURS))


def test_two_scheduler_processes_start_each_due_run_once(api, subscriptions, tmp_path):
    ids = subscriptions()
    # Due a few minutes ago by the real clock (within the missed-run grace, so on time); a different time per
    # subscription, so a run started for the wrong one would show.
    due = {sid: clock.now() - dt.timedelta(minutes=5, seconds=i) for i, sid in enumerate(ids)}
    with scope.active(api.scope()):
        for sid, at in due.items():
            OrderSubscription.objects.filter(pk=sid).update(anchor_at=at, next_run_at=at)

    def started() -> int:
        with scope.active(api.scope()):
            return SubscriptionRun.objects.count()

    with (
        orderfactory(tmp_path, "scheduler", "--interval", "0.2") as first,
        orderfactory(tmp_path, "scheduler", "--interval", "0.2") as second,
    ):
        wait_for(lambda: started() == SUBSCRIPTIONS, "every due run started", processes=(first, second))
        time.sleep(1)  # a few more ticks of both, which must start nothing
    assert (first.returncode, second.returncode) == (0, 0)
    for process in (first, second):
        assert "scheduler tick failed" not in process.log.read_text()

    jobs = [
        factories.run(f) for f in OrderFactory.unscoped.filter(status="pending").values_list("pk", flat=True)
    ]
    assert jobs == ["completed"] * SUBSCRIPTIONS
    assert_each_run_made_one_placed_order(api, {sid: [at] for sid, at in due.items()})
    with scope.active(api.scope()):
        states = dict(OrderSubscription.objects.filter(pk__in=ids).values_list("pk", "next_run_at"))
    assert states == {sid: at + HOUR for sid, at in due.items()}
    assert alerts(api) == Counter(dict.fromkeys(ids, 1))  # for the next run, once
