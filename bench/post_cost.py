"""What one ``POST /api/order_copies`` costs the server that answers it, measured in a real ``serve``.

Seeds ``--orders`` placed orders of ``--lines`` lines (bench/copy_throughput.py's shop) on a temporary
database (SQLite by default, PostgreSQL with ``--database-url``), starts ``orderfactory serve --threads 4``
(``--no-worker`` unless ``--worker``: the request path alone), warms it up with ``--warmup`` POSTs, then sends
``--posts`` sequential POSTs over one keep-alive connection, as the copy bench does, and prints per POST:

- **CPU ms** of the web worker process (user + system, from /proc: every thread of it, gunicorn's included);
- **statements** the request ran (counted by an execute wrapper around each request's handling; a
  transaction's BEGIN and COMMIT are not statements here);
- **Python calls** (with ``--profile``): cProfile in the thread that handles the requests (gunicorn's
  request parsing and response writing included), and the functions that take the most time.

Load-independent figures (CPU time, statements, calls), unlike the wall time also printed. Nothing here
asserts a figure.

    .venv/bin/python bench/post_cost.py [--posts 500] [--profile] [--worker]
    .venv/bin/python bench/post_cost.py --database-url postgresql://postgres@127.0.0.1:5432/of_bench_post
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _serve_instrumented(argv: list[str]) -> int:
    """``orderfactory serve`` whose request handling is counted (and profiled when BENCH_PROFILE_OUT names a
    file): the pool thread's ``handle`` is wrapped, so gunicorn's parsing and writing are measured too."""
    import cProfile
    import threading

    from orderfactory import cli, server

    out = os.environ.get("BENCH_PROFILE_OUT", "")
    skip = int(os.environ.get("BENCH_SKIP", "0"))
    last = int(os.environ.get("BENCH_LAST", "0"))
    counts_file = os.environ["BENCH_COUNTS_OUT"]
    profile = cProfile.Profile() if out else None
    lock = threading.Lock()
    seen: dict[str, Any] = {"requests": 0, "statements": 0, "sql": {}}
    handle = server.ThreadWorker.handle

    def counted(self: Any, conn: Any) -> Any:
        from django.db import connection

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            seen["statements"] += 1
            text = sql[:150]
            seen["sql"][text] = seen["sql"].get(text, 0) + 1
            return execute(sql, params, many, context)

        with lock:
            seen["requests"] += 1
            measured = seen["requests"] > skip
            if seen["requests"] == skip + 1:
                seen["statements"] = 0
        if not measured:
            return handle(self, conn)
        if profile is not None:
            profile.enable()
        try:
            with connection.execute_wrapper(count):
                return handle(self, conn)
        finally:
            if profile is not None:
                profile.disable()
                if seen["requests"] == last:
                    profile.dump_stats(out)
            Path(counts_file).write_text(json.dumps(seen))

    server.ThreadWorker.handle = counted  # type: ignore[method-assign]

    def timed(name: str, method: Any) -> Any:
        def run(self: Any, *args: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(self, *args)
            finally:
                if seen["requests"] > skip:
                    seen[name] = seen.get(name, 0.0) + time.perf_counter() - started

        return run

    # the wall time of beginning (on SQLite: waiting for the write lock) and of committing (a synced commit)
    if os.environ.get("ORDERFACTORY_DATABASE_URL", "").startswith("postgres"):
        from orderfactory.core.postgresql_engine import base as postgresql_engine

        engine: Any = postgresql_engine.DatabaseWrapper
        engine._set_autocommit = timed("begin", engine._set_autocommit)
    else:
        from orderfactory.core.sqlite_engine import base as sqlite_engine

        engine = sqlite_engine.DatabaseWrapper
        engine._start_transaction_under_autocommit = timed(
            "begin", engine._start_transaction_under_autocommit
        )
    engine._commit = timed("commit", engine._commit)  # type: ignore[method-assign]
    return cli.main(argv)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    sys.path.insert(0, str(ROOT / "bench"))
    from api_read import _free_port, _wait_until_listening, call, expect
    from copy_throughput import Endpoint, Shop, copy_body, environment, prepared, tenant_scope, token

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--lines", type=int, default=10)
    parser.add_argument("--posts", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the requests (slower; calls counted)"
    )
    parser.add_argument("--worker", action="store_true", help="serve with its embedded worker copying beside")
    parser.add_argument("--profile-out", default="", help="keep the profile in this file (pstats)")
    parser.add_argument("--top", type=int, default=25, help="functions listed with --profile")
    parser.add_argument("--sql", action="store_true", help="print the statements run, with their counts")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="of-bench-post-") as data_dir:
        env = environment(data_dir, args.database_url)
        app = prepared(env, args.database_url)
        from orderfactory.core import scope

        with scope.active(tenant_scope(app)):
            shop = Shop(args.lines)
            sources = [shop.placed_order(args.lines) for _ in range(args.orders)]
        profile_out = args.profile_out or str(Path(data_dir) / "post.prof")
        counts_out = str(Path(data_dir) / "counts.json")
        served_env = {
            **env,
            "BENCH_SKIP": str(args.warmup),
            "BENCH_LAST": str(args.warmup + args.posts),
            "BENCH_COUNTS_OUT": counts_out,
            **({"BENCH_PROFILE_OUT": profile_out} if args.profile else {}),
        }
        port = _free_port()
        log = Path(data_dir) / "serve.log"
        serve = ["serve", "--port", str(port), "--threads", "4", *([] if args.worker else ["--no-worker"])]
        with log.open("wb") as output:
            served = subprocess.Popen(
                [sys.executable, __file__, "_serve", *serve], env=served_env, stdout=output, stderr=output
            )
        try:
            _wait_until_listening(served, port, log)
            endpoint = Endpoint("127.0.0.1", port)
            endpoint.token = token(endpoint, app)
            # gunicorn's web worker, forked from this script's process (the embedded worker is spawned anew)
            [web_pid] = [
                p for p in _children(served.pid) if "post_cost" in Path(f"/proc/{p}/cmdline").read_text()
            ]
            connection = endpoint.connect()
            headers = endpoint.headers(body=True)

            def post(source_id: str) -> None:
                status, answer = call(connection, "POST", "/api/order_copies", headers, copy_body(source_id))
                expect(status, answer, 201, "POST /api/order_copies")

            for i in range(args.warmup - 1):  # the token's request was one
                post(sources[i % len(sources)])
            cpu, started, each = _cpu_seconds(web_pid), time.perf_counter(), []
            for i in range(args.posts):
                one = time.perf_counter()
                post(sources[i % len(sources)])
                each.append(time.perf_counter() - one)
            wall, cpu = time.perf_counter() - started, _cpu_seconds(web_pid) - cpu
            connection.close()
            time.sleep(0.2)
            seen = json.loads(Path(counts_out).read_text())
            load = os.getloadavg()[0]
            print(
                f"{args.posts} POSTs ({'PostgreSQL' if args.database_url else 'SQLite'}, "
                f"{'with' if args.worker else 'no'} worker, {'profiled' if args.profile else 'unprofiled'}, "
                f"load {load:.1f}): CPU {cpu / args.posts * 1000:.2f} ms/POST in the web process, "
                f"{seen['statements'] / args.posts:.2f} "
                f"statements/POST, begin {seen.get('begin', 0) / args.posts * 1000:.2f} ms/POST, commit "
                f"{seen.get('commit', 0) / args.posts * 1000:.2f} ms/POST, wall p50 {statistics.median(each) * 1000:.2f} ms, {args.posts / wall:.0f} POSTs/s"
            )
            if args.sql:
                print("\n".join(f"{n:6d} {text}" for text, n in seen["sql"].items()))
        finally:
            served.terminate()
            served.wait(timeout=30)
        if args.profile:
            import pstats

            stats = pstats.Stats(profile_out)
            measured = seen["requests"] - args.warmup
            print(
                f"Python calls per POST: {stats.total_calls / measured:.0f} (primitive {stats.prim_calls / measured:.0f})"
            )
            stats.sort_stats("tottime").print_stats(args.top)
            stats.sort_stats("cumulative").print_stats(args.top * 2)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        sys.path.insert(0, str(ROOT / "src"))
        sys.exit(_serve_instrumented(sys.argv[2:]))
    sys.exit(main())
