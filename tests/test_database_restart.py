"""A PostgreSQL that restarts under load: requests in the outage get a 503 with Retry-After (never a 500), and
every copy accepted before, during or after it completes, once, within a minute of the database's return, its
worker cut off mid-copy included. The database is a private cluster this test starts (initdb into a temporary
directory as the ``postgres`` user, on a free port) and restarts; the shared one is never touched."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests import faults

ROOT = Path(__file__).resolve().parents[1]
BIN = Path("/usr/lib/postgresql")
STALL = 0.5  # seconds each copy stalls inside its transaction (ORDERFACTORY_FAULT_COPY_DELAY)


def _pg_bin() -> Path | None:
    found = sorted(BIN.glob("*/bin/initdb"))
    return found[-1].parent if found else None


pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="restarts a PostgreSQL: the PostgreSQL pass"
    ),
    pytest.mark.skipif(
        _pg_bin() is None or os.geteuid() != 0 or shutil.which("runuser") is None,
        reason="needs PostgreSQL's initdb and root to run it as the postgres user",
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/orderfactory"

    def ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        command = [str(_pg_bin() / "pg_ctl"), "-D", str(self.directory / "data"), "-o", options]
        command += ["-l", str(self.directory / "postgres.log"), "-w", *args]
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True, timeout=60
        )


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    # Not under pytest's tmp_path: its parent is private to this user, and the cluster runs as postgres.
    directory = Path(tempfile.mkdtemp(prefix="orderfactory-pg-"))
    shutil.chown(directory, "postgres")
    initdb = [str(_pg_bin() / "initdb"), "-D", str(directory / "data"), "-A", "trust", "-U", "postgres", "-N"]
    subprocess.run(["runuser", "-u", "postgres", "--", *initdb], check=True, capture_output=True, timeout=120)
    found = Cluster(directory, _free_port())
    found.ctl("start")
    try:
        import psycopg

        with psycopg.connect(found.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
            admin.execute("CREATE DATABASE orderfactory")
        yield found
    finally:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(_pg_bin() / "pg_ctl"),
                "-D",
                str(directory / "data"),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(directory, ignore_errors=True)


def _environment(tmp_path: Path, cluster: Cluster, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERFACTORY_")}
    return faults.environment(
        {
            **env,
            "PYTHONPATH": str(ROOT / "src"),
            "ORDERFACTORY_DATA_DIR": str(tmp_path / "var"),
            "ORDERFACTORY_DATABASE_URL": cluster.url,
            "ORDERFACTORY_RATE_LIMITS": "off",
            "ORDERFACTORY_WORKER_POLL_INTERVAL": "0.05",
            "XDG_RUNTIME_DIR": str(tmp_path),
            **extra,
        }
    )


@dataclass
class Answer:
    at: float
    status: int
    body: dict[str, Any]
    retry_after: str | None


def _post(base: str, token: str, order_id: str) -> Answer:
    body = {
        "data": {
            "type": "order_copies",
            "relationships": {"source_order": {"data": {"type": "orders", "id": order_id}}},
        }
    }
    request = urllib.request.Request(
        f"{base}/api/order_copies",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/vnd.api+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(time.monotonic(), response.status, json.loads(response.read()), None)
    except urllib.error.HTTPError as exc:
        return Answer(
            time.monotonic(), exc.code, json.loads(exc.read() or b"{}"), exc.headers.get("Retry-After")
        )


def test_a_restarted_database_loses_doubles_and_delays_nothing_accepted(
    tmp_path: Path, cluster: Cluster
) -> None:
    made = subprocess.run(
        [sys.executable, "-m", "orderfactory.cli", "demo", "--json", "--runs-in", "86400"],
        env=_environment(tmp_path, cluster),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr
    demo = json.loads(made.stdout)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "orderfactory.cli", "serve", "--port", str(port), "--threads", "4"],
            env=_environment(tmp_path, cluster, ORDERFACTORY_FAULT_COPY_DELAY=str(STALL)),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        token = _token(base, demo, server, log_path)
        answers: list[Answer] = []
        stop_load = threading.Event()

        def load() -> None:  # a copy every 0.1 s
            for i in range(100_000):
                if stop_load.is_set():
                    return
                answers.append(_post(base, token, demo["orders"][i % len(demo["orders"])]))
                time.sleep(0.1)

        loader = threading.Thread(target=load)
        loader.start()
        time.sleep(1.5)
        # Stop the database while the worker is inside a copy's transaction: it stalls there after writing.
        seen = log_path.read_text().count("fault injection")
        deadline = time.monotonic() + 30
        while log_path.read_text().count("fault injection") == seen:
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.02)
        cluster.ctl("-m", "fast", "stop")
        time.sleep(2)
        cluster.ctl("start")
        back = time.monotonic()
        time.sleep(1.5)
        stop_load.set()
        loader.join(60)

        accepted = [a.body["data"]["id"] for a in answers if a.status == 201]
        refused = [a for a in answers if a.status != 201]
        assert refused, "no request met the outage"
        for answer in refused:
            assert answer.status == 503 and answer.retry_after is not None, answer
            assert [e["code"] for e in answer.body["errors"]] == ["SERVICE_UNAVAILABLE"], answer
        assert any(a.at > back for a in answers if a.status == 201), "nothing accepted after the restart"

        import psycopg

        def copies() -> list[tuple[str, str, str | None]]:
            with psycopg.connect(cluster.url) as db:
                return db.execute(
                    "SELECT id, status, target_order_id FROM factories_orderfactory ORDER BY created_at"
                ).fetchall()

        deadline = back + 60
        while any(status != "completed" for _, status, _ in copies()):
            assert time.monotonic() < deadline, (copies(), log_path.read_text()[-4000:])
            time.sleep(0.5)
        rows = copies()
        assert set(accepted) <= {pk for pk, _, _ in rows}  # nothing accepted was lost
        targets = [target for _, _, target in rows]
        assert None not in targets and len(set(targets)) == len(rows)  # one target each
        with psycopg.connect(cluster.url) as db:
            orders = db.execute("SELECT count(*) FROM orders_order").fetchone()[0]
        assert orders == len(demo["orders"]) + len(rows)  # no second target anywhere
        output = log_path.read_text()
        assert "the database went away" in output and "Traceback" not in output, output[-4000:]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _token(base: str, demo: dict[str, Any], server: subprocess.Popen[bytes], log_path: Path) -> str:
    credentials = {
        "grant_type": "client_credentials",
        "client_id": demo["client_id"],
        "client_secret": demo["client_secret"],
    }
    deadline = time.monotonic() + 120
    while True:
        try:
            request = urllib.request.Request(
                f"{base}/oauth/token",
                data=json.dumps(credentials).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                return str(json.loads(response.read())["access_token"])
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)
