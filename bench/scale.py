"""A request's cost against the size of the data and of the neighbours.

On a temporary database (a SQLite file by default; with ``--database-url`` a new PostgreSQL database beside
the one named, dropped at the end), two organizations: a small one with 10 customers, orders and order
copies, and a big one grown to each of ``--sizes`` (default 10,000, 100,000 and 1,000,000) customers,
orders, order copies and order subscriptions, inserted with raw SQL (``INSERT ... SELECT`` over a series), and
analyzed (PostgreSQL: ``VACUUM ANALYZE``, as autovacuum would; SQLite: nothing, as in the embedded default).
For the small one alone, then at each size, it starts ``orderfactory serve --no-worker`` afresh and measures,
over HTTP on a keep-alive connection:

- **customers**: the first page (default order and ``sort=-created_at``), pages 1% and 50% deep (big tenant
  only), ``filter[q][email_eq]`` and ``filter[q][email_cont]``; **orders** ``include=customer``; **order
  copies** first page; for both tenants, interleaved (with no neighbour, "alone", the big tenant's requests
  still run, on its empty lists). ``cold`` is the first request of its kind after the server started (counts
  not cached yet), p50/p99 are over the ``--requests`` that follow;
- **tick**: one ``subscriptions.services.tick()`` in this process, with 20 subscriptions made due before each;
- **sweep**: one ``factories.services.sweep()`` in this process;
- **copy**: ``POST /api/order_copies`` of a placed 5-line order over HTTP, then its job
  (``factories.services.run``) in this process; the figure is the job's.

The background steps are repeated ``--requests`` times (the sweep five times as many) and shown with their
minimum as well as p50/p99: on a shared machine they vary more between runs than between sizes, and the
minimum is the figure least moved by other processes. Which rows they read is proven without timings in
tests/test_scale.py.

It prints one table with the targets: the small tenant within 1.2x of its cost with no neighbour; the big
tenant's first page, filters and include at the largest size within 2x of the smallest; a 50%-deep page under
100 ms at the largest size; tick, sweep and copy within 1.2x across sizes. Figures only: nothing here asserts
a timing; on a shared machine, repeat and compare ratios.

    .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000] [--requests 20]
    .venv/bin/python bench/scale.py --database-url postgresql://postgres@127.0.0.1:5432/of_bench_scale
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from api_read import BenchError, Endpoint, _cli, _free_port, _wait_until_listening, call, expect
from copy_throughput import Shop, environment, process, setup_django, tenant_scope, token
from scheduler import temporary_database

SMALL = 10
BACKGROUND = ("tick", "sweep", "copy")
DUE = 20  # subscriptions made due before each tick
PAGE = 25
SERIES_GAP = 500_000_000  # the small tenant's series numbers start here, far from the big tenant's
PERMUTE = (
    387_420_489  # 3**18: coprime with 10**9, so g -> g * PERMUTE mod 10**9 gives distinct, scattered ids
)
EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


# --- raw SQL seeding --------------------------------------------------------------------------------------


class Dialect:
    """The few SQL spellings that differ between PostgreSQL and SQLite."""

    def __init__(self, vendor: str) -> None:
        self.postgresql = vendor == "postgresql"

    def digits(self, expression: str, width: int) -> str:
        if self.postgresql:
            return f"lpad(({expression})::text, {width}, '0')"
        return f"printf('%0{width}d', {expression})"

    def text(self, expression: str) -> str:
        return f"({expression})::text" if self.postgresql else f"CAST({expression} AS TEXT)"

    def seconds_after(self, base: dt.datetime, expression: str) -> str:
        """The instant ``expression`` seconds after ``base``, as the column stores it."""
        if self.postgresql:
            return f"(TIMESTAMPTZ '{base.isoformat()}' + ({expression}) * INTERVAL '1 second')"
        stamp = base.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        return f"(strftime('%Y-%m-%d %H:%M:%S', '{stamp}', ({expression}) || ' seconds') || '.000000')"

    def insert(self, table: str, columns: list[str], values: list[str], first: int, last: int) -> str:
        names = ", ".join(columns)
        select = ", ".join(values)
        if self.postgresql:
            return f"INSERT INTO {table} ({names}) SELECT {select} FROM generate_series({first}::bigint, {last}::bigint) AS s(g)"
        return (
            f"WITH RECURSIVE s(g) AS (SELECT {first} UNION ALL SELECT g + 1 FROM s WHERE g < {last}) "
            f"INSERT INTO {table} ({names}) SELECT {select} FROM s"
        )


@dataclass
class Tenant:
    name: str
    app: dict[str, Any]
    base: int  # series numbers of this tenant's seeded rows: base + 1 ...
    seeded: int = 0
    token: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def organization_id(self) -> str:
        return str(self.app["organization_id"])


def _ident(d: Dialect, letter: str) -> str:
    """A 10-character id, distinct for each series number."""
    return f"'{letter}' || {d.digits(f'(g * {PERMUTE}) %% 1000000000', 9)}"


def insert_rows(model: Any, first: int, last: int, values: dict[str, str], params: dict[str, Any]) -> None:
    """INSERT rows ``first..last`` of the series into ``model``'s table: the SQL expressions ``values`` give
    (over the series number ``g``), ``params`` as literals, and every other column its model default."""
    from django.db import connection

    d = Dialect(connection.vendor)
    columns, expressions, arguments = [], [], []
    for f in model._meta.concrete_fields:
        columns.append(connection.ops.quote_name(f.column))
        if f.column in values:
            expressions.append(values[f.column])
            continue
        value = params[f.column] if f.column in params else f.get_default()
        expressions.append(f"CAST(%s AS {f.db_type(connection)})" if d.postgresql else "%s")
        arguments.append(f.get_db_prep_save(value, connection))
    with connection.cursor() as cursor:
        cursor.execute(d.insert(model._meta.db_table, columns, expressions, first, last), arguments)


def seed(tenant: Tenant, upto: int, market_id: str | None) -> None:
    """Grow the tenant's customers, orders, order copies and subscriptions to ``upto`` each."""
    from django.db import connection

    from orderfactory.customers.models import Customer
    from orderfactory.factories.models import OrderFactory
    from orderfactory.orders.models import Order
    from orderfactory.subscriptions.models import OrderSubscription

    if upto <= tenant.seeded:
        return
    d = Dialect(connection.vendor)
    first, last = tenant.base + tenant.seeded + 1, tenant.base + upto
    number = f"g - {tenant.base}"
    # One row a second from EPOCH; the small tenant's rows spread over the big tenant's (every 100,000th).
    spread = "100000" if tenant.base else "1"
    created = d.seconds_after(EPOCH, f"({number}) * {spread}")
    scope = {"organization_id": tenant.organization_id, "mode": "test"}
    common = {"created_at": created, "updated_at": created}
    email = f"'c' || {d.digits(number, 7)} || '@{tenant.name}.example'"
    insert_rows(Customer, first, last, {**common, "id": _ident(d, "c"), "email": email}, scope)
    insert_rows(
        Order,
        first,
        last,
        {
            **common,
            "id": _ident(d, "o"),
            "number": d.text(f"{number} + 1"),  # 1 is the placed source order's
            "customer_id": _ident(d, "c"),
            "customer_email": email,
            "placed_at": created,
            "total_amount_cents": f"({number}) %% 10000",
            "subtotal_amount_cents": f"({number}) %% 10000",
        },
        {**scope, "status": "placed", "currency_code": "EUR", "market_id": market_id, "skus_count": 1},
    )
    insert_rows(
        OrderFactory,
        first,
        last,
        {
            **common,
            "id": _ident(d, "f"),
            "source_order_id": _ident(d, "o"),
            "started_at": created,
            "completed_at": created,
        },
        {**scope, "type": "order_copies", "status": "completed", "place_target_order": False, "attempts": 1},
    )
    # Monthly, next due between one and thirty-one days from now: none due.
    due = d.seconds_after(dt.datetime.now(dt.UTC), f"86400 + ({number}) * 7 %% 2592000")
    insert_rows(
        OrderSubscription,
        first,
        last,
        {
            **common,
            "id": _ident(d, "s"),
            "number": d.text(f"{number} + 1") + " || '/S/1'",
            "source_order_id": _ident(d, "o"),
            "customer_id": _ident(d, "c"),
            "customer_email": email,
            "next_run_at": due,
            "anchor_at": due,
        },
        {**scope, "status": "active", "frequency": "monthly", "market_id": market_id},
    )
    tenant.seeded = upto
    with connection.cursor() as cursor:
        # The order numbers given so far (placing would otherwise give a seeded one again).
        cursor.execute(
            "UPDATE orders_ordernumbersequence SET last_value = %s WHERE organization_id = %s AND mode = %s",
            [upto + 1, tenant.organization_id, "test"],
        )


def search_plan(tenant: Tenant, value: str) -> str:
    """How the database reads the first page of ``filter[q][email_cont]=value`` for the tenant: the planner
    chooses between the trigram index (every match read, then sorted) and the tenant's index in list order
    (read until the 25th match) from its statistics, so a figure of this request is read with its plan."""
    from orderfactory.core import scope
    from orderfactory.customers.models import Customer
    from orderfactory.jsonapi import filters

    assert filters.Like  # the lookup the API's substring filters use, registered by that import
    with scope.active(tenant_scope(tenant.app)):
        rows = Customer.objects.filter(email__of_like=f"%{value}%").order_by("created_at", "id")[:PAGE]
        plan = rows.explain().splitlines()
    return next(
        (
            re.sub(r"^[\d ]*(?:->\s*)?", "", line.strip())
            for line in plan
            if "Scan" in line or "SCAN" in line or "SEARCH" in line
        ),
        "",
    )


def analyze() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


# --- the shop of the big tenant: a placed order to copy, subscriptions to make due ------------------------


def shop(tenant: Tenant) -> None:
    from orderfactory.core import scope
    from orderfactory.subscriptions.models import OrderSubscription

    with scope.active(tenant_scope(tenant.app)):
        store = Shop(5)
        source = store.placed_order(5, customer_email=f"source@{tenant.name}.example", save_to_wallet=True)
        due = [
            OrderSubscription(
                number=f"due/{i}",
                status="active",
                frequency="hourly",
                market_id=store.market.pk,
                source_order_id=source,
                customer_email=f"source@{tenant.name}.example",
                next_run_at=EPOCH,
                anchor_at=EPOCH,
            )
            for i in range(DUE)
        ]
        OrderSubscription.objects.bulk_create(due)
    tenant.extra.update(market=store.market.pk, source=source, due=[s.pk for s in due])


def tick(tenant: Tenant) -> float:
    """Make the tenant's DUE subscriptions due a minute ago, then time one tick (which starts their runs)."""
    from django.db import connection

    from orderfactory.core import clock
    from orderfactory.subscriptions import services

    now = clock.now() - dt.timedelta(minutes=1)
    marks = ", ".join(["%s"] * len(tenant.extra["due"]))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE subscriptions_ordersubscription SET status = 'active', next_run_at = %s, anchor_at = %s "
            f"WHERE id IN ({marks})",
            [now, now, *tenant.extra["due"]],
        )
    started = time.perf_counter()
    counts = services.tick()
    elapsed = time.perf_counter() - started
    if counts["runs"] != DUE:
        raise BenchError(f"the tick started {counts['runs']} runs, not {DUE}: {counts}")
    return elapsed


def sweep() -> float:
    from orderfactory.factories import services

    started = time.perf_counter()
    services.sweep()
    return time.perf_counter() - started


def copy(endpoint: Endpoint, tenant: Tenant) -> float:
    from orderfactory.factories import services

    connection = endpoint.connect()
    body = {
        "data": {
            "type": "order_copies",
            "attributes": {"place_target_order": False},
            "relationships": {"source_order": {"data": {"type": "orders", "id": tenant.extra["source"]}}},
        }
    }
    headers = {**endpoint.headers(body=True), "Authorization": f"Bearer {tenant.token}"}
    status, answer = call(connection, "POST", "/api/order_copies", headers, json.dumps(body).encode())
    connection.close()
    factory = json.loads(expect(status, answer, 201, "POST /api/order_copies"))["data"]["id"]
    started = time.perf_counter()
    result = services.run(factory)
    elapsed = time.perf_counter() - started
    if result != "completed":
        raise BenchError(f"the copy ended {result}")
    return elapsed


# --- the requests ---------------------------------------------------------------------------------------


def requests(tenant: Tenant) -> list[tuple[str, str]]:
    """(name, path) of each request measured for the tenant, at its current size."""
    n = tenant.seeded
    one = f"c{1:07d}@{tenant.name}.example"
    rows = [
        ("first page", {"page[size]": PAGE}),
        ("first page -created_at", {"page[size]": PAGE, "sort": "-created_at"}),
    ]
    if n > 100 * PAGE:
        rows += [
            ("page 1% deep", {"page[size]": PAGE, "page[number]": math.ceil(n / 100 / PAGE)}),
            ("page 50% deep", {"page[size]": PAGE, "page[number]": math.ceil(n / 2 / PAGE)}),
        ]
    rows += [
        ("filter email_eq", {"page[size]": PAGE, "filter[q][email_eq]": one}),
        # the small tenant's: a pattern the trigram indexes serve too (three characters or more)
        (
            "filter email_cont",
            {"page[size]": PAGE, "filter[q][email_cont]": "999" if n > SMALL else "c00000"},
        ),
    ]
    out = [(name, "/api/customers?" + urlencode(params)) for name, params in rows]
    out.append(
        ("orders include=customer", "/api/orders?" + urlencode({"page[size]": PAGE, "include": "customer"}))
    )
    out.append(("order_copies first page", "/api/order_copies?" + urlencode({"page[size]": PAGE})))
    return out


@dataclass
class Figures:
    cold: float
    samples: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def least(self) -> float:
        return min(self.samples)

    @property
    def p99(self) -> float:
        return statistics.quantiles(self.samples, n=100, method="inclusive")[98]


def timed(connection: Any, path: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    status, answer = call(connection, "GET", path, headers)
    elapsed = time.perf_counter() - started
    expect(status, answer, 200, f"GET {path}")
    return elapsed


def measure_requests(
    endpoint: Endpoint, tenants: list[Tenant], rounds: int
) -> dict[tuple[str, str], Figures]:
    """Each request of each tenant once cold, then ``rounds`` times, interleaved (so a stall of the machine
    falls on all alike)."""
    connection = endpoint.connect()
    plan = [(t, name, path) for t in tenants for name, path in requests(t)]
    figures: dict[tuple[str, str], Figures] = {}
    for t, name, path in plan:
        headers = {**endpoint.headers(), "Authorization": f"Bearer {t.token}"}
        figures[(t.name, name)] = Figures(timed(connection, path, headers), [])
    for _ in range(rounds):
        for t, name, path in plan:
            headers = {**endpoint.headers(), "Authorization": f"Bearer {t.token}"}
            figures[(t.name, name)].samples.append(timed(connection, path, headers))
    connection.close()
    return figures


def repeat(fn: Callable[[], float], rounds: int) -> Figures:
    cold = fn()
    return Figures(cold, [fn() for _ in range(rounds)])


@contextmanager
def serving(env: dict[str, str], data_dir: str) -> Iterator[Endpoint]:
    port = _free_port()
    log = Path(data_dir) / f"serve-{port}.log"
    with process(env, log, "serve", "--port", str(port), "--threads", "2", "--no-worker") as child:
        _wait_until_listening(child, port, log)
        yield Endpoint("127.0.0.1", port)


# --- the table ------------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def report(results: dict[str, dict[tuple[str, str], Figures]], sizes: list[str], database: str) -> None:
    print(f"\n== {database}: milliseconds, cold / p50 / p99 ==")
    keys: list[tuple[str, str]] = []
    for figures in results.values():
        keys += [k for k in figures if k not in keys]
    width = max(len(f"{t} {n}") for t, n in keys) + 2
    print(" " * width + "".join(f"{size:>36}" for size in sizes) + "   target")
    smallest, largest = sizes[1] if len(sizes) > 1 else sizes[0], sizes[-1]
    for key in keys:
        tenant, name = key
        cells = []
        for size in sizes:
            f = results[size].get(key)
            cells.append(f"{ms(f.cold)} / {ms(f.p50)} / {ms(f.p99)}" if f else "-")
            if f and name in BACKGROUND:
                cells[-1] = f"min {ms(f.least)}  " + cells[-1]
        line = f"{tenant} {name}".ljust(width) + "".join(f"{c:>36}" for c in cells)
        line += "   " + verdict(results, key, sizes, smallest, largest)
        print(line)


def ratio(
    results: dict[str, dict[tuple[str, str], Figures]], key: tuple[str, str], a: str, b: str
) -> float | None:
    fa, fb = results[a].get(key), results[b].get(key)
    return None if fa is None or fb is None else fb.p50 / fa.p50


def verdict(
    results: dict[str, dict[tuple[str, str], Figures]],
    key: tuple[str, str],
    sizes: list[str],
    smallest: str,
    largest: str,
) -> str:
    tenant, name = key
    if tenant == "small":
        r = ratio(results, key, sizes[0], largest)
        return "" if r is None else f"p50 {r:.2f}x of alone (<= 1.2)"
    if name == "page 50% deep":
        f = results[largest].get(key)
        return "" if f is None else f"p50 {ms(f.p50)} ms at {largest} (< 100)"
    if "deep" in name:
        return ""
    r = ratio(results, key, smallest, largest)
    if r is None:
        return ""
    if name in BACKGROUND:
        least = results[largest][key].least / results[smallest][key].least
        return f"p50 {r:.2f}x, min {least:.2f}x of {smallest} (<= 1.2)"
    return f"p50 {r:.2f}x of {smallest} (<= 2)"


# --- main -----------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000", help="the big tenant's sizes, ascending")
    parser.add_argument("--requests", type=int, default=20, help="measured repetitions of each request")
    parser.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL URL (a database beside it is created and dropped); default a temporary SQLite file",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if sizes != sorted(sizes) or sizes[0] <= SMALL:
        raise BenchError(f"--sizes must be ascending and above {SMALL}")

    with (
        tempfile.TemporaryDirectory(prefix="of-bench-scale-") as data_dir,
        temporary_database(args.database_url) as url,
    ):
        env = environment(data_dir, url)
        _cli(env, "migrate")
        tenants = []
        for name, base in (("big", 0), ("small", SERIES_GAP)):
            command = f"apps create --name {name} --kind integration --mode test --organization {name} --json"
            app = json.loads(_cli(env, *command.split()))
            tenants.append(Tenant(name, app, base))
        big, small = tenants
        # No factory's lease runs out during the bench: the sweep then measures finding none.
        env["ORDERFACTORY_FACTORY_LEASE_SECONDS"] = os.environ["ORDERFACTORY_FACTORY_LEASE_SECONDS"] = "86400"
        setup_django(env)
        database = "PostgreSQL" if url else "SQLite"
        shop(big)
        seed(small, SMALL, None)
        print(f"{database}: the small tenant seeded ({SMALL} rows a table)", flush=True)
        results: dict[str, dict[tuple[str, str], Figures]] = {}
        for size in [0, *sizes]:
            if size:
                began = time.perf_counter()
                seed(big, size, big.extra["market"])
                seeded = time.perf_counter() - began
                analyze()
                print(
                    f"big tenant at {size:,}: seeded in {seeded:.1f} s, analyzed in "
                    f"{time.perf_counter() - began - seeded:.1f} s; email_cont=999 reads "
                    f"{search_plan(big, '999')}",
                    flush=True,
                )
            label = f"{size:,}" if size else "alone"
            with serving(env, data_dir) as endpoint:
                for t in tenants:
                    t.token = token(endpoint, t.app)
                figures = measure_requests(endpoint, [small, big], args.requests)
                # The background steps vary more between runs on a shared machine than between sizes: as many
                # repetitions as requests (the sweep, cheap, five times as many), and their minimum beside p50.
                figures[("big", "tick")] = repeat(lambda: tick(big), args.requests)
                figures[("big", "sweep")] = repeat(sweep, 5 * args.requests)
                figures[("big", "copy")] = repeat(lambda: copy(endpoint, big), args.requests)
            results[label] = figures
            print(f"measured at {label}", flush=True)
        report(results, list(results), database)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
