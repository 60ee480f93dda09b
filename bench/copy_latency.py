"""Where a lone copy's latency goes: POST /api/order_copies to its ``completed_at``, broken down by stage.

Starts ``orderfactory serve`` (embedded worker) or ``serve --no-worker`` plus ``worker --concurrency 2``
(``--phase``) on a temporary database (SQLite, or PostgreSQL with ``--database-url``), seeds one placed order
of ``--lines`` lines, and posts ``--copies`` copies of it one at a time, the server idle before each (default
poll interval, as an install has it). Every process it starts loads a tracer (a ``sitecustomize`` module of
this bench, never the product's code) that writes to a file per process a line for each database statement
and commit (start, duration, whether it ran inside a transaction), each ring of the worker's wake-up and the
start and end of a copy's claim and of its copy's transaction. It prints, per stage and as medians over the
copies: when it began and ended (ms after the client sent the POST), its statements and commits, and the
commits' durations (a commit that waits for the WAL flush takes one disk sync; one that does not, a round
trip). Figures only: nothing here asserts a timing.

    .venv/bin/python bench/copy_latency.py --database-url postgresql://postgres@127.0.0.1:5432/of_bench_latency
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from api_read import BenchError
from copy_throughput import Shop, copy_body, environment, prepared, server, tenant_scope, token

# The tracer each started process imports at start-up (Python imports ``sitecustomize`` from its path).
TRACER = r"""
import os, threading, time

_dir = os.environ["OF_BENCH_TRACE_DIR"]
_fd = None


def note(kind, detail="", started=None, connection=None):
    global _fd
    if _fd is None:
        _fd = os.open(os.path.join(_dir, f"{os.getpid()}.jsonl"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    now = time.time()
    at = now if started is None else started
    atomic = bool(connection is not None and connection.in_atomic_block)
    line = json.dumps([at, now - at, os.getpid(), threading.current_thread().name, kind, detail[:140], atomic])
    os.write(_fd, (line + "\n").encode())


import json


def _install():
    from django.db.backends.base import base
    from django.db.backends import utils

    def timed(name, original):
        def wrapper(self, sql, *args, **kwargs):
            t = time.time()
            try:
                return original(self, sql, *args, **kwargs)
            finally:
                note(name, " ".join(str(sql).split()), t, self.db)
        return wrapper

    utils.CursorWrapper.execute = timed("execute", utils.CursorWrapper.execute)
    utils.CursorWrapper.executemany = timed("executemany", utils.CursorWrapper.executemany)

    for method in ("_commit", "_rollback"):
        original = getattr(base.BaseDatabaseWrapper, method)

        def wrapper(self, original=original, method=method):
            t = time.time()
            try:
                return original(self)
            finally:
                note(method[1:], self.vendor, t)

        setattr(base.BaseDatabaseWrapper, method, wrapper)


def _install_late(sender, **kwargs):
    # orderfactory's modules are importable once Django made its first connection
    global _late
    if _late:
        return
    _late = True
    try:
        from orderfactory import wakes
        from orderfactory.factories import services
    except Exception:
        return
    ring = wakes._Wakes.ring

    def ringing(self):
        note("ring", threading.current_thread().name)
        return ring(self)

    wakes._Wakes.ring = ringing
    for name in ("_claim", "_copy", "_run"):
        original = getattr(services, name)

        def wrapper(*args, original=original, name=name, **kwargs):
            note(name + ">")
            try:
                return original(*args, **kwargs)
            finally:
                note(name + "<")

        setattr(services, name, wrapper)


_late = False
try:
    _install()
    from django.db.backends.signals import connection_created

    connection_created.connect(_install_late, weak=False)
except Exception:
    pass
"""


def post_copies(endpoint: Any, source_id: str, copies: int, pause: float) -> list[tuple[float, float, str]]:
    """(sent, answered, factory id) of each copy, one at a time, the server idle ``pause`` s before each."""
    from api_read import call, expect
    from django.db import connection as db

    from orderfactory.factories.models import OrderFactory

    connection = endpoint.connect()
    headers = endpoint.headers(body=True)
    body = copy_body(source_id)
    probe = f"SELECT status FROM {OrderFactory._meta.db_table} WHERE id = %s"
    posted = []
    for _ in range(copies):
        time.sleep(pause)
        sent = time.time()
        status, answer = call(connection, "POST", "/api/order_copies", headers, body)
        answered = time.time()
        factory_id = json.loads(expect(status, answer, 201, "POST /api/order_copies"))["data"]["id"]
        posted.append((sent, answered, factory_id))
        deadline = time.monotonic() + 60
        while True:
            with db.cursor() as cursor:
                cursor.execute(probe, [factory_id])
                (state,) = cursor.fetchone()
            if state not in ("pending", "in_progress"):
                break
            if time.monotonic() > deadline:
                raise BenchError(f"copy {factory_id} not finished within 60 s")
            time.sleep(0.01)
    connection.close()
    return posted


def read_trace(trace_dir: Path) -> list[list[Any]]:
    events = []
    for path in trace_dir.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            if line:
                events.append(json.loads(line))
    events.sort(key=lambda e: e[0])
    return events


def breakdown(posted: list[tuple[float, float, str]], events: list[list[Any]], client_pid: int) -> None:
    from orderfactory.factories.models import OrderFactory

    completed = dict(
        OrderFactory.unscoped.filter(pk__in=[p[2] for p in posted]).values_list("pk", "completed_at")
    )
    stages: dict[str, list[float]] = defaultdict(list)
    counts: dict[str, list[int]] = defaultdict(list)
    commit_ms: dict[str, list[float]] = defaultdict(list)
    durations: dict[tuple[str, int], list[float]] = defaultdict(list)
    waited: dict[str, list[float]] = defaultdict(list)  # in statements and commits
    lasted: dict[str, list[float]] = defaultdict(list)  # first event to last
    statements: dict[str, list[str]] = {}
    for i, (sent, answered, factory_id) in enumerate(posted):
        until = posted[i + 1][0] if i + 1 < len(posted) else float("inf")
        window = [e for e in events if sent <= e[0] < until and e[2] != client_pid]
        runs = [e for e in window if e[4] == "_run>"]
        if not runs:
            continue
        worker_pid = runs[0][2]
        web = [e for e in window if e[2] != worker_pid and e[0] < answered]
        worker = [e for e in window if e[2] == worker_pid]

        def mark(kind: str, source: list[list[Any]] = worker) -> float | None:
            found = [e for e in source if e[4] == kind]
            return found[0][0] if found else None

        def span(name: str, evs: list[list[Any]]) -> None:
            sql = [e for e in evs if e[4] in ("execute", "executemany")]
            commits = [e for e in evs if e[4] == "commit"]
            counts[name + " statements"].append(len(sql))
            counts[name + " commits"].append(len(commits))
            waited[name].append(sum(e[1] for e in sql + commits) * 1000)
            if evs:
                lasted[name].append((evs[-1][0] + evs[-1][1] - evs[0][0]) * 1000)
            for c in commits:
                commit_ms[name].append(c[1] * 1000)
            for j, e in enumerate(sql + commits):
                durations[(name, j)].append(e[1] * 1000)
            statements.setdefault(name, [e[5] for e in sql + commits])

        web_commits = [e for e in web if e[4] == "commit"]
        post_commit = web_commits[0][0] + web_commits[0][1] if web_commits else None
        rings = [e for e in worker if e[4] == "ring" and (post_commit is None or e[0] >= post_commit - 0.001)]
        claim_in, claim_out = mark("_claim>"), mark("_claim<")
        copy_in, copy_out = mark("_copy>"), mark("_copy<")
        run_out = mark("_run<")
        take = [
            e
            for e in worker
            if e[4] == "execute"
            and e[0] < (claim_in or 0)
            and e[5].startswith(("WITH finished", "UPDATE django_tasks"))
        ]
        at = {
            "POST commit ended": post_commit,
            "POST answered (client)": answered,
            "worker woken (ring)": rings[0][0] if rings else None,
            "take began": take[-1][0] if take else None,
            "take ended": take[-1][0] + take[-1][1] if take else None,
            "claim began": claim_in,
            "claim ended (committed)": claim_out,
            "copy began": copy_in,
            "copy ended (committed)": copy_out,
            "job ended": run_out,
        }
        done = completed.get(factory_id)
        if isinstance(done, str):
            done = datetime.datetime.fromisoformat(done).replace(tzinfo=datetime.UTC)
        at["completed_at"] = done.timestamp() if done else None
        for name, t in at.items():
            if t is not None:
                stages[name].append((t - sent) * 1000)
        span("POST (web process)", web)
        if claim_in and claim_out:
            span("claim", [e for e in worker if claim_in <= e[0] <= claim_out])
        if claim_out and copy_in:
            span("between claim and copy", [e for e in worker if claim_out < e[0] < copy_in])
        if copy_in and copy_out:
            span("copy", [e for e in worker if copy_in <= e[0] <= copy_out])
        if copy_out:
            span("after the copy", [e for e in worker if e[0] > copy_out])
        if take:
            span("take", [take[-1]])
    print(f"{'stage':<28} {'ms after the POST was sent: p50':>32} {'p90':>6} {'p99':>6}")
    for name, values in stages.items():
        ordered = sorted(values)

        def pick(p: float, ordered: list[float] = ordered) -> float:
            return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

        print(f"{name:<28} {pick(50):>32.1f} {pick(90):>6.1f} {pick(99):>6.1f}")
    print()
    for name, values in counts.items():
        print(f"{name:<36} median {statistics.median(values):.0f} (min {min(values)}, max {max(values)})")
    for name, values in waited.items():
        print(
            f"{name:<36} p50 {statistics.median(values):.1f} ms in the database (statements and commits) "
            f"of {statistics.median(lasted[name] or [0]):.1f} ms"
        )
    for name, values in commit_ms.items():
        ordered = sorted(values)
        print(
            f"commit durations, {name:<28} p50 {statistics.median(ordered):.2f} ms, max {ordered[-1]:.2f} ms"
        )
    print()
    for name, sqls in statements.items():
        print(f"{name}:")
        for j, sql in enumerate(sqls):
            print(f"    {statistics.median(durations[(name, j)]):6.2f} ms  {sql[:110]}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=10)
    parser.add_argument("--copies", type=int, default=50)
    parser.add_argument("--pause", type=float, default=0.1, help="seconds idle before each POST")
    parser.add_argument("--phase", choices=("embedded", "workers"), default="embedded")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (created if missing)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="of-bench-latency-") as data_dir:
        trace_dir = Path(data_dir) / "trace"
        tracer_dir = Path(data_dir) / "tracer"
        trace_dir.mkdir()
        tracer_dir.mkdir()
        (tracer_dir / "sitecustomize.py").write_text(TRACER)
        env = environment(data_dir, args.database_url)
        env.pop("ORDERFACTORY_WORKER_POLL_INTERVAL")  # the default, as an install has it
        app = prepared(env, args.database_url)
        from orderfactory.core import scope

        with scope.active(tenant_scope(app)):
            shop = Shop(args.lines)
            source = shop.placed_order(args.lines)
            traced = {**env, "OF_BENCH_TRACE_DIR": str(trace_dir)}
            traced["PYTHONPATH"] = os.pathsep.join([str(tracer_dir), traced["PYTHONPATH"]])
            with server(traced, data_dir, args.phase == "workers") as endpoint:
                endpoint.token = token(endpoint, app)
                post_copies(endpoint, source, 5, args.pause)  # warm up
                for path in trace_dir.glob("*.jsonl"):
                    path.write_text("")
                posted = post_copies(endpoint, source, args.copies, args.pause)
                time.sleep(0.2)
            database = "PostgreSQL" if args.database_url.startswith("postgres") else "SQLite"
            print(
                f"{database}, {args.phase}, {args.copies} copies of {args.lines} lines, load {os.getloadavg()[0]:.1f}"
            )
            breakdown(posted, read_trace(trace_dir), os.getpid())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
