"""Background execution: the worker of ``orderfactory serve`` and ``orderfactory worker``.

Jobs are django-tasks tasks on the database backend (orderfactory.task_backend), run by django-tasks-db's
worker loop with its claim and its result writing done in fewer statements (``_worker_class``), in threads,
so one process can run several at once. ``serve`` runs its worker as a child process (``EmbeddedWorker``):
copies are CPU-bound Python, and a worker thread of the serving process shared its interpreter lock with the
requests (orderfactory.processes). A job that commits wakes the workers at once (orderfactory.wakes); their
poll interval is only the fallback.
Domain code never imports this module: it enqueues through orderfactory.queue.
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

from django.db import DatabaseError, OperationalError, close_old_connections, connection, transaction
from django.utils import timezone

from orderfactory import config
from orderfactory.core import database

# Re-exported: the CLI starts serve's worker and the supervisor from here; the task backend wakes through here.
from orderfactory.processes import PARENT_ENV, EmbeddedWorker, supervise
from orderfactory.wakes import (
    NOTIFY_CHANNEL,
    POLL_INTERVAL,
    listen_for_wakes,
    stop_listening,
    wake_on_commit,
    wakes,
)

log = logging.getLogger("orderfactory.worker")

__all__ = [
    "EmbeddedWorker",
    "NOTIFY_CHANNEL",
    "periodic_jobs",
    "run_standalone",
    "supervise",
    "wake_on_commit",
]

# --- taking and running jobs ----------------------------------------------------------------------------------


@functools.cache
def _worker_class() -> type:
    """django-tasks-db's worker, taking each job in one statement and writing its success with the next take."""
    from django_tasks_db.compat import TaskContext, TaskResultStatus, task_finished, task_started
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult, get_date_max
    from django_tasks_db.utils import is_locked_database_exception

    class _Worker(Worker):  # type: ignore[misc]
        """The library's loop (db_worker.Worker.run and run_task), with four changes:

        - the find-lock-claim of the next job (a transaction of four statements, each built by the ORM anew) is
          one UPDATE of the row a subquery picks (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the
          statement holds the write lock): the same job in the same order (priority, then run_after, then
          enqueued_at; due or unscheduled), claimed the same way (RUNNING, started_at, this worker's id
          appended to worker_ids), and never by two workers;
        - a job's success is written by the statement that takes the next job (a data-modifying WITH on
          PostgreSQL, the same transaction on SQLite), which runs as soon as the job returns, and when the
          worker stops: one statement (and one commit) less per job. A job that fails is written at once, as
          the library writes it;
        - the take commits unsynced (core.database.unsynced): it is the queue's bookkeeping, made durable by
          the job's own synced commit;
        - between polls it sleeps on ``wakes``, which a committed job rings;
        - when the job it takes is a single copy's and more of them are ready, the same statement takes up to
          ``tasks.TAKEN_TOGETHER`` of them (the next in the same order), run together (``run_together``:
          the copies the group path can make, in groups) and each ending as it would alone: SUCCESSFUL,
          written set-wise by the next take, or FAILED, as the library writes it. One job ready: it runs
          alone, as any job (docs/decisions.md, "Single copies taken together")."""

        # (ids, return value as JSON, finished_at) of the jobs whose success the next take writes
        finished: tuple[list[Any], str | None, Any] | None = None

        def run(self) -> None:
            try:
                while self.running:
                    close_old_connections()  # as the library's loop: expired connections, health checks
                    seen = wakes.rings()
                    try:
                        taken = self._take()
                        retrieved = True
                    except OperationalError as exc:
                        retrieved = False
                        if not is_locked_database_exception(exc):
                            raise
                        taken = []
                    if len(taken) == 1:
                        self.run_task(taken[0])
                    elif taken:
                        self.run_together(taken)
                    if self.batch and retrieved and not taken:
                        return
                    if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                        return
                    if self.running and not taken:
                        wakes.wait(seen, self.interval)
            finally:
                if self.finished is not None:
                    try:
                        self._write_finished()
                    except DatabaseError:
                        log.warning("the success of jobs %s is not recorded yet", self.finished[0])

        def run_task(self, db_task_result: Any) -> None:
            """The library's, but for the success, left to the next take (``finished``)."""
            try:
                self.running_task = True
                task_result = db_task_result.task_result
                task = task_result.task
                backend = task.get_backend()
                task_started.send(sender=backend, task_result=task_result)
                if task.takes_context:
                    context = TaskContext(task_result=task_result)
                    return_value = task.call(context, *task_result.args, **task_result.kwargs)
                else:
                    return_value = task.call(*task_result.args, **task_result.kwargs)
                # encoded here, so a value JSON refuses fails the job, as the library's set_successful does
                encoded = None if return_value is None else json.dumps(return_value)
                db_task_result.status = TaskResultStatus.SUCCESSFUL
                db_task_result.finished_at = timezone.now()
                db_task_result.return_value = return_value
                self.finished = ([db_task_result.pk], encoded, db_task_result.finished_at)
                task_finished.send(sender=backend, task_result=db_task_result.task_result)
            except BaseException as exc:
                self.finished = None
                db_task_result.set_failed(exc)
                try:
                    sender = type(db_task_result.task.get_backend())
                    task_result = db_task_result.task_result
                except Exception:
                    log.exception("Task id=%s failed unexpectedly", db_task_result.id)
                else:
                    task_finished.send(sender=sender, task_result=task_result)
            finally:
                self.running_task = False
                self._run_tasks += 1

        def run_together(self, taken: list[Any]) -> None:
            """Single copies' jobs taken together (all ``run_order_factory``): their copies made by
            tasks.run_order_factories, each job then ending as run_task ends it: started and finished
            signals, FAILED at once with what its copy's run raised, else SUCCESSFUL with the next take."""
            from orderfactory import tasks

            try:
                self.running_task = True
                factory_ids = [row.args_kwargs["args"][0] for row in taken]
                try:
                    for db_task_result in taken:
                        backend = db_task_result.task.get_backend()
                        task_started.send(sender=backend, task_result=db_task_result.task_result)
                    failed: dict[str, BaseException] = {**tasks.run_order_factories(factory_ids)}
                except BaseException as exc:
                    failed = dict.fromkeys(factory_ids, exc)
                now = timezone.now()
                succeeded = []
                for db_task_result in taken:
                    error = failed.get(db_task_result.args_kwargs["args"][0])
                    if error is not None:
                        db_task_result.set_failed(error)
                    else:
                        db_task_result.status = TaskResultStatus.SUCCESSFUL
                        db_task_result.finished_at = now
                        db_task_result.return_value = None
                        succeeded.append(db_task_result.pk)
                    backend = db_task_result.task.get_backend()
                    if error is None:
                        task_finished.send(sender=backend, task_result=db_task_result.task_result)
                        continue
                    try:  # the library logs a failed job with its exception, as the one being handled
                        raise error
                    except BaseException:
                        task_finished.send(sender=backend, task_result=db_task_result.task_result)
                self.finished = (succeeded, None, now) if succeeded else None
            finally:
                self.running_task = False
                self._run_tasks += len(taken)

        @functools.cached_property
        def _statements(self) -> tuple[str, str, list[Any]]:
            """The take statement of this worker's backend and queues, the statement that records successes, and
            the take's fixed parameters (built once: the worker runs them for every job)."""
            from orderfactory import queue, tasks

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
            postgresql = connection.vendor == "postgresql"
            order = "ORDER BY priority DESC, run_after ASC, enqueued_at ASC"
            locking = " FOR UPDATE SKIP LOCKED" if postgresql else ""
            # The next job; and, when it is a single copy's, the next ready single copies' after it.
            head = f"SELECT id, task_path FROM {table} WHERE {' AND '.join(where)} {order} LIMIT 1{locking}"
            path = queue.RUN_ORDER_FACTORY
            assert path.replace(".", "").replace("_", "").isalnum()
            more = (
                f"SELECT id FROM {table} WHERE {' AND '.join(where)} AND task_path = '{path}' "
                f"AND id NOT IN (SELECT id FROM head) AND EXISTS (SELECT 1 FROM head WHERE task_path = '{path}') "
                f"{order} LIMIT {max(0, tasks.TAKEN_TOGETHER - 1)}{locking}"
            )
            appended = "worker_ids || %s::jsonb" if postgresql else "json_insert(worker_ids, '$[#]', %s)"
            if postgresql:
                picked = "SELECT id FROM head UNION ALL SELECT id FROM more"
            else:
                # One statement that begins with UPDATE (core.sqlite_engine queues it on the write lock): the
                # head read once, in the FROM clause; it is the first of the ready single copies when it is one.
                picked = (
                    f"SELECT id FROM {table}, ({head.replace('id, task_path', 'id AS head_id, task_path AS head_path', 1)}) "
                    f"AS head WHERE {' AND '.join(where)} "
                    f"AND (id = head_id OR (task_path = '{path}' AND head_path = '{path}')) "
                    f"{order} LIMIT {max(1, tasks.TAKEN_TOGETHER)}"
                )
            take = (
                f"UPDATE {table} SET status = %s, started_at = %s, worker_ids = {appended} "
                + ("FROM unsynced " if postgresql else "")
                + f"WHERE id IN ({picked}) AND status = '{ready}' RETURNING {columns}"
            )
            success = str(TaskResultStatus.SUCCESSFUL)
            assert success.isalpha()
            record = (
                f"UPDATE {table} SET status = '{success}', finished_at = %s, "
                + ("return_value = %s::jsonb" if postgresql else "return_value = %s")
                + ", exception_class_path = '', traceback = '' WHERE "
                + ("id = ANY(%s::uuid[])" if postgresql else "id IN (SELECT value FROM json_each(%s))")
            )
            if postgresql:
                # The take and the successes it records commit without waiting for the WAL flush
                # (``synchronous_commit`` off for this statement's transaction), as database.unsynced() on SQLite.
                unsynced = "SELECT set_config('synchronous_commit', 'off', true)"
                take = (
                    f"WITH finished AS ({record}), unsynced AS ({unsynced}), head AS ({head}), more AS ({more}) "
                    + take
                )
            return take, record, queues

        def _take(self) -> list[Any]:
            """The jobs taken (none, one, or single copies' taken together), in the queue's order."""
            take, record, queues = self._statements
            ops = connection.ops
            now = timezone.now()
            claim = [TaskResultStatus.RUNNING, ops.adapt_datetimefield_value(now)]
            claim += [self.worker_id if connection.vendor == "sqlite" else json.dumps([self.worker_id])]
            picking = [self.backend_name, ops.adapt_datetimefield_value(get_date_max())]
            picking += [ops.adapt_datetimefield_value(now), *queues]
            finished = self._finished_params()
            if connection.vendor == "postgresql":
                rows = list(DBTaskResult.objects.raw(take, [*finished, *picking, *picking, *claim]))
            else:
                # The take is the queue's bookkeeping, not a copy: it commits unsynced (database.unsynced), and
                # the job's own synced commit makes it durable with everything before it. A power cut before
                # then may lose the take (the job runs again: a copy made already is not made twice) or a
                # success record (the job shows running).
                with database.unsynced():
                    if self.finished is None:
                        rows = list(DBTaskResult.objects.raw(take, [*claim, *picking, *picking]))
                    else:
                        with transaction.atomic(), connection.cursor() as cursor:
                            cursor.execute(record, finished)
                            rows = list(DBTaskResult.objects.raw(take, [*claim, *picking, *picking]))
            self.finished = None
            rows.sort(key=lambda row: (-row.priority, row.run_after, row.enqueued_at))
            return rows

        def _finished_params(self) -> list[Any]:
            pks, value, at = self.finished if self.finished is not None else ([], None, None)
            prepared = [DBTaskResult._meta.pk.get_db_prep_value(pk, connection) for pk in pks]
            ids: Any = prepared if connection.vendor == "postgresql" else json.dumps(prepared)
            return [connection.ops.adapt_datetimefield_value(at), value, ids]

        def _write_finished(self) -> None:
            _take, record, _queues = self._statements
            with connection.cursor() as cursor:
                cursor.execute(record, self._finished_params())
            self.finished = None

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
        the queue now that the database answers, rather than wait for the sweep of lost copies. A job whose
        success this worker has yet to record is not among them: its next take records it. Jobs taken together
        go back together (their copies not yet made are made by their jobs, run again)."""
        from django_tasks_db.compat import TaskResultStatus
        from django_tasks_db.models import DBTaskResult

        running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, backend_name="default")
        if self.worker.finished is not None:
            running = running.exclude(pk__in=self.worker.finished[0])
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
        wakes.ring()  # out of its sleep between polls


class _Ticker(threading.Thread):
    """Runs the periodic jobs, each every its own number of seconds: the sweep of factories whose worker died,
    the purges of old idempotency keys, finished jobs and expired copy previews and, in ``serve``, the
    subscription scheduler."""

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
    from orderfactory.factories import batches, previews
    from orderfactory.factories.services import sweep
    from orderfactory.subscriptions.services import tick

    jobs: list[tuple[Callable[[], object], float]] = [
        (sweep, TICK_INTERVAL),
        (batches.sweep, TICK_INTERVAL),
        (idempotency.purge, 3600.0),
        (tasks.purge_finished_jobs, 3600.0),
        (previews.purge_expired, 3600.0),
    ]
    if scheduler:
        jobs.append((tick, SCHEDULER_INTERVAL))
    return jobs


TICK_INTERVAL = config.number("ORDERFACTORY_TICK_INTERVAL", 30, minimum=0.1)
SCHEDULER_INTERVAL = config.number("ORDERFACTORY_SCHEDULER_INTERVAL", 10, minimum=0.1)


def _name(i: int) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{i}"


_embedded: list[_Runner | _Ticker] = []


def start_embedded(concurrency: int = 1) -> None:
    """The embedded worker's threads (jobs, periodic jobs, the scheduler) in this process, until
    ``stop_embedded``: what ``serve``'s child process runs, for a process that runs them itself."""
    listen_for_wakes()
    for i in range(concurrency):
        runner = _Runner(_name(i))
        runner.start()
        _embedded.append(runner)
    ticker = _Ticker(periodic_jobs(scheduler=True))
    ticker.start()
    _embedded.append(ticker)


def stop_embedded(timeout: float = 10.0) -> None:
    for runner in _embedded:
        runner.stop()
    for runner in _embedded:
        runner.join(timeout)
    _embedded.clear()
    stop_listening()


def run_standalone(
    *, concurrency: int, stop: threading.Event, batch: bool = False, scheduler: bool = False
) -> None:
    """``concurrency`` job threads in this process (plus the periodic jobs unless ``batch``; the scheduler
    too with ``scheduler``, as in ``serve``), until ``stop``, or until the queue is empty in ``batch`` mode,
    or until the supervising process is gone."""
    parent = int(os.environ.get(PARENT_ENV, "0"))
    runners: list[_Runner | _Ticker] = [_Runner(_name(i), batch=batch) for i in range(max(1, concurrency))]
    if not batch:
        runners.append(_Ticker(periodic_jobs(scheduler=scheduler)))
    listen_for_wakes()
    try:
        for runner in runners:
            runner.start()
        log.info("%d worker thread(s) running", len(runners))
        while not stop.is_set() and any(r.is_alive() for r in runners if isinstance(r, _Runner)):
            if parent and os.getppid() != parent:
                log.warning("the supervising process is gone: stopping")
                break
            stop.wait(0.5)
        for runner in runners:
            runner.stop()
        for runner in runners:
            runner.join(30)
    finally:
        stop_listening()
