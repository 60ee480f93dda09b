"""The three paths a newcomer follows through the code, traced: which files of ``src/orderfactory`` each one
runs, in order, and how often it hops between them.

On a temporary SQLite database (or ``--database-url``), it migrates, makes the demo organization through the
API as ``orderfactory demo`` does (a catalog, customers with wallets, three placed orders, two daily order
subscriptions), then runs each path twice in this process: once untraced, so that lazy imports and
per-process caches (compiled queries, the token's revocation snapshot) are not counted, then under
``sys.setprofile`` (and ``threading.setprofile`` for the worker's job thread):

1. **copy**: ``POST /api/order_copies`` with ``place_target_order`` false, through the Django test client,
   then the queued jobs run to the end by the worker in batch mode (``orderfactory worker --batch``): the
   request and the copy job that writes the target order.
2. **scheduler**: one scheduler tick (the periodic job ``orderfactory serve`` embeds besides the worker's
   own), the clock a day on so that the two subscriptions are due, then the queued jobs run to the end by
   the worker in batch mode: the subscription runs' target orders, copied and placed.
3. **read**: ``GET /api/orders?filter[q][market_code_eq]=EU&include=line_items``, and the SQL statements it
   issues (counted and printed).

What is counted:

- **files**: the distinct files under ``src/orderfactory`` (migrations excluded) in which a function ran,
  in the order they were first entered. Module bodies (imports), class bodies and comprehensions
  (``<listcomp>``, ``<genexpr>`` ...) are not functions here and do not count; lambdas do.
- **hops**: a hop is a call from a function in one file of ``src/orderfactory`` into a function in a
  different file of ``src/orderfactory``, counted once per distinct edge (caller file, callee file, callee
  function's qualified name): calling the same function of another file twice, or from two functions of
  the same file, is one hop; calling two functions of that file is two. The caller is the nearest frame
  under ``src/orderfactory`` on the stack. A hop is a call our code writes: the callee is called by that
  frame itself, or through library code that only passes the call on (``contextlib`` entering a ``with``
  of our context manager, a view decorator).
- **domain crossings**: the distinct (caller domain, callee domain) pairs among both kinds of hops, where a
  domain is one of the domain apps (orders, factories, subscriptions, catalog, ...); and how many pairs of
  domains call each other both ways (a reader going back and forth between them).
- **library hops**, counted apart, the same way: calls that library code makes into ours on our code's
  behalf, which a reader does not see written at the call site: Django's ORM calling our manager, our
  database engine's hooks or a field's default (``new_id``, ``clock.now``), a signal calling its receiver,
  the task backend calling a job. The first of our functions a library calls with none of ours below it on
  the stack (the URL's view, the worker's job thread) starts the path and is no hop of either kind.

Figures only: the files and hops of each path go to docs/architecture.md, "Paths".

    .venv/bin/python bench/paths.py [--edges] [--sql]
    .venv/bin/python bench/paths.py --database-url postgresql://postgres@127.0.0.1:5432/of_paths
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "orderfactory"
JSONAPI = "application/vnd.api+json"
# Library code that only passes on a call our code wrote: entering a ``with`` of our context manager, a view
# decorator.
RELAYS = ("/contextlib.py", "/django/views/decorators/csrf.py")
MARKET_CODE = "EU"  # the demo's market


# --- tracing ------------------------------------------------------------------------------------------


@dataclass
class Trace:
    """Files entered in order, and the distinct cross-file edges (caller file, callee file, callee): those our
    code writes (``edges``) and those library code makes on its behalf (``library_edges``)."""

    files: list[str] = field(default_factory=list)
    edges: list[tuple[str, str, str]] = field(default_factory=list)
    library_edges: list[tuple[str, str, str]] = field(default_factory=list)
    _seen: set[tuple[str, str, str]] = field(default_factory=set)
    _ours: dict[str, str | None] = field(default_factory=dict)  # co_filename -> relative path, or None

    def ours(self, filename: str) -> str | None:
        """The path of ``filename`` relative to src/orderfactory when it is one of ours (not a migration)."""
        known = self._ours.get(filename, "")
        if known != "":
            return known
        path = Path(filename).resolve()
        relative: str | None = None
        if path.is_relative_to(PACKAGE) and "migrations" not in path.parts:
            relative = path.relative_to(PACKAGE).as_posix()
        self._ours[filename] = relative
        return relative

    def profile(self, frame: FrameType, event: str, _arg: Any) -> None:
        if event != "call":
            return
        code = frame.f_code
        callee = self.ours(code.co_filename)
        if callee is None or (code.co_name[:1] == "<" and code.co_name != "<lambda>"):
            return
        if callee not in self.files:
            self.files.append(callee)
        caller_frame, relayed = frame.f_back, True
        while caller_frame is not None and self.ours(caller_frame.f_code.co_filename) is None:
            relayed = relayed and caller_frame.f_code.co_filename.endswith(RELAYS)
            caller_frame = caller_frame.f_back
        if caller_frame is None:
            return
        edge = (self.ours(caller_frame.f_code.co_filename) or "", callee, code.co_qualname)
        if edge[0] != callee and edge not in self._seen:
            self._seen.add(edge)
            (self.edges if relayed else self.library_edges).append(edge)

    @contextmanager
    def active(self) -> Iterator[Trace]:
        threading.setprofile(self.profile)
        sys.setprofile(self.profile)
        try:
            yield self
        finally:
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]


# --- the service, in process --------------------------------------------------------------------------


def setup_django(data_dir: str, database_url: str) -> None:
    os.environ["ORDERFACTORY_DATA_DIR"] = data_dir
    os.environ["ORDERFACTORY_DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderfactory.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


@contextmanager
def rate_limits(enabled: bool) -> Iterator[None]:
    from django.conf import settings

    previous = settings.ORDERFACTORY
    settings.ORDERFACTORY = {**previous, "RATE_LIMITS_ENABLED": enabled}
    try:
        yield
    finally:
        settings.ORDERFACTORY = previous


class Api:
    """The API through Django's test client, with one application's token."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        from django.test import Client

        self.http = Client()
        answer = self.http.post(
            "/oauth/token",
            {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
            content_type="application/json",
        )
        assert answer.status_code == 200, answer.content
        self.headers = {
            "Accept": JSONAPI,
            "Authorization": f"Bearer {orjson.loads(answer.content)['access_token']}",
        }

    def call(self, method: str, path: str, body: Any = None, query: str = "", expect: int = 200) -> Any:
        response = self.http.generic(
            method,
            path,
            orjson.dumps(body) if body is not None else b"",
            JSONAPI,
            headers=self.headers,
            QUERY_STRING=query,
        )
        assert response.status_code == expect, (method, path, response.status_code, response.content[:500])
        return orjson.loads(response.content) if response.content else None


def run_queued_jobs() -> None:
    """Every queued job, run to the end as ``orderfactory worker --batch`` runs them (one job thread)."""
    from orderfactory import worker

    worker.run_standalone(concurrency=1, stop=threading.Event(), batch=True)


def scheduler_ticks() -> list[Callable[[], object]]:
    """The periodic jobs ``orderfactory serve`` runs besides those of a standalone worker: the scheduler's."""
    from orderfactory import worker

    standalone = {job for job, _interval in worker.periodic_jobs(scheduler=False)}
    return [job for job, _interval in worker.periodic_jobs(scheduler=True) if job not in standalone]


# --- the paths ----------------------------------------------------------------------------------------


def copy_path(api: Api, source_order_id: str) -> str:
    """POST an order copy (not placed), then run its job; the id of the target order it wrote."""
    document = {
        "data": {
            "type": "order_copies",
            "attributes": {"place_target_order": False},
            "relationships": {"source_order": {"data": {"type": "orders", "id": source_order_id}}},
        }
    }
    factory = api.call("POST", "/api/order_copies", document, expect=201)["data"]
    run_queued_jobs()
    return factory["id"]


def scheduler_path(ticks: list[Callable[[], object]]) -> None:
    for tick in ticks:
        tick()
    run_queued_jobs()


def read_path(api: Api) -> Any:
    query = f"filter[q][market_code_eq]={MARKET_CODE}&include=line_items"
    return api.call("GET", "/api/orders", query=query)


# The domain apps: a hop from one into another is a crossing a reader follows between domains.
DOMAINS = (
    "addresses",
    "catalog",
    "customers",
    "events",
    "factories",
    "inventory",
    "orders",
    "payments",
    "promotions",
    "subscriptions",
)


def domain_of(file: str) -> str | None:
    top = file.split("/", 1)[0]
    return top if top in DOMAINS else None


def domain_crossings(trace: Trace) -> list[tuple[str, str]]:
    """The distinct (caller domain, callee domain) pairs of the hops and library hops, in the order first met:
    which domain calls into which."""
    out: list[tuple[str, str]] = []
    for caller, callee, _function in [*trace.edges, *trace.library_edges]:
        pair = (domain_of(caller), domain_of(callee))
        if pair[0] and pair[1] and pair[0] != pair[1] and pair not in out:
            out.append((pair[0], pair[1]))
    return out


def print_path(title: str, trace: Trace, edges: bool) -> None:
    print(title)
    print(f"  files: {len(trace.files)}, hops: {len(trace.edges)}, library hops: {len(trace.library_edges)}")
    crossings = domain_crossings(trace)
    backs = sum(1 for caller, callee in crossings if (callee, caller) in crossings) // 2
    print(
        f"  domain crossings: {len(crossings)} ({', '.join(f'{a}->{b}' for a, b in crossings) or 'none'}); "
        f"pairs of domains calling each other: {backs}"
    )
    for number, name in enumerate(trace.files, 1):
        print(f"  {number:3d}. {name}")
    if edges:
        for kind, listed in (("hops", trace.edges), ("library hops", trace.library_edges)):
            print(f"  {kind} (caller file -> callee file: callee):")
            for caller, callee, function in listed:
                print(f"       {caller} -> {callee}: {function}")
    print()


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="orderfactory-paths-") as data_dir:
        setup_django(data_dir, args.database_url or "")
        from django.db import connection

        from orderfactory import demo
        from orderfactory.auth import tokens
        from orderfactory.core import clock

        # As the test suite does: a refresh of the revocation snapshot (once a second) landing inside the
        # traced request would add a statement depending on the machine's speed.
        revoked = getattr(tokens, "_revoked", None)
        if revoked is not None and hasattr(revoked, "refresh_seconds"):
            revoked.refresh_seconds = 3600.0

        organization = f"paths-{os.getpid()}"
        with rate_limits(False):
            made = demo.create(organization, runs_in=3600)
        api = Api(made.client_id, made.client_secret)
        run_queued_jobs()  # anything the seeding queued (none today)
        source = made.orders[0]

        with rate_limits(True):
            copy_path(api, source)  # untraced: imports and caches
            with Trace().active() as copy_trace:
                factory_id = copy_path(api, source)
            factory = api.call("GET", f"/api/order_copies/{factory_id}", query="include=target_order")
            status = factory["data"]["attributes"]["status"]
            target = factory["data"]["relationships"]["target_order"]["data"]
            assert status == "completed" and target is not None, factory

            # The subscriptions' first runs are due in an hour: the untraced warm-up tick runs them, the traced
            # one a day later runs the next (the demo's subscriptions are daily).
            start = clock.now()
            ticks = scheduler_ticks()
            with clock.frozen(start + dt.timedelta(hours=2)):
                scheduler_path(ticks)
            with (
                clock.frozen(start + dt.timedelta(days=1, hours=3)),
                Trace().active() as scheduler_trace,
            ):
                scheduler_path(ticks)
            runs = [
                api.call(
                    "GET",
                    f"/api/order_subscriptions/{subscription}/subscription_runs",
                    query="include=target_order&sort=-created_at",
                )
                for subscription in made.subscriptions
            ]
            placed = [
                included["attributes"]["status"]
                for document in runs
                for included in document.get("included", [])
                if included["type"] == "orders"
            ]
            assert [d["data"][0]["attributes"]["status"] for d in runs] == ["succeeded"] * len(runs), runs
            assert placed and all(s == "placed" for s in placed), placed

            read_path(api)
            statements: list[str] = []

            def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
                statements.append(sql)
                return execute(sql, params, many, context)

            with connection.execute_wrapper(record), Trace().active() as read_trace:
                listed = read_path(api)
            assert listed["data"] and listed.get("included"), listed

        print(f"orderfactory paths, on {connection.vendor} (definitions: bench/paths.py)\n")
        print_path(
            "1. POST /api/order_copies (place_target_order false) -> the copy job -> the written target order",
            copy_trace,
            args.edges,
        )
        print_path(
            f"2. the scheduler tick -> the subscription runs' jobs -> their placed orders ({len(runs)} runs)",
            scheduler_trace,
            args.edges,
        )
        print_path(
            f"3. GET /api/orders?filter[q][market_code_eq]={MARKET_CODE}&include=line_items -> its SQL "
            f"({len(statements)} statements)",
            read_trace,
            args.edges,
        )
        if args.sql:
            for number, sql in enumerate(statements, 1):
                print(f"  SQL {number}: {sql[:300]}{' ...' if len(sql) > 300 else ''}")
        connection.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--edges", action="store_true", help="print each hop (caller file -> callee file)")
    parser.add_argument("--sql", action="store_true", help="print the read path's SQL statements")
    parser.add_argument(
        "--database-url", help="a PostgreSQL database to seed instead of a temporary SQLite file"
    )
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
