"""Read throughput of the JSON:API against its own ceiling.

Starts ``orderfactory serve`` on a temporary database (SQLite by default, or ``--database-url``), or uses
a running server (``--url`` with ``--client-id``/``--client-secret``); seeds price lists through the API;
then, for ``--seconds`` each at concurrency 8 over keep-alive loopback connections, measures:

- **list**: ``GET /api/price_lists`` with page size 25, one filter and one sort;
- **retrieve**: ``GET /api/price_lists/<id>`` over the seeded ids;
- **ceiling**: ``GET /_bench/ceiling`` on the same server, which answers with the list response's exact
  bytes, pre-rendered, after the same steps before and after the engine as the API's (bench/ceiling_urls.py;
  routed only when the server runs with ``DJANGO_SETTINGS_MODULE=ceiling_settings`` and bench/ on its
  ``PYTHONPATH``, as the server this benchmark starts does).

It prints requests, req/s, p50 and p99 per phase and the ratios list/ceiling and retrieve/ceiling (target
for list/ceiling: >= 0.5). Figures only: nothing here asserts a timing. With ``--database-url`` the seeded
rows stay in that database, under an organization of their own for each run.

    .venv/bin/python bench/api_read.py [--seconds 10] [--price-lists 1000]
    .venv/bin/python bench/api_read.py --database-url postgresql://postgres@127.0.0.1:5432/of_bench
    .venv/bin/python bench/api_read.py --url http://127.0.0.1:8000 --client-id ID --client-secret SECRET
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
JSONAPI = "application/vnd.api+json"
CURRENCIES = ("EUR", "USD", "GBP")


class BenchError(Exception):
    """The benchmark cannot go on (server did not start, a request failed); the message says why."""


# --- HTTP over keep-alive connections -----------------------------------------------------------------


@dataclass
class Endpoint:
    host: str
    port: int
    token: str = ""

    def connect(self) -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        connection.connect()
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def headers(self, body: bool = False) -> dict[str, str]:
        headers = {"Accept": JSONAPI, "Authorization": f"Bearer {self.token}"}
        if body:
            headers["Content-Type"] = JSONAPI
        return headers


def call(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None = None,
) -> tuple[int, bytes]:
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def expect(status: int, body: bytes, wanted: int, what: str) -> bytes:
    if status != wanted:
        raise BenchError(f"{what}: HTTP {status} {body[:300]!r}")
    return body


# --- the server under test ----------------------------------------------------------------------------


@dataclass
class Server:
    endpoint: Endpoint
    client_id: str
    client_secret: str
    description: str
    pid: int | None = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(env: dict[str, str], *args: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-m", "orderfactory.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchError(f"orderfactory {' '.join(args)} failed:\n{completed.stderr[-2000:]}")
    return completed.stdout


def _wait_until_listening(
    process: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"the server exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"the server did not listen on port {port} within {timeout:.0f} s")


@contextmanager
def started_server(args: argparse.Namespace) -> Iterator[Server]:
    """``orderfactory serve`` on a free port and a fresh data directory, with one new integration app."""
    with tempfile.TemporaryDirectory(prefix="of-bench-") as data_dir:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(ROOT / "src"), str(ROOT / "bench"), os.environ.get("PYTHONPATH")])
            ),
            "DJANGO_SETTINGS_MODULE": "ceiling_settings",  # the product's URLs and /_bench/ceiling
            "ORDERFACTORY_DATA_DIR": data_dir,
            "ORDERFACTORY_DATABASE_URL": args.database_url or "",
            "ORDERFACTORY_RATE_LIMITS": "off",
            # gunicorn puts its control socket under XDG_RUNTIME_DIR: keep it away from other servers'.
            "XDG_RUNTIME_DIR": data_dir,
        }
        if args.database_url:
            subprocess.run(
                [sys.executable, str(ROOT / "scripts" / "ensure_database.py"), args.database_url], check=True
            )
        # A fresh organization per run, so a reused PostgreSQL database holds no rows of earlier runs.
        app = json.loads(
            _cli(
                env,
                "apps",
                "create",
                "--name",
                "bench",
                "--kind",
                "integration",
                "--mode",
                "test",
                "--organization",
                f"bench-{secrets.token_hex(4)}",
                "--json",
            )
        )
        port = _free_port()
        log = Path(data_dir) / "server.log"
        command = [sys.executable, "-m", "orderfactory.cli", "serve", "--port", str(port)]
        command += ["--threads", str(args.server_threads)]
        if not args.with_worker:
            command.append("--no-worker")
        with log.open("wb") as log_file:
            process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            _wait_until_listening(process, port, log)
            database = "PostgreSQL" if (args.database_url or "").startswith("postgres") else "SQLite"
            worker = "on" if args.with_worker else "off"
            yield Server(
                Endpoint("127.0.0.1", port),
                app["client_id"],
                app["client_secret"],
                f"started here on {database}, 1 process x {args.server_threads} threads, embedded worker {worker}",
                pid=process.pid,
            )
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def running_server(args: argparse.Namespace) -> Iterator[Server]:
    url = urlsplit(args.url)
    if url.scheme != "http" or not url.hostname:
        raise BenchError(f"--url must be http://host:port, not {args.url}")
    yield Server(
        Endpoint(url.hostname, url.port or 80),
        args.client_id,
        args.client_secret,
        f"running at {args.url}",
    )


def authenticate(server: Server) -> None:
    connection = server.endpoint.connect()
    body = json.dumps(
        {
            "grant_type": "client_credentials",
            "client_id": server.client_id,
            "client_secret": server.client_secret,
        }
    ).encode()
    status, answer = call(connection, "POST", "/oauth/token", {"Content-Type": "application/json"}, body)
    server.endpoint.token = json.loads(expect(status, answer, 200, "POST /oauth/token"))["access_token"]
    connection.close()


# --- seeding ------------------------------------------------------------------------------------------


def seed(endpoint: Endpoint, tag: str, count: int, concurrency: int) -> list[str]:
    """Create ``count`` price lists named ``<tag> price list <n>`` through the API, in parallel."""
    numbers = iter(range(count))
    lock = threading.Lock()
    ids: list[str] = []
    failures: list[str] = []

    def create() -> None:
        connection = endpoint.connect()
        headers = endpoint.headers(body=True)
        while not failures:
            with lock:
                n = next(numbers, None)
            if n is None:
                break
            document = {
                "data": {
                    "type": "price_lists",
                    "attributes": {
                        "name": f"{tag} price list {n:04d}",
                        "code": f"{tag}-{n:04d}",
                        "currency_code": CURRENCIES[n % len(CURRENCIES)],
                        "tax_included": n % 2 == 0,
                        "metadata": {"bench": tag, "n": n},
                    },
                }
            }
            status, body = call(
                connection, "POST", "/api/price_lists", headers, json.dumps(document).encode()
            )
            if status != 201:
                failures.append(f"POST /api/price_lists: HTTP {status} {body[:300]!r}")
                break
            with lock:
                ids.append(json.loads(body)["data"]["id"])
        connection.close()

    threads = [threading.Thread(target=create) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise BenchError(failures[0])
    return ids


# --- measuring ----------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    requests: int
    seconds: float
    latencies: list[float] = field(repr=False)
    client_cpu_seconds: float
    server_cpu_seconds: float | None  # None when the server's CPU time cannot be read
    served: int  # responses received while CPU time was counted, those cut off at the edges included

    @classmethod
    def combined(cls, parts: list[Phase]) -> Phase:
        server_cpu = [p.server_cpu_seconds for p in parts]
        return cls(
            parts[0].name,
            sum(p.requests for p in parts),
            sum(p.seconds for p in parts),
            [latency for p in parts for latency in p.latencies],
            sum(p.client_cpu_seconds for p in parts),
            None if any(c is None for c in server_cpu) else sum(c or 0.0 for c in server_cpu),
            sum(p.served for p in parts),
        )

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_per_request(self) -> float | None:
        """Server CPU seconds per response: does not depend on how busy the machine is otherwise."""
        if self.server_cpu_seconds is None or not self.served:
            return None
        return self.server_cpu_seconds / self.served

    def percentile(self, q: float) -> str:
        """Nearest-rank percentile in milliseconds, formatted; n/a when no request completed."""
        if not self.latencies:
            return "n/a"
        ordered = sorted(self.latencies)
        return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.2f}"


def _cpu_seconds(pid: int | None) -> float | None:
    """CPU time used so far by a process and its children (Linux /proc; None elsewhere or when unknown)."""
    if pid is None:
        return None
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        total = 0.0
        for each in (pid, *map(int, children)):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
        return total
    except (OSError, ValueError, IndexError):
        return None


def measure(
    name: str,
    endpoint: Endpoint,
    next_path: Callable[[random.Random], str],
    *,
    seconds: float,
    warmup: float,
    concurrency: int,
    server_pid: int | None,
) -> Phase:
    """``concurrency`` threads, each with its own keep-alive connection, GET as fast as answers come back.

    Only requests started after the warm-up and finished before the deadline count.
    """
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    served = [0] * concurrency
    failures: list[str] = []
    start = threading.Barrier(concurrency + 1)
    clock: dict[str, float] = {}

    def worker(index: int) -> None:
        rng = random.Random(index)
        connection = endpoint.connect()
        headers = endpoint.headers()
        mine = latencies[index]
        start.wait()
        measured_from, deadline = clock["from"], clock["until"]
        while not failures:
            began = time.perf_counter()
            if began >= deadline:
                break
            try:
                status, body = call(connection, "GET", next_path(rng), headers)
            except (http.client.HTTPException, OSError):
                # The server may close an idle keep-alive connection; open another and go on.
                connection.close()
                connection = endpoint.connect()
                continue
            ended = time.perf_counter()
            if status != 200:
                failures.append(f"{name}: HTTP {status} {body[:300]!r}")
            elif began >= measured_from and ended <= deadline:
                mine.append(ended - began)
            if ended >= measured_from:
                served[index] += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    now = time.perf_counter()
    clock["from"], clock["until"] = now + warmup, now + warmup + seconds
    start.wait()
    time.sleep(warmup)
    cpu_before, server_before = time.process_time(), _cpu_seconds(server_pid)
    for thread in threads:
        thread.join()
    cpu_used = time.process_time() - cpu_before
    server_after = _cpu_seconds(server_pid)
    if failures:
        raise BenchError(failures[0])
    everything = [latency for mine in latencies for latency in mine]
    server_cpu = None if server_before is None or server_after is None else server_after - server_before
    return Phase(name, len(everything), seconds, everything, cpu_used, server_cpu, sum(served))


def list_path(tag: str) -> str:
    """Page size 25, one filter, one sort; brackets percent-encoded as the SDK sends them."""
    return "/api/price_lists?" + urlencode(
        [("filter[q][name_start]", tag), ("sort", "-name"), ("page[size]", "25")]
    )


def store_ceiling(endpoint: Endpoint, body: bytes) -> bool:
    """Store ``body`` as the ceiling; False when the server does not route /_bench/ceiling."""
    connection = endpoint.connect()
    status, answer = call(connection, "POST", "/_bench/ceiling", endpoint.headers(body=True), body)
    if status == 404:
        return False
    expect(status, answer, 204, "POST /_bench/ceiling")
    status, answer = call(connection, "GET", "/_bench/ceiling", endpoint.headers())
    if expect(status, answer, 200, "GET /_bench/ceiling") != body:
        raise BenchError("GET /_bench/ceiling does not return the stored bytes")
    connection.close()
    return True


# --- the run ------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    server_context = running_server(args) if args.url else started_server(args)
    with server_context as server:
        endpoint = server.endpoint
        authenticate(server)
        tag = f"b{secrets.token_hex(4)}"
        began = time.perf_counter()
        ids = seed(endpoint, tag, args.price_lists, args.concurrency)
        seeded_in = time.perf_counter() - began

        listing = list_path(tag)
        connection = endpoint.connect()
        status, list_body = call(connection, "GET", listing, endpoint.headers())
        document = json.loads(expect(status, list_body, 200, f"GET {listing}"))
        status, one = call(connection, "GET", f"/api/price_lists/{ids[0]}", endpoint.headers())
        expect(status, one, 200, "GET /api/price_lists/<id>")
        connection.close()
        has_ceiling = store_ceiling(endpoint, list_body)

        print(f"orderfactory read benchmark: server {server.description}")
        print(
            f"{len(ids)} price lists seeded in {seeded_in:.1f} s; concurrency {args.concurrency}, "
            f"{args.seconds:g} s per phase"
            f"{f' in {args.rounds} interleaved rounds' if args.rounds > 1 else ''}, after {args.warmup:g} s of warm-up"
        )
        print(
            f"  list:     GET {listing}  ({len(list_body)} bytes, "
            f"{len(document['data'])} of {document['meta']['record_count']} records)"
        )
        print(f"  retrieve: GET /api/price_lists/<one of {len(ids)} ids>  ({len(one)} bytes)")
        if has_ceiling:
            print(
                f"  ceiling:  GET /_bench/ceiling  (the list response's {len(list_body)} bytes, pre-rendered)"
            )
        else:
            print(
                "  ceiling:  not measured (the server does not route /_bench/ceiling: run it with"
                " DJANGO_SETTINGS_MODULE=ceiling_settings and bench/ on its PYTHONPATH)"
            )

        def fixed(path: str) -> Callable[[random.Random], str]:
            return lambda _rng: path

        phases = [("list", fixed(listing)), ("retrieve", lambda rng: f"/api/price_lists/{rng.choice(ids)}")]
        if has_ceiling:
            phases.append(("ceiling", fixed("/_bench/ceiling")))
        # Round-robin slices rather than one block per phase: on a shared machine, load from elsewhere then
        # falls on every phase alike instead of skewing whichever phase it happens to coincide with.
        slices: dict[str, list[Phase]] = {name: [] for name, _ in phases}
        for round_number in range(args.rounds):
            for name, next_path in phases:
                slices[name].append(
                    measure(
                        name,
                        endpoint,
                        next_path,
                        seconds=args.seconds / args.rounds,
                        warmup=args.warmup if round_number == 0 else 0.0,
                        concurrency=args.concurrency,
                        server_pid=server.pid,
                    )
                )
        results = {name: Phase.combined(parts) for name, parts in slices.items()}

    print()
    # CPU columns: the server's share of one core, its CPU time per request, and the load generator's
    # share (near 100% would mean the client, not the server, set the pace).
    print(
        f"{'phase':<10}{'requests':>10}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'server cpu':>12}{'cpu ms/req':>12}{'client cpu':>12}"
    )
    for phase in results.values():
        cpu, per_request = phase.server_cpu_seconds, phase.cpu_per_request
        print(
            f"{phase.name:<10}{phase.requests:>10}{phase.rate:>10.0f}{phase.percentile(0.5):>9}"
            f"{phase.percentile(0.99):>9}"
            f"{'n/a' if cpu is None else f'{cpu / phase.seconds:.0%}':>12}"
            f"{'n/a' if per_request is None else f'{per_request * 1000:.2f}':>12}"
            f"{phase.client_cpu_seconds / phase.seconds:>12.0%}"
        )
    print()
    ceiling = results.get("ceiling")
    for name in ("list", "retrieve"):
        ratio = f"{results[name].rate / ceiling.rate:.2f}" if ceiling and ceiling.rate else "n/a"
        target = "  (target >= 0.5)" if name == "list" else ""
        print(f"ratio {name}/ceiling: {ratio}{target}")
    ceiling_cost = ceiling.cpu_per_request if ceiling else None
    if ceiling_cost:
        # The same ratios from server CPU per request: steadier when other work shares the machine.
        figures = ", ".join(
            f"{name} {ceiling_cost / cost:.2f}"
            for name in ("list", "retrieve")
            if (cost := results[name].cpu_per_request)
        )
        print(f"ratios by server CPU per request: {figures}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per phase (default 10)")
    parser.add_argument("--warmup", type=float, default=None, help="unmeasured time before each phase")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved slices each phase is measured in")
    parser.add_argument("--price-lists", type=int, default=1000, help="how many to seed (default 1000)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", help="serve from this database instead of a temporary SQLite file")
    parser.add_argument("--server-threads", type=int, default=8, help="threads of the started server")
    parser.add_argument("--with-worker", action="store_true", help="run the server's embedded worker too")
    parser.add_argument("--url", help="benchmark a running server instead (http://host:port)")
    parser.add_argument("--client-id", help="an integration application's client id (with --url)")
    parser.add_argument("--client-secret", help="its client secret (with --url)")
    args = parser.parse_args(argv)
    if args.url and not (args.client_id and args.client_secret):
        parser.error("--url needs --client-id and --client-secret")
    if args.price_lists < 1 or args.rounds < 1:
        parser.error("--price-lists and --rounds must be at least 1")
    # Slices shorter than a second would mostly measure requests cut off at their edges.
    args.rounds = max(1, min(args.rounds, int(args.seconds)))
    if args.warmup is None:
        args.warmup = min(1.0, args.seconds / 5)
    try:
        return run(args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
