"""Subscription scheduler throughput: ``--subscriptions`` (default 10,000) due subscriptions on a temporary
database, each run copying and placing a small order.

On a temporary database (a SQLite file in a temporary data directory by default; with ``--database-url`` a
fresh PostgreSQL database named after the URL's with a random suffix, dropped at the end), it migrates with
``orderfactory migrate``, seeds a shop and ``--sources`` placed orders through the order services (their wire
transfers saved in their customers' wallets, so every run can place), then bulk-inserts the subscriptions,
hourly and due a minute ago, spread over the sources. Then, twice:

- **tick**: the scheduler starts every due run (one ``services.tick()`` in this process): runs started per
  second;
- **drain**: the order factories of those runs are run until none is pending or in progress, by
  ``orderfactory serve`` and its embedded worker (first round), then by two ``orderfactory worker
  --concurrency 1`` processes (second round, after the subscriptions are made due again): runs per second
  and the time to drain, from the processes' start and, inside the database, from the first factory
  claimed to the last one finished.

It also prints how many jobs were queued per factory: above 1 when the periodic sweep re-queued factories
still pending after their lease (``ORDERFACTORY_FACTORY_LEASE_SECONDS``), i.e. when the backlog outlasts it.
Figures only: nothing here asserts a timing.

    .venv/bin/python bench/scheduler.py [--subscriptions 10000] [--sources 200]
    .venv/bin/python bench/scheduler.py --subscriptions 2000    # a quick run
    .venv/bin/python bench/scheduler.py --database-url postgresql://postgres@127.0.0.1:5432/of_bench_sched
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from api_read import BenchError, _cli, _free_port, _wait_until_listening
from copy_throughput import Shop, environment, process, setup_django, tenant_scope

BULK = 1000
UNFINISHED = ("pending", "in_progress")


@contextmanager
def temporary_database(url: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database beside the one ``url`` names, dropped on the way out; for
    SQLite (no URL), the empty string: the default file in the temporary data directory."""
    if not url:
        yield ""
        return
    import dj_database_url
    import psycopg
    from psycopg import sql

    cfg = dj_database_url.parse(url)
    name = f"{cfg['NAME']}_{secrets.token_hex(4)}"
    server = {
        k: v
        for k, v in {
            "host": cfg["HOST"],
            "port": cfg["PORT"],
            "user": cfg["USER"],
            "password": cfg["PASSWORD"],
        }.items()
        if v
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# --- seeding, in this process ---------------------------------------------------------------------------


def placed_source(shop: Shop, index: int, lines: int) -> str:
    """A placed order of ``lines`` SKU lines whose wire transfer is saved in its customer's wallet."""
    return shop.placed_order(lines, customer_email=f"customer-{index}@bench.example", save_to_wallet=True)


def subscribe_all(source_ids: list[str], count: int, due: dt.datetime) -> None:
    """``count`` active hourly subscriptions due at ``due``, as ``create_manual`` would make them (its checks
    skipped: the sources are placed and in one market), in bulk."""
    from orderfactory.customers.services import wallet_entry_for
    from orderfactory.orders.models import Order
    from orderfactory.subscriptions.models import OrderSubscription

    sources = list(Order.objects.filter(pk__in=source_ids).order_by("id"))
    wallet = {o.pk: wallet_entry_for(o.payment_source_type, o.payment_source_id) for o in sources}
    if None in wallet.values():
        raise BenchError(
            "a source order's payment source is not in its customer's wallet: runs could not place"
        )
    rows = []
    for i in range(count):
        source = sources[i % len(sources)]
        rows.append(
            OrderSubscription(
                number=f"{source.number}/S/{i // len(sources) + 1}",
                status="active",
                frequency="hourly",
                market_id=source.market_id,
                source_order=source,
                customer_id=source.customer_id,
                customer_email=source.customer_email,
                customer_payment_source=wallet[source.pk],
                anchor_at=due,
                next_run_at=due,
            )
        )
    OrderSubscription.objects.bulk_create(rows, batch_size=BULK)


def make_due_again(due: dt.datetime) -> int:
    """Every subscription due (again) at ``due``: a new scheduled time, so a new run each."""
    from orderfactory.subscriptions.models import OrderSubscription

    return OrderSubscription.objects.update(status="active", anchor_at=due, next_run_at=due)


# --- measuring ------------------------------------------------------------------------------------------


def tick(expected: int) -> float:
    """One scheduler tick in this process; the seconds it took to start ``expected`` runs."""
    from orderfactory.subscriptions import services

    started = time.perf_counter()
    counts = services.tick()
    elapsed = time.perf_counter() - started
    if counts["runs"] != expected:
        raise BenchError(f"the tick started {counts['runs']} runs, not {expected}: {counts}")
    return elapsed


def drain(children: list[subprocess.Popen[bytes]], logs: list[Path], began: float, stall: float) -> float:
    """Wait until no factory is pending or in progress; the seconds since ``began``. Gives up when none has
    finished for ``stall`` seconds (a worker failing every job would otherwise keep it waiting for ever)."""
    from orderfactory.factories.models import OrderFactory

    left, progressed = -1, time.monotonic()
    while True:
        unfinished = OrderFactory.unscoped.filter(status__in=UNFINISHED).count()
        if not unfinished:
            return time.perf_counter() - began
        if unfinished != left:
            left, progressed = unfinished, time.monotonic()
        for child, log in zip(children, logs, strict=True):
            if child.poll() is not None:
                raise BenchError(f"a worker exited with {child.returncode}:\n{log.read_text()[-2000:]}")
        if time.monotonic() - progressed > stall:
            tails = "\n".join(log.read_text()[-2000:] for log in logs)
            raise BenchError(
                f"{unfinished} factories unfinished and none finished for {stall:.0f} s:\n{tails}"
            )
        time.sleep(0.25)


def factories_report(since: dt.datetime) -> tuple[dict[str, int], float, float]:
    """The factories made since ``since``: count per status, the seconds from the first claim to the last
    finish, and the jobs queued per factory."""
    from django.db.models import Count, Max, Min
    from django.db.models.functions import Coalesce
    from django_tasks_db.models import DBTaskResult

    from orderfactory.factories.models import OrderFactory

    made = OrderFactory.unscoped.filter(created_at__gte=since)
    statuses = dict(made.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    span = made.aggregate(first=Min("started_at"), last=Max(Coalesce("completed_at", "failed_at")))
    jobs = DBTaskResult.objects.filter(
        enqueued_at__gte=since, task_path__endswith=".run_order_factory"
    ).count()
    factories = sum(statuses.values())
    return statuses, (span["last"] - span["first"]).total_seconds(), jobs / factories


def measure(name: str, env: dict[str, str], data_dir: str, count: int, stall: float) -> None:
    from orderfactory.core import clock
    from orderfactory.subscriptions.models import SubscriptionRun

    since = clock.now()
    seconds = tick(count)
    print(
        f"{name:<8} tick: {count} runs started in {seconds:.2f} s: {count / seconds:.0f} runs/s", flush=True
    )
    with ExitStack() as stack:
        if name == "embedded":
            port = _free_port()
            logs = [Path(data_dir) / f"serve-{port}.log"]
            began = time.perf_counter()
            children = [
                stack.enter_context(process(env, logs[0], "serve", "--port", str(port), "--threads", "2"))
            ]
            _wait_until_listening(children[0], port, logs[0])
        else:
            logs = [Path(data_dir) / f"worker-{i}-{time.monotonic_ns()}.log" for i in range(2)]
            began = time.perf_counter()
            children = [
                stack.enter_context(process(env, log, "worker", "--concurrency", "1")) for log in logs
            ]
        seconds = drain(children, logs, began, stall)
    statuses, in_database, jobs = factories_report(since)
    succeeded = SubscriptionRun.unscoped.filter(created_at__gte=since, status="succeeded").count()
    print(
        f"{name:<8} drain: {count} runs in {seconds:.1f} s from the start of the processes ({count / seconds:.1f} runs/s), "
        f"{in_database:.1f} s from the first claim to the last finish ({count / in_database:.1f} runs/s); factories {statuses}, "
        f"runs succeeded {succeeded}, {jobs:.2f} jobs queued per factory",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--subscriptions", type=int, default=10_000, help="due subscriptions (default 10,000)"
    )
    parser.add_argument("--sources", type=int, default=200, help="placed orders the subscriptions copy")
    parser.add_argument("--lines", type=int, default=2, help="SKU line items per source order")
    parser.add_argument(
        "--stall", type=float, default=120, help="seconds without a finished factory before giving up"
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL URL (a database beside it is created and dropped); default a temporary SQLite file",
    )
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="of-bench-scheduler-") as data_dir,
        temporary_database(args.database_url) as url,
    ):
        env = environment(data_dir, url)
        _cli(env, "migrate")
        app = json.loads(
            _cli(
                env, "apps", "create", "--name", "bench", "--kind", "integration", "--mode", "test", "--json"
            )
        )
        setup_django(env)
        from orderfactory.core import clock, scope

        with scope.active(tenant_scope(app)):
            began = time.perf_counter()
            shop = Shop(args.lines)
            sources = [placed_source(shop, i, args.lines) for i in range(args.sources)]
            seeded = time.perf_counter()
            subscribe_all(sources, args.subscriptions, clock.now() - dt.timedelta(minutes=1))
            database = "PostgreSQL" if url else "SQLite"
            print(
                f"database: {database}; {args.sources} placed source orders of {args.lines} lines in {seeded - began:.1f} s, "
                f"{args.subscriptions} due subscriptions in {time.perf_counter() - seeded:.1f} s",
                flush=True,
            )
            measure("embedded", env, data_dir, args.subscriptions, args.stall)
            make_due_again(clock.now() - dt.timedelta(minutes=1))
            measure("workers", env, data_dir, args.subscriptions, args.stall)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
