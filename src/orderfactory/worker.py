"""Background execution: the embedded worker of ``orderfactory serve`` and ``orderfactory worker``.

Jobs are django-tasks tasks on the database backend; the workers here are django-tasks-db workers run in
threads, so one process can serve several at once. Domain code never imports this module: it enqueues
through orderfactory.tasks.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from django.db import close_old_connections, connection

log = logging.getLogger("orderfactory.worker")

POLL_INTERVAL = float(os.environ.get("ORDERFACTORY_WORKER_POLL_INTERVAL", "0.2"))


class _Runner(threading.Thread):
    def __init__(self, name: str, batch: bool = False) -> None:
        super().__init__(name=name, daemon=True)
        from django_tasks_db.management.commands.db_worker import Worker

        self.worker = Worker(
            queue_names=["default"],
            interval=POLL_INTERVAL,
            batch=batch,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=name[:64],
            excluded_queue_names=[],
        )

    def run(self) -> None:
        try:
            while self.worker.running:
                try:
                    self.worker.run()
                    return  # batch mode finished, or stopped
                except Exception:
                    log.exception("worker %s crashed; restarting in 1s", self.name)
                    close_old_connections()
                    time.sleep(1)
        finally:
            connection.close()

    def stop(self) -> None:
        self.worker.running = False


class _Ticker(threading.Thread):
    """Runs the periodic jobs, each every its own number of seconds: the sweep of factories whose worker died,
    the purges of old idempotency keys and finished jobs and, in ``serve``, the subscription scheduler."""

    def __init__(self, jobs: list[tuple[Callable[[], object], float]]) -> None:
        super().__init__(name="orderfactory-ticker", daemon=True)
        self.jobs = jobs
        self.stopped = threading.Event()

    def run(self) -> None:
        due = {job: time.monotonic() + interval for job, interval in self.jobs}
        try:
            while not self.stopped.wait(min(1.0, *(interval for _, interval in self.jobs))):
                now = time.monotonic()
                for job, interval in self.jobs:
                    if now < due[job]:
                        continue
                    due[job] = now + interval
                    try:
                        job()
                    except Exception:
                        log.exception("periodic job %s failed", getattr(job, "__name__", job))
                    finally:
                        close_old_connections()
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()


def periodic_jobs(*, scheduler: bool) -> list[tuple[Callable[[], object], float]]:
    from orderfactory import idempotency, tasks
    from orderfactory.factories.services import sweep
    from orderfactory.subscriptions.services import tick

    jobs: list[tuple[Callable[[], object], float]] = [
        (sweep, TICK_INTERVAL),
        (idempotency.purge, 3600.0),
        (tasks.purge_finished_jobs, 3600.0),
    ]
    if scheduler:
        jobs.append((tick, SCHEDULER_INTERVAL))
    return jobs


TICK_INTERVAL = float(os.environ.get("ORDERFACTORY_TICK_INTERVAL", "30"))
SCHEDULER_INTERVAL = float(os.environ.get("ORDERFACTORY_SCHEDULER_INTERVAL", "10"))

_embedded: list[_Runner | _Ticker] = []


def _name(i: int) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{i}"


def start_embedded(concurrency: int = 1) -> None:
    for i in range(concurrency):
        runner = _Runner(_name(i))
        runner.start()
        _embedded.append(runner)
    # `serve` embeds the scheduler too; standalone workers leave it to `orderfactory scheduler`.
    ticker = _Ticker(periodic_jobs(scheduler=True))
    ticker.start()
    _embedded.append(ticker)


def stop_embedded(timeout: float = 10.0) -> None:
    for runner in _embedded:
        runner.stop()
    for runner in _embedded:
        runner.join(timeout)
    _embedded.clear()


def run_standalone(*, concurrency: int, stop: threading.Event, batch: bool = False) -> None:
    """``concurrency`` job threads in this process (plus the periodic jobs unless ``batch``), until ``stop``,
    or until the queue is empty in ``batch`` mode, or until the supervising process is gone."""
    parent = int(os.environ.get(PARENT_ENV, "0"))
    runners: list[_Runner | _Ticker] = [_Runner(_name(i), batch=batch) for i in range(max(1, concurrency))]
    if not batch:
        runners.append(_Ticker(periodic_jobs(scheduler=False)))
    for runner in runners:
        runner.start()
    log.info("%d worker thread(s) running", len(runners))
    while not stop.is_set() and any(r.is_alive() for r in runners if isinstance(r, _Runner)):
        if parent and os.getppid() != parent:
            log.warning("the supervising worker process is gone: stopping")
            break
        stop.wait(0.5)
    for runner in runners:
        runner.stop()
    for runner in runners:
        runner.join(30)


PARENT_ENV = "ORDERFACTORY_WORKER_PARENT"


def supervise(*, processes: int, threads: int, batch: bool, stop: threading.Event) -> int:
    """Run ``processes`` single-process workers (``orderfactory worker --threads T``) and keep them running:
    one that exits unexpectedly is started again (in ``batch`` mode, one that finished is not). ``stop``
    passes SIGTERM on and waits for them. Returns 0 once stopped, or in ``batch`` mode the highest exit status
    of the children."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "orderfactory.cli", "worker", "--threads", str(threads)]
    command += ["--batch"] if batch else []
    env = {**os.environ, PARENT_ENV: str(os.getpid())}

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, env=env)

    children = [start() for _ in range(processes)]
    log.info("supervising %d worker processes", processes)
    statuses: dict[int, int] = {}
    while not stop.is_set():
        for i, child in enumerate(children):
            code = child.poll()
            if code is None or i in statuses:
                continue
            if batch:
                statuses[i] = code
            else:
                log.warning("worker process %d exited with %s: starting another", child.pid, code)
                children[i] = start()
        if batch and len(statuses) == len(children):
            break
        stop.wait(0.5)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return max(statuses.values(), default=0)
