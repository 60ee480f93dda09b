"""The worker of ``orderfactory serve`` is a child process of it, and a job that commits wakes the workers at
once: a datagram from ``serve`` to its worker, a NOTIFY from PostgreSQL to any worker, on SQLite a datagram to
every worker's socket in the directory beside the database file. The workers here poll
every ``SLEEPY`` seconds, longer than any wait of these tests: a copy that completes was woken, not polled
for. Real processes on this run's test database, so the tests commit their rows (transaction=True)."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import stat
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult

from orderfactory import wakes, worker
from orderfactory.factories.models import OrderFactory
from tests.factories.conftest import copy, placed
from tests.orders.conftest import build_shop
from tests.test_worker import children_of, orderfactory, statuses, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SLEEPY = "600"  # seconds between polls: longer than the tests wait for anything
PROC = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")


@pytest.fixture
def placed_order(api: Any) -> dict[str, Any]:
    return placed(api, build_shop(api))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post_copy(api: Any, port: int, source_id: str) -> str | None:
    """POST an order copy to the server on ``port``: its id, or None while the server does not answer."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return None
    body = {
        "data": {
            "type": "order_copies",
            "relationships": {"source_order": {"data": {"type": "orders", "id": source_id}}},
        }
    }
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/order_copies",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {api.token}",
            "Content-Type": "application/vnd.api+json",
            "Accept": "application/vnd.api+json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        return str(json.loads(response.read())["data"]["id"])


def job_recorded(factory_id: str) -> bool:
    """The copy's job is recorded as successful: the worker that ran it took its next job (or found none) in
    the same statement, and sleeps now until woken or until its poll."""
    return DBTaskResult.objects.filter(args_kwargs__args__0=factory_id, status="SUCCESSFUL").exists()


def embedded_workers(serve_pid: int) -> set[int]:
    return {
        pid
        for pid in children_of(serve_pid)
        if b"--embedded" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    }


@PROC
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_runs_its_worker_as_a_child_process_and_stops_it(api, tmp_path, stop):
    port = free_port()
    with orderfactory(tmp_path, "serve", "--port", str(port), "--threads", "2") as server:
        child = wait_for(
            lambda: embedded_workers(server.pid), "the embedded worker process", processes=(server,)
        )
        server.send_signal(stop)
        assert server.wait(60) == 0, server.log.read_text()[-3000:]
    assert all(not Path(f"/proc/{pid}").exists() for pid in child)


@PROC
def test_serve_without_its_worker_starts_no_worker_process(api, placed_order, tmp_path):
    port = free_port()
    with orderfactory(tmp_path, "serve", "--port", str(port), "--no-worker") as server:
        factory_id = wait_for(
            lambda: post_copy(api, port, placed_order["id"]), "the server answers", processes=(server,)
        )
        assert not embedded_workers(server.pid)
    assert statuses(api)[factory_id] == "pending"


@PROC
def test_the_embedded_worker_is_started_again_when_it_dies(api, tmp_path):
    port = free_port()
    with orderfactory(tmp_path, "serve", "--port", str(port)) as server:
        first = wait_for(
            lambda: embedded_workers(server.pid), "the embedded worker process", processes=(server,)
        )
        for pid in first:
            os.kill(pid, signal.SIGKILL)
        wait_for(
            lambda: (pids := embedded_workers(server.pid)) and not pids & first,
            "another embedded worker process",
            processes=(server,),
        )


def test_a_copy_posted_to_an_idle_server_wakes_its_worker(api, placed_order, tmp_path):
    port = free_port()
    env = {"ORDERFACTORY_WORKER_POLL_INTERVAL": SLEEPY}
    with orderfactory(tmp_path, "serve", "--port", str(port), **env) as server:
        first = wait_for(
            lambda: post_copy(api, port, placed_order["id"]), "the server answers", processes=(server,)
        )
        # the first copy may be taken by the worker's first look at the queue; after it, the worker sleeps
        wait_for(lambda: job_recorded(first), "the first copy's job recorded", processes=(server,))
        second = post_copy(api, port, placed_order["id"])
        wait_for(lambda: statuses(api).get(second) == "completed", "the second copy", processes=(server,))


def wake_sockets() -> set[str]:
    """The sockets of the worker processes listening on this SQLite database: ``<database file>-wakes/<pid>-*``."""
    directory = Path(f"{connection.settings_dict['NAME']}-wakes")
    return {p.name for p in directory.glob("[0-9]*")} if directory.exists() else set()


def sockets_of(pids: set[int]) -> set[str]:
    return {name for name in wake_sockets() if int(name.split("-")[0]) in pids}


def listening_children(parent: int) -> set[int] | None:
    """The two worker processes of ``parent``, once each listens on a socket of its own."""
    children = children_of(parent)
    listening = {int(name.split("-")[0]) for name in sockets_of(children)}
    return children if len(children) == 2 and listening == children else None


def test_a_copy_posted_to_a_server_without_worker_wakes_every_worker_process(api, placed_order, tmp_path):
    port = free_port()
    with (
        orderfactory(tmp_path, "serve", "--port", str(port), "--no-worker") as server,
        orderfactory(tmp_path, "worker", ORDERFACTORY_WORKER_POLL_INTERVAL=SLEEPY) as standalone,
    ):
        processes = (server, standalone)
        first = wait_for(
            lambda: post_copy(api, port, placed_order["id"]), "the server answers", processes=processes
        )
        wait_for(lambda: job_recorded(first), "the first copy's job recorded", processes=processes)
        worker.listen_for_wakes()  # this process listens too, as a second worker process would
        try:
            before = worker.wakes.rings()
            second = post_copy(api, port, placed_order["id"])
            wait_for(lambda: statuses(api).get(second) == "completed", "the second copy", processes=processes)
            wait_for(lambda: worker.wakes.rings() > before, "this process woken", processes=processes)
        finally:
            worker.stop_listening()


@PROC
@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the wake sockets are SQLite's (NOTIFY on PostgreSQL)"
)
def test_each_worker_process_on_sqlite_listens_on_a_socket_of_its_own_removed_when_it_is_gone(
    api, placed_order, tmp_path
):
    # no periodic job either: the killed worker's socket is left for this test's commit to find
    env = {"ORDERFACTORY_WORKER_POLL_INTERVAL": SLEEPY, "ORDERFACTORY_TICK_INTERVAL": SLEEPY}
    with orderfactory(tmp_path, "worker", "--concurrency", "2", **env) as supervisor:
        children = wait_for(
            lambda: listening_children(supervisor.pid),
            "a socket for each worker process",
            processes=(supervisor,),
        )
        assert not sockets_of({supervisor.pid})  # the supervisor runs no jobs
        killed = min(children)
        os.kill(killed, signal.SIGKILL)
        stale = sockets_of({killed})
        assert stale  # left behind by a worker killed with no time to remove it
        wait_for(
            lambda: killed not in (listening_children(supervisor.pid) or {killed}),
            "a socket for the worker started again",
            processes=(supervisor,),
        )
        factory_id = copy(api, placed_order["id"]).data["id"]  # wakes the workers: the dead one refuses
        assert not wake_sockets() & stale
        wait_for(lambda: statuses(api).get(factory_id) == "completed", "the copy", processes=(supervisor,))
        children = children_of(supervisor.pid)
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(60) == 0, supervisor.log.read_text()[-3000:]
    assert not sockets_of(children | {supervisor.pid})


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reaches long paths through /proc/self/fd")
def test_a_wake_directory_too_long_for_a_socket_address_still_wakes_its_workers(tmp_path):
    database = tmp_path / ("d" * 120) / "orderfactory.sqlite3"  # a socket address holds 108 bytes at most
    database.parent.mkdir()
    listener = wakes._WakeDirectory(f"{database}-wakes")  # as a worker process binds it
    bound = listener.bind()
    assert bound is not None
    listening, name = bound
    try:
        assert (database.parent / "orderfactory.sqlite3-wakes" / name).exists()
        assert stat.S_IMODE(os.stat(f"{database}-wakes").st_mode) == 0o700
        wakes._WakeDirectory(f"{database}-wakes").wake_all()  # as another process, committing a job
        assert select.select([listening], [], [], 5)[0] == [listening]
    finally:
        listener.unbind(listening, name)
    assert not list(Path(f"{database}-wakes").iterdir())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="LISTEN/NOTIFY is PostgreSQL's")
def test_a_job_committed_anywhere_wakes_a_standalone_worker_on_postgresql(api, placed_order, tmp_path):
    with orderfactory(tmp_path, "worker", ORDERFACTORY_WORKER_POLL_INTERVAL=SLEEPY) as standalone:
        first = copy(api, placed_order["id"]).data["id"]
        wait_for(lambda: job_recorded(first), "the first copy's job recorded", processes=(standalone,))
        second = copy(api, placed_order["id"]).data["id"]  # enqueued by this process: only NOTIFY tells
        wait_for(lambda: statuses(api).get(second) == "completed", "the second copy", processes=(standalone,))


def test_a_job_wakes_the_job_threads_of_its_process_when_it_commits_and_not_before(
    api, placed_order, monkeypatch
):
    monkeypatch.setattr(worker.wakes, "listening", True)  # as when job threads run in this process
    before = worker.wakes.rings()
    with transaction.atomic():
        rolled_back = copy(api, placed_order["id"]).data["id"]
        assert worker.wakes.rings() == before  # not committed yet: no worker could see the job
        transaction.set_rollback(True)
    assert worker.wakes.rings() == before  # rolled back: there is no job
    assert not OrderFactory.unscoped.filter(pk=rolled_back).exists()
    copy(api, placed_order["id"])
    assert worker.wakes.rings() == before + 1
