"""Background execution: the embedded worker of ``orderfactory serve`` and ``orderfactory worker``.

Jobs are django-tasks tasks on the database backend; the workers here are django-tasks-db workers run in
threads, so one process can serve several at once. Domain code never imports this module: it enqueues
through orderfactory.tasks.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, OperationalError, close_old_connections, connection
from django.utils import timezone

from orderfactory import config
from orderfactory.core import database

log = logging.getLogger("orderfactory.worker")

POLL_INTERVAL = config.number("ORDERFACTORY_WORKER_POLL_INTERVAL", 0.2, minimum=0.001)


@functools.cache
def _worker_class() -> type:
    """django-tasks-db's worker; on PostgreSQL, one that takes each job in one statement."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult, get_date_max
    from django_tasks_db.utils import is_locked_database_exception

    class _Worker(Worker):  # type: ignore[misc]
        """The library's loop (db_worker.Worker.run), with its find-lock-claim of the next job (a transaction
        of four statements, each built by the ORM anew) done on PostgreSQL as one UPDATE of the row that a
        ``FOR UPDATE SKIP LOCKED`` subquery picks: the same job in the same order (priority, then run_after,
        then enqueued_at; due or unscheduled), claimed the same way (RUNNING, started_at, this worker's id
        appended to worker_ids), and never by two workers. SQLite keeps the library's loop."""

        def run(self) -> None:
            if connection.vendor != "postgresql":
                return super().run()
            while self.running:
                close_old_connections()  # as the library's loop: expired connections, health checks
                try:
                    task_result = self._take_next()  # one statement: no transaction around it
                    retrieved = True
                except OperationalError as exc:
                    retrieved = False
                    if not is_locked_database_exception(exc):
                        raise
                    task_result = None
                if task_result is not None:
                    self.run_task(task_result)
                if self.batch and retrieved and task_result is None:
                    return None
                if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                    return None
                close_old_connections()
                if self.running and not task_result:
                    time.sleep(self.interval)
            return None

        @functools.cached_property
        def _take_sql(self) -> tuple[str, list[Any]]:
            """The claim statement of this worker's backend and queues, and its fixed parameters (built once:
            the worker takes every job with it)."""
            table = DBTaskResult._meta.db_table
            columns = ", ".join(f'"{f.column}"' for f in DBTaskResult._meta.concrete_fields)
            # READY written out, not a parameter: a prepared statement's generic plan can then use the
            # library's partial index of ready jobs, in the order of this ORDER BY.
            ready = str(TaskResultStatus.READY)
            assert ready.isalpha()
            where = [f"status = '{ready}'", "backend_name = %s", "(run_after = %s OR run_after <= %s)"]
            queues: list[str] = []
            if not self.process_all_queues:
                where.append(f"queue_name IN ({', '.join(['%s'] * len(self.queue_names))})")
                queues += self.queue_names
            if self.excluded_queue_names:
                where.append(f"queue_name NOT IN ({', '.join(['%s'] * len(self.excluded_queue_names))})")
                queues += self.excluded_queue_names
            sql = (
                f"UPDATE {table} SET status = %s, started_at = %s, worker_ids = worker_ids || %s::jsonb "
                f"WHERE id = (SELECT id FROM {table} WHERE {' AND '.join(where)} "
                "ORDER BY priority DESC, run_after ASC, enqueued_at ASC LIMIT 1 FOR UPDATE SKIP LOCKED) "
                f"RETURNING {columns}"
            )
            return sql, queues

        def _take_next(self) -> Any:
            sql, queues = self._take_sql
            now = timezone.now()
            params = [TaskResultStatus.RUNNING, now, json.dumps([self.worker_id])]
            params += [self.backend_name, get_date_max(), now, *queues]
            rows = list(DBTaskResult.objects.raw(sql, params))
            return rows[0] if rows else None

    return _Worker


class _Runner(threading.Thread):
    def __init__(self, name: str, batch: bool = False) -> None:
        super().__init__(name=name, daemon=True)
        Worker = _worker_class()

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
                except Exception as exc:
                    if not (isinstance(exc, DatabaseError) and database.unavailable(exc)):
                        self._crashed()
                        continue
                    log.warning("worker %s: the database went away; waiting for it", self.name)
                    while self.worker.running and not database.wait_until_available(5.0):
                        pass
                    if self.worker.running:
                        self._put_back_own_jobs()
        finally:
            connection.close()

    def _crashed(self) -> None:
        log.exception("worker %s crashed; restarting in 1s", self.name)
        close_old_connections()
        time.sleep(1)

    def _put_back_own_jobs(self) -> None:
        """The jobs this worker took and still shows as running are not running: the database went away while
        this worker claimed one, ran it or recorded its end, and the error ended the job here. They go back to
        the queue now that the database answers, rather than wait for the sweep of lost copies."""
        from django_tasks_db.compat import TaskResultStatus
        from django_tasks_db.models import DBTaskResult

        running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, backend_name="default")
        mine = [
            pk for pk, ids in running.values_list("pk", "worker_ids") if ids and ids[-1] == self.name[:64]
        ]
        if mine:
            put_back = running.filter(pk__in=mine).update(status=TaskResultStatus.READY, started_at=None)
            log.warning(
                "worker %s: %d job(s) cut off by the database put back in the queue", self.name, put_back
            )

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
                    except Exception as exc:
                        name = getattr(job, "__name__", job)
                        if isinstance(exc, DatabaseError) and database.unavailable(exc):
                            log.warning("periodic job %s: the database is not available", name)
                        else:
                            log.exception("periodic job %s failed", name)
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


TICK_INTERVAL = config.number("ORDERFACTORY_TICK_INTERVAL", 30, minimum=0.1)
SCHEDULER_INTERVAL = config.number("ORDERFACTORY_SCHEDULER_INTERVAL", 10, minimum=0.1)

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
