"""The workers as an operator runs them: ``orderfactory worker`` processes (several on one database), the
embedded worker of ``orderfactory serve``, and a worker killed mid-copy. Each starts real processes on this
run's test database (SQLite file or PostgreSQL), so the tests commit their rows (transaction=True)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from orderfactory.core import clock, scope
from orderfactory.factories import services
from orderfactory.factories.models import OrderFactory
from orderfactory.orders.models import LineItem, Order
from tests import faults
from tests.factories.conftest import copied, copy, placed
from tests.orders.conftest import build_shop

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def placed_order(api: Any) -> dict[str, Any]:
    return placed(api, build_shop(api))


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgresql://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    return faults.environment(
        {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
            "ORDERFACTORY_DATABASE_URL": database_url(),
            "ORDERFACTORY_WORKER_POLL_INTERVAL": "0.05",
            "ORDERFACTORY_RATE_LIMITS": "off",
            "XDG_RUNTIME_DIR": str(tmp_path),  # gunicorn's control socket, away from other servers'
            **extra,
        }
    )


@contextmanager
def orderfactory(tmp_path: Path, *args: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """``orderfactory <args>`` as a subprocess, its output in a log file; killed on the way out."""
    log = tmp_path / f"{args[0]}-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "orderfactory.cli", *args],
            env=environment(tmp_path, **env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    process.log = log  # type: ignore[attr-defined]
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for(
    condition: Callable[[], Any], what: str, timeout: float = 90, processes: tuple[Any, ...] = ()
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        for p in processes:
            if p.poll() is not None:
                pytest.fail(f"{what}: the process exited with {p.returncode}:\n{p.log.read_text()[-3000:]}")
        time.sleep(0.1)
    logs = "\n".join(p.log.read_text()[-3000:] for p in processes)
    pytest.fail(f"{what}: not within {timeout:.0f} s\n{logs}")


def kill_a_worker_mid_copy(tmp_path: Path, what: str) -> None:
    """A worker process started, stalled mid-copy by fault injection once it took what is ready, then killed
    (SIGKILL: nothing of it ends cleanly)."""
    with orderfactory(tmp_path, "worker", ORDERFACTORY_FAULT_COPY_DELAY="60") as worker:
        wait_for(lambda: "fault injection" in worker.log.read_text(), what, processes=(worker,))
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)


def statuses(api: Any) -> dict[str, str]:
    with scope.active(api.scope()):
        return dict(OrderFactory.objects.values_list("pk", "status"))


def orders(api: Any) -> int:
    with scope.active(api.scope()):
        return Order.objects.count()


def test_two_standalone_workers_share_one_database(api, placed_order, tmp_path):
    copies = 12
    ids = [
        copy(api, placed_order["id"], attributes={"reference": f"run-{i}"}).data["id"] for i in range(copies)
    ]
    assert set(statuses(api).values()) == {"pending"}
    with (
        orderfactory(tmp_path, "worker", "--concurrency", "2") as first,
        orderfactory(tmp_path, "worker", "--concurrency", "2") as second,
    ):
        wait_for(
            lambda: set(statuses(api).values()) == {"completed"},
            "every copy completed",
            processes=(first, second),
        )
    targets = [copied(api, fid)[1]["id"] for fid in ids]
    assert len(set(targets)) == copies
    assert orders(api) == 1 + copies
    with scope.active(api.scope()):
        assert OrderFactory.objects.filter(attempts=1).count() == copies


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_concurrency_runs_worker_processes_and_keeps_them_running(api, placed_order, tmp_path):
    with orderfactory(tmp_path, "worker", "--concurrency", "2") as supervisor:
        first = wait_for(
            lambda: len(children_of(supervisor.pid)) == 2 and children_of(supervisor.pid), "two workers"
        )
        os.kill(min(first), signal.SIGKILL)
        wait_for(
            lambda: len(children_of(supervisor.pid)) == 2 and children_of(supervisor.pid) != first,
            "the killed worker process replaced",
            processes=(supervisor,),
        )
        ids = [copy(api, placed_order["id"]).data["id"] for _ in range(4)]
        wait_for(
            lambda: all(statuses(api)[i] == "completed" for i in ids),
            "the copies completed by the worker processes",
            processes=(supervisor,),
        )
        children = children_of(supervisor.pid)
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(30) == 0
    assert all(not Path(f"/proc/{pid}").exists() for pid in children)


def test_concurrent_batch_workers_drain_the_queue_and_exit(api, placed_order, tmp_path):
    ids = [copy(api, placed_order["id"]).data["id"] for _ in range(6)]
    with orderfactory(tmp_path, "worker", "--concurrency", "2", "--batch") as supervisor:
        assert supervisor.wait(90) == 0, supervisor.log.read_text()[-3000:]
    assert all(statuses(api)[i] == "completed" for i in ids)
    with scope.active(api.scope()):
        assert OrderFactory.objects.filter(pk__in=ids, attempts=1).count() == len(ids)


def test_serve_runs_an_embedded_worker(api, placed_order, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with orderfactory(tmp_path, "serve", "--port", str(port), "--threads", "2") as server:

        def post() -> Any:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            except OSError:
                return None
            body = json.dumps(
                {
                    "data": {
                        "type": "order_copies",
                        "relationships": {
                            "source_order": {"data": {"type": "orders", "id": placed_order["id"]}}
                        },
                    }
                }
            )
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/order_copies",
                data=body.encode(),
                method="POST",
                headers={
                    "Authorization": f"Bearer {api.token}",
                    "Content-Type": "application/vnd.api+json",
                    "Accept": "application/vnd.api+json",
                },
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 201
                return json.loads(response.read())["data"]["id"]

        factory_id = wait_for(post, "the server answers", processes=(server,))
        wait_for(
            lambda: statuses(api).get(factory_id) == "completed", "the copy completed", processes=(server,)
        )
    assert copied(api, factory_id)[1] is not None
    assert orders(api) == 2


def test_a_worker_killed_mid_copy_leaves_no_partial_target(api, placed_order, tmp_path):
    factory_id = copy(api, placed_order["id"]).data["id"]
    with scope.active(api.scope()):
        before = (Order.objects.count(), LineItem.objects.count())
    kill_a_worker_mid_copy(tmp_path, "the copy stalls mid-way")
    assert statuses(api)[factory_id] == "in_progress"
    with scope.active(api.scope()):
        assert (Order.objects.count(), LineItem.objects.count()) == before
    assert copied(api, factory_id)[1] is None

    assert services.sweep(clock.now()) == 0  # its lease still runs
    assert services.sweep(clock.now() + services.LEASE + dt.timedelta(seconds=1)) == 1
    with orderfactory(tmp_path, "worker", "--batch") as worker:
        worker.wait(90)
        assert worker.returncode == 0, worker.log.read_text()[-3000:]
    assert statuses(api)[factory_id] == "completed"
    assert orders(api) == before[0] + 1
    with scope.active(api.scope()):
        assert OrderFactory.objects.get(pk=factory_id).attempts == 2
