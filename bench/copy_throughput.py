"""Order copy throughput, end to end, against a raw SQL ceiling.

On a temporary database (SQLite by default, PostgreSQL with ``--database-url``), seeds ``--orders`` placed
orders of ``--lines`` SKU line items through the services, then measures copies per second from the first
``POST /api/order_copies`` to the last copy ``completed``, copying the same orders ``--rounds`` times per
phase (the median counts):

- **embedded**: ``orderfactory serve`` with its embedded worker;
- **workers**: ``orderfactory serve --no-worker`` plus one ``orderfactory worker --concurrency 2`` (two worker
  processes under a supervisor);
- **ceiling**: the same orders copied with raw SQL through the DB-API cursor, order row and line rows, one
  transaction per copy (no checks, no prices, no shipments: the least a copy can cost on this database),
  ``--ceiling-rounds`` times before, between and after the two phases; the median counts.

Batch (``--batch N``, per phase): N copies of N distinct placed orders (beyond ``--orders``, clones of one of
them written set-wise: bench/clones.py) through one ``POST /api/order_copy_batches``, from the POST to the
batch ``completed``: the expansion job and the copies' jobs on the phase's workers (target: >= 1.0 of the
ceiling on PostgreSQL, i.e. faster than raw SQL copying one transaction at a time).
- **rich** (issue 13): inside the embedded phase's server, ``--rich-orders`` placed rich orders of ``--lines``
  lines (taxes from a manual tax calculator, a volume-tiered price, an adjustment that distributes its
  discount, a zone-restricted shipping method; issue 14: options, a bundle, a gift card redeemed, a
  percentage, a fixed amount and a free shipping promotion: bench/rich_orders.py) copied ``--rounds`` times;
  what one holds is printed once seeded; its copies/s
  and its ratio to the plain embedded phase of the same run (0: no rich phase).

It prints copies/s per phase, the ratios to the ceiling (targets: >= 0.25 embedded, >= 0.5 workers on
PostgreSQL), and the time of one copy at ``--sizes`` lines (default 100 and 1000; target: a 1,000-line copy
costs <= 12x a 100-line one), both end to end and inside the worker (``completed_at - started_at``).

Latency (``--latency-copies``, per phase): on an idle server with the default poll interval, one copy at a
time of a ``--lines`` order, from just before its POST to its ``completed_at``, with a pause between copies
so the worker is idle each time (p50 and p99; targets <= 30 ms and <= 60 ms). Figures only: nothing here
asserts a timing.

    .venv/bin/python bench/copy_throughput.py [--orders 200] [--lines 10] [--rich-orders 50]
    .venv/bin/python bench/copy_throughput.py --database-url postgresql://postgres@127.0.0.1:5432/of_bench_copy
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from api_read import BenchError, Endpoint, _cli, _free_port, _wait_until_listening, call, expect
from clones import clone_placed_order, shape
from rich_orders import RichMarket

ROOT = Path(__file__).resolve().parents[1]
JSONAPI = "application/vnd.api+json"


# --- processes ----------------------------------------------------------------------------------------


def environment(data_dir: str, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
        "ORDERFACTORY_DATA_DIR": data_dir,
        "ORDERFACTORY_DATABASE_URL": database_url,
        "ORDERFACTORY_RATE_LIMITS": "off",
        "ORDERFACTORY_WORKER_POLL_INTERVAL": "0.02",
        "XDG_RUNTIME_DIR": data_dir,
    }


@contextmanager
def process(env: dict[str, str], log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "orderfactory.cli", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield child
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def default_polling(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the workers' default poll interval, as an install has it."""
    return {k: v for k, v in env.items() if k != "ORDERFACTORY_WORKER_POLL_INTERVAL"}


@contextmanager
def server(env: dict[str, str], data_dir: str, standalone_workers: bool) -> Iterator[Endpoint]:
    port = _free_port()
    with ExitStack() as stack:
        log = Path(data_dir) / f"serve-{port}.log"
        args = ["serve", "--port", str(port), "--threads", "4"] + (
            ["--no-worker"] if standalone_workers else []
        )
        served = stack.enter_context(process(env, log, *args))
        _wait_until_listening(served, port, log)
        if standalone_workers:
            stack.enter_context(
                process(env, Path(data_dir) / f"worker-{port}.log", "worker", "--concurrency", "2")
            )
        yield Endpoint("127.0.0.1", port)


def token(endpoint: Endpoint, app: dict[str, Any]) -> str:
    connection = endpoint.connect()
    body = json.dumps(
        {
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        }
    )
    status, answer = call(
        connection, "POST", "/oauth/token", {"Content-Type": "application/json"}, body.encode()
    )
    connection.close()
    return str(json.loads(expect(status, answer, 200, "POST /oauth/token"))["access_token"])


# --- seeding, in this process, through the services ---------------------------------------------------


def setup_django(env: dict[str, str]) -> None:
    for key in ("ORDERFACTORY_DATA_DIR", "ORDERFACTORY_DATABASE_URL"):
        os.environ[key] = env[key]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderfactory.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def prepared(env: dict[str, str], database_url: str) -> dict[str, Any]:
    """The bench's database created (PostgreSQL) and migrated, an integration application of a new organization
    made by the CLI (returned as it prints it), and Django set up in this process on that database."""
    if database_url:
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "ensure_database.py"), database_url], check=True
        )
    _cli(env, "migrate")
    app: dict[str, Any] = json.loads(
        _cli(
            env, "apps", "create", "--name", "bench", "--kind", "integration", "--mode", "test",
            "--organization", f"bench-{secrets.token_hex(4)}", "--json",
        )
    )  # fmt: skip
    setup_django(env)
    return app


def tenant_scope(app: dict[str, Any]) -> Any:
    from orderfactory.core import scope

    return scope.Scope(
        organization_id=app["organization_id"],
        organization_slug=app["organization"],
        mode=app["mode"],
        application_id=app["id"],
        application_kind=app["kind"],
    )


class Shop:
    """A market with ``max_lines`` SKUs in ample stock, a shipping method and a wire-transfer payment method."""

    def __init__(self, max_lines: int) -> None:
        from orderfactory.addresses.models import Address
        from orderfactory.catalog.models import (
            Market,
            Merchant,
            Price,
            PriceList,
            ShippingCategory,
            ShippingMethod,
            Sku,
        )
        from orderfactory.inventory.models import (
            InventoryModel,
            InventoryStockLocation,
            StockItem,
            StockLocation,
        )
        from orderfactory.payments.models import ManualGateway, PaymentMethod

        self.address = {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "line_1": "Via Roma 1",
            "city": "Milano",
            "zip_code": "20100",
            "country_code": "IT",
            "phone": "+39 02 1",
        }
        merchant = Merchant.objects.create(
            name="Bench", address=Address.objects.create(**self.address, business=True, company="Bench")
        )
        price_list = PriceList.objects.create(name="EUR", currency_code="EUR")
        model = InventoryModel.objects.create(name="Bench")
        location = StockLocation.objects.create(
            number=1,
            name="main",
            code="main",
            address=Address.objects.create(**self.address, business=True, company="main"),
        )
        InventoryStockLocation.objects.create(stock_location=location, inventory_model=model, priority=1)
        category = ShippingCategory.objects.create(name="Default")
        method = ShippingMethod.objects.create(name="Standard", price_amount_cents=700, currency_code="EUR")
        self.market = Market.objects.create(
            name="Bench",
            code="BENCH",
            merchant=merchant,
            price_list=price_list,
            inventory_model=model,
            default_shipping_method=method,
        )
        gateway = ManualGateway.objects.create(name="Manual")
        self.payment_method = PaymentMethod.objects.create(
            name="Wire transfer",
            payment_source_type="wire_transfers",
            market=self.market,
            payment_gateway_type="manual_gateways",
            payment_gateway_id=gateway.pk,
            price_amount_cents=0,
        )
        self.skus = Sku.objects.bulk_create(
            [
                Sku(
                    code=f"SKU{i:05d}",
                    name=f"Item {i}",
                    shipping_category=category,
                    image_url=f"https://img/{i}.png",
                )
                for i in range(max_lines)
            ]
        )
        Price.objects.bulk_create(
            [
                Price(price_list=price_list, sku=sku, amount_cents=100 + i, currency_code="EUR")
                for i, sku in enumerate(self.skus)
            ]
        )
        StockItem.objects.bulk_create(
            [StockItem(stock_location=location, sku=sku, quantity=10**7) for sku in self.skus]
        )

    def placed_order(
        self, lines: int, customer_email: str = "bench@example.com", save_to_wallet: bool = False
    ) -> str:
        """A placed order of ``lines`` SKU lines paid by wire transfer (saved in the customer's wallet when
        ``save_to_wallet``)."""
        from django.db import transaction

        from orderfactory.addresses.models import Address
        from orderfactory.orders import services as orders
        from orderfactory.orders.models import LineItem
        from orderfactory.payments.models import WireTransfer

        with transaction.atomic():
            order = orders.create_order({}, market=self.market, customer_email=customer_email)
            order.billing_address = Address.objects.create(**self.address)
            order.shipping_address = Address.objects.create(**self.address)
            order.payment_method = self.payment_method
            order.save_payment_source_to_wallet = save_to_wallet
            orders.link_payment_source(order, WireTransfer.objects.create())
            LineItem.objects.bulk_create(
                [
                    LineItem(
                        order=order,
                        item_type=orders.SKU,
                        item_id=sku.pk,
                        sku=sku,
                        sku_code=sku.code,
                        quantity=1,
                        currency_code="EUR",
                        unit_amount_cents=100 + i,
                        total_amount_cents=100 + i,
                        name=sku.name,
                        image_url=sku.image_url,
                    )
                    for i, sku in enumerate(self.skus[:lines])
                ]
            )
            orders.recompute(order)
        orders.place(order.pk)
        return str(order.pk)


def batch_clones(template_id: str, count: int) -> list[str]:
    """``count`` clones of the placed order ``template_id``, checked to own what it owns."""
    if count <= 0:
        return []
    began = time.perf_counter()
    ids = clone_placed_order(template_id, count)
    if shape(ids[-1]) != shape(template_id):
        raise BenchError(f"the clone {ids[-1]} of {template_id} differs from it")
    print(f"seeded {count} batch sources as clones of a placed order in {time.perf_counter() - began:.1f} s")
    return ids


def analyze() -> None:
    """PostgreSQL's statistics of the seeded tables, as autovacuum keeps them on a server that runs it. Without
    them the planner took the tables for as empty as ``migrate`` analyzed them (this bench's server runs no
    autovacuum), and a group's read of its 100 sources' lines walked the tenant's whole line item index:
    about 0.3 s a group once 10,000 sources were seeded, against 3 ms through their order ids."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


# --- measuring ----------------------------------------------------------------------------------------


def copy_body(source_id: str) -> bytes:
    """The body of ``POST /api/order_copies`` every bench sends: a copy of ``source_id``, not placed."""
    return json.dumps(
        {
            "data": {
                "type": "order_copies",
                "attributes": {"place_target_order": False},
                "relationships": {"source_order": {"data": {"type": "orders", "id": source_id}}},
            }
        }
    ).encode()


# Seconds the POSTs of each copy_all took, before waiting for the copies: when they are most of a round's
# seconds, the round measures the POSTs, not the worker.
POSTING: list[float] = []
# How many claims made the copies of each copy_all (copies made in one group share their claim).
CLAIMS: list[int] = []


def copy_all(endpoint: Endpoint, source_ids: list[str]) -> tuple[float, list[str]]:
    """POST one copy per source, then wait until every one is completed: (seconds, factory ids)."""
    from django.db import connection as db

    from orderfactory.factories.models import OrderFactory

    connection = endpoint.connect()
    headers = endpoint.headers(body=True)
    started = time.perf_counter()
    ids = []
    for source_id in source_ids:
        status, answer = call(connection, "POST", "/api/order_copies", headers, copy_body(source_id))
        ids.append(json.loads(expect(status, answer, 201, "POST /api/order_copies"))["data"]["id"])
    connection.close()
    POSTING.append(time.perf_counter() - started)
    deadline = time.monotonic() + 600
    # The probe is one statement built once (its CPU is taken from the service measured): how many are done.
    table = OrderFactory._meta.db_table
    probe = (
        f"SELECT COUNT(*) FROM {table} WHERE id IN ({', '.join(['%s'] * len(ids))})"
        " AND status NOT IN ('pending', 'in_progress')"
    )
    while True:
        with db.cursor() as cursor:
            cursor.execute(probe, ids)
            if cursor.fetchone()[0] == len(ids):
                break
        if time.monotonic() > deadline:
            raise BenchError(f"not all {len(ids)} copies finished within 600 s")
        # Polling takes CPU from the service measured (two CPUs here): poll at about 1% of the time so far,
        # between 5 and 50 ms, so the figure is off by at most that much.
        time.sleep(min(0.05, max(0.005, (time.perf_counter() - started) / 100)))
    elapsed = time.perf_counter() - started
    ended = list(OrderFactory.unscoped.filter(pk__in=ids).values_list("pk", "status", "claimed_by"))
    CLAIMS.append(len({claim for _, _, claim in ended}))
    failed = {pk: status for pk, status, _ in ended if status != "completed"}
    if failed:
        raise BenchError(f"copies did not complete: {failed}")
    return elapsed, ids


def copy_batch(endpoint: Endpoint, source_ids: list[str]) -> float:
    """POST one order copy batch of these sources, then wait until it ends: seconds (it must complete)."""
    from django.db import connection as db

    from orderfactory.factories.models import OrderCopyBatch

    connection = endpoint.connect()
    body = {
        "data": {
            "type": "order_copy_batches",
            "attributes": {"place_target_order": False, "source_order_ids": source_ids},
        }
    }
    started = time.perf_counter()
    status, answer = call(
        connection, "POST", "/api/order_copy_batches", endpoint.headers(body=True), json.dumps(body).encode()
    )
    batch_id = json.loads(expect(status, answer, 201, "POST /api/order_copy_batches"))["data"]["id"]
    connection.close()
    probe = f"SELECT status FROM {OrderCopyBatch._meta.db_table} WHERE id = %s"
    deadline = time.monotonic() + 3600
    while True:
        with db.cursor() as cursor:
            cursor.execute(probe, [batch_id])
            (state,) = cursor.fetchone()
        if state not in ("pending", "in_progress"):
            break
        if time.monotonic() > deadline:
            raise BenchError(f"batch {batch_id} not finished within an hour")
        time.sleep(min(0.05, max(0.005, (time.perf_counter() - started) / 100)))
    elapsed = time.perf_counter() - started
    batch = OrderCopyBatch.unscoped.get(pk=batch_id)
    if state != "completed":
        raise BenchError(
            f"batch {batch_id} is {state}: {batch.completed_count} completed, {batch.failed_count} failed, "
            f"{batch.aborted_count} aborted of {batch.total_count}"
        )
    return elapsed


def latencies(endpoint: Endpoint, source_id: str, copies: int, pause: float = 0.1) -> list[float]:
    """Seconds from just before each POST to its copy's ``completed_at``, one copy at a time, the worker idle
    (``pause`` seconds after each copy completed) before each POST."""
    from django.db import connection as db

    from orderfactory.factories.models import OrderFactory

    connection = endpoint.connect()
    headers = endpoint.headers(body=True)
    body = copy_body(source_id)
    probe = f"SELECT status, completed_at FROM {OrderFactory._meta.db_table} WHERE id = %s"
    seconds = []
    for _ in range(copies):
        time.sleep(pause)
        posted = time.time()
        status, answer = call(connection, "POST", "/api/order_copies", headers, body)
        factory_id = json.loads(expect(status, answer, 201, "POST /api/order_copies"))["data"]["id"]
        deadline = time.monotonic() + 60
        while True:
            with db.cursor() as cursor:
                cursor.execute(probe, [factory_id])
                state, completed_at = cursor.fetchone()
            if state not in ("pending", "in_progress"):
                break
            if time.monotonic() > deadline:
                raise BenchError(f"copy {factory_id} not finished within 60 s")
            time.sleep(0.005)  # the time read is the copy's own completed_at, not this loop's
        if state != "completed":
            raise BenchError(f"copy {factory_id} is {state}")
        if isinstance(completed_at, str):  # SQLite, through the raw cursor
            completed_at = datetime.datetime.fromisoformat(completed_at).replace(tzinfo=datetime.UTC)
        seconds.append(completed_at.timestamp() - posted)
    connection.close()
    return seconds


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def worker_seconds(ids: list[str]) -> list[float]:
    from orderfactory.factories.models import OrderFactory

    rows = OrderFactory.unscoped.filter(pk__in=ids).values_list("started_at", "completed_at")
    return [(done - started).total_seconds() for started, done in rows]


def raw_copy(source_ids: list[str]) -> float:
    """The ceiling: each order and its lines copied with plain INSERTs, one transaction per copy."""
    from django.db import connection, transaction

    from orderfactory.core.ids import new_id
    from orderfactory.orders.models import LineItem, Order

    order_table, line_table = Order._meta.db_table, LineItem._meta.db_table
    started = time.perf_counter()
    for source_id in source_ids:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {order_table} WHERE id = %s", [source_id])
            columns = [c[0] for c in cursor.description]
            row = dict(zip(columns, cursor.fetchone(), strict=True))
            target_id = new_id()
            row.update(id=target_id, number=None, status="pending", placed_at=None, payment_status="unpaid")
            cursor.execute(
                f"INSERT INTO {order_table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
                [row[c] for c in columns],
            )
            cursor.execute(f"SELECT * FROM {line_table} WHERE order_id = %s", [source_id])
            line_columns = [c[0] for c in cursor.description]
            position = {c: i for i, c in enumerate(line_columns)}
            lines = []
            for line in cursor.fetchall():
                values = list(line)
                values[position["id"]], values[position["order_id"]] = new_id(), target_id
                lines.append(values)
            cursor.executemany(
                f"INSERT INTO {line_table} ({', '.join(line_columns)}) VALUES ({', '.join(['%s'] * len(line_columns))})",
                lines,
            )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # 200: a phase of 40 copies lasted under half a second, and its start (the first poll of an idle worker)
    # and its end (the last copy's latency, the probe's interval) moved its figure by a fifth from run to run.
    parser.add_argument("--orders", type=int, default=200, help="source orders copied per phase")
    parser.add_argument("--lines", type=int, default=10, help="SKU line items per source order")
    # 50: the rich phase is a comparison with the plain one, not a figure of its own; short keeps the run short.
    parser.add_argument(
        "--rich-orders", type=int, default=50, help="rich source orders copied in the rich phase (0: none)"
    )
    parser.add_argument("--sizes", default="100,1000", help="line counts for the per-copy time")
    parser.add_argument("--per-size", type=int, default=3, help="copies timed one by one per size")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of copies per phase (the median counts)"
    )
    parser.add_argument(
        "--ceiling-rounds", type=int, default=5, help="raw SQL rounds before, between and after the phases"
    )
    parser.add_argument(
        "--latency-copies", type=int, default=100, help="copies timed one at a time per phase (0: none)"
    )
    parser.add_argument(
        "--batch", type=int, default=0, help="copies made through one order copy batch per phase (0: none)"
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL URL (created if missing); default a temporary SQLite file",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]

    with tempfile.TemporaryDirectory(prefix="of-bench-copy-") as data_dir:
        env = environment(data_dir, args.database_url)
        app = prepared(env, args.database_url)
        from orderfactory.core import scope

        with scope.active(tenant_scope(app)):
            began = time.perf_counter()
            shop = Shop(max([args.lines, *sizes]))
            sources = [shop.placed_order(args.lines) for _ in range(args.orders)]
            by_size = {size: [shop.placed_order(size) for _ in range(args.per_size)] for size in sizes}
            # a batch copies each source once: as many distinct sources as copies, the ones beyond --orders
            # cloned set-wise from a placed order (bench/clones.py; through the services 10,000 took over
            # half an hour)
            batch_sources = sources[: args.batch] + batch_clones(sources[0], args.batch - len(sources))
            rich = RichMarket(shop) if args.rich_orders else None
            rich_sources = [rich.placed_order(args.lines) for _ in range(args.rich_orders)] if rich else []
            database = "PostgreSQL" if args.database_url.startswith("postgres") else "SQLite"
            analyze()
            if rich and rich_sources:
                print(rich.describe(rich_sources[0]))
            print(
                f"database: {database}; seeded {args.orders} placed orders of {args.lines} lines, "
                f"{args.rich_orders} rich ones and {args.per_size} of each of {sizes} lines in "
                f"{time.perf_counter() - began:.1f} s"
            )

            results: dict[str, float] = {}
            latency: dict[str, tuple[float, float]] = {}
            batched: dict[str, float] = {}
            per_copy: dict[int, tuple[float, float]] = {}
            # The ceiling is measured before, between and after the phases: this machine's speed drifts over
            # a run, and a ceiling taken at one moment only made the ratios drift with it.
            ceiling_rounds: list[float] = []
            for phase, standalone in (("embedded", False), ("workers", True)):
                ceiling_rounds += [raw_copy(sources) for _ in range(args.ceiling_rounds)]
                with server(env, data_dir, standalone) as endpoint:
                    endpoint.token = token(endpoint, app)
                    # warm up every worker process: imports, connections, first queries
                    copy_all(endpoint, sources[:8])
                    # the median of rounds, as for the ceiling: one stall of the machine moves one round only
                    rounds = [copy_all(endpoint, sources)[0] for _ in range(args.rounds)]
                    seconds = statistics.median(rounds)
                    results[phase] = args.orders / seconds
                    print(
                        f"{phase:<9} {args.orders} copies in {seconds:.2f} s: {results[phase]:.1f} copies/s "
                        f"(median of {len(rounds)} rounds; {args.orders / max(rounds):.1f}-"
                        f"{args.orders / min(rounds):.1f}; the POSTs alone "
                        f"{statistics.median(POSTING[-len(rounds) :]):.2f} s; made under "
                        f"{statistics.median(CLAIMS[-len(rounds) :]):.0f} claims)"
                    )
                    if args.batch:
                        seconds = copy_batch(endpoint, batch_sources)
                        batched[phase] = args.batch / seconds
                        print(
                            f"batch     {args.batch} copies through one batch ({phase}) in {seconds:.2f} s: "
                            f"{batched[phase]:.1f} copies/s"
                        )
                    if phase == "embedded" and rich_sources:
                        copy_all(endpoint, rich_sources[:4])  # warm up the rich paths (taxes, zones)
                        rich_rounds = [copy_all(endpoint, rich_sources)[0] for _ in range(args.rounds)]
                        seconds = statistics.median(rich_rounds)
                        results["rich"] = args.rich_orders / seconds
                        print(
                            f"{'rich':<9} {args.rich_orders} copies in {seconds:.2f} s: {results['rich']:.1f} "
                            f"copies/s (median of {len(rich_rounds)} rounds; "
                            f"{args.rich_orders / max(rich_rounds):.1f}-{args.rich_orders / min(rich_rounds):.1f}; "
                            f"{args.lines} lines, taxes, a volume tier, an adjustment, a zone's method, options, a bundle, "
                            "a gift card redeemed, three promotion kinds)"
                        )
                        print(f"ratio rich/embedded: {results['rich'] / results['embedded']:.3f}")
                    if phase == "embedded":
                        for size, ids in by_size.items():
                            timings, worker = [], []
                            for source_id in ids:
                                one, factory_ids = copy_all(endpoint, [source_id])
                                timings.append(one)
                                worker.extend(worker_seconds(factory_ids))
                            per_copy[size] = (statistics.median(timings), statistics.median(worker))
                if args.latency_copies:
                    with server(default_polling(env), data_dir, standalone) as endpoint:
                        endpoint.token = token(endpoint, app)
                        copy_all(endpoint, sources[:8])  # warm up
                        seconds_each = latencies(endpoint, sources[0], args.latency_copies)
                        latency[phase] = (percentile(seconds_each, 50), percentile(seconds_each, 99))
            ceiling_rounds += [raw_copy(sources) for _ in range(args.ceiling_rounds)]
            seconds = statistics.median(ceiling_rounds)
            results["ceiling"] = args.orders / seconds
            print(
                f"{'ceiling':<9} {args.orders} copies in {seconds:.2f} s: {results['ceiling']:.1f} copies/s "
                f"(raw SQL, median of {len(ceiling_rounds)} rounds: {args.ceiling_rounds} before, between and "
                f"after the phases; {args.orders / max(ceiling_rounds):.0f}-{args.orders / min(ceiling_rounds):.0f})"
            )
            for phase, target in (("embedded", 0.25), ("workers", 0.5)):
                print(
                    f"ratio {phase}/ceiling: {results[phase] / results['ceiling']:.3f} (target >= {target})"
                )
            for phase, rate in batched.items():
                print(
                    f"ratio batch {phase}/ceiling: {rate / results['ceiling']:.3f} "
                    f"(target >= 1.0 on PostgreSQL, {args.batch} copies)"
                )
            for phase, (p50, p99) in latency.items():
                print(
                    f"latency {phase}, POST to completed, {args.latency_copies} copies one at a time, default "
                    f"poll interval: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms (targets <= 30 / 60 ms)"
                )
            raw_per_size = {size: raw_copy(ids) / len(ids) for size, ids in by_size.items()}
            for size, (end_to_end, in_worker) in per_copy.items():
                print(
                    f"per copy at {size} lines: {end_to_end * 1000:.0f} ms end to end, {in_worker * 1000:.0f} ms in the worker, "
                    f"{raw_per_size[size] * 1000:.1f} ms raw SQL"
                )
            if len(sizes) == 2:
                small, large = sizes
                print(
                    f"cost {large}/{small} lines: {per_copy[large][0] / per_copy[small][0]:.1f}x end to end, "
                    f"{per_copy[large][1] / per_copy[small][1]:.1f}x in the worker (target <= 12x)"
                )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
