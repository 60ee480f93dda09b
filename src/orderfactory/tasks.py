"""The background jobs. Domain code enqueues through these functions and never imports a queue library;
each enqueue happens after the surrounding transaction commits, so a job never sees uncommitted rows and a
rolled-back write enqueues nothing."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django_tasks import task

from orderfactory import config

# Finished jobs (successful or failed) stay in the database queue this long for inspection, then the
# periodic purge deletes them: each copy and each webhook delivery leaves one.
FINISHED_JOBS_KEPT = dt.timedelta(days=config.number("ORDERFACTORY_FINISHED_JOBS_DAYS", 7))


@task()
def run_order_factory(factory_id: str) -> None:
    import orderfactory.factories.services as services

    services.run(factory_id)


@task()
def deliver_webhook(delivery_id: str) -> None:
    import orderfactory.events.services as services

    services.deliver(delivery_id)


def enqueue_order_factory(factory_id: str) -> None:
    transaction.on_commit(lambda: run_order_factory.enqueue(factory_id))


def _database_queue() -> bool:
    """Whether jobs go through django-tasks' database backend (the queue is a table this code can read)."""
    from django_tasks import task_backends
    from django_tasks_db.backend import DatabaseBackend

    return isinstance(task_backends["default"], DatabaseBackend)


def queued_order_factories(factory_ids: list[str]) -> set[str]:
    """Of these factories, those whose job still waits in the database queue, so the sweep renews their
    lease instead of queuing them twice when a backlog outlasts it. A job that is running is not counted: its
    worker may have died before claiming the factory. Only the database backend can tell; with RQ this is
    empty and the sweep re-queues (a duplicate job does nothing)."""
    if not factory_ids or not _database_queue():
        return set()
    from django_tasks_db.models import DBTaskResult

    waiting: set[str] = set()
    for start in range(0, len(factory_ids), 500):
        waiting.update(
            DBTaskResult.objects.filter(
                status="READY",
                task_path=run_order_factory.module_path,
                args_kwargs__args__0__in=factory_ids[start : start + 500],
            ).values_list("args_kwargs__args__0", flat=True)
        )
    return waiting


def enqueue_webhook_delivery(delivery_id: str, run_after: dt.datetime | None = None) -> None:
    def go() -> None:
        (deliver_webhook.using(run_after=run_after) if run_after else deliver_webhook).enqueue(delivery_id)

    transaction.on_commit(go)


def purge_finished_jobs(now: dt.datetime | None = None) -> int:
    """Delete the database queue's jobs that finished more than FINISHED_JOBS_KEPT ago (a periodic job);
    RQ expires its own."""
    from django_tasks_db.models import DBTaskResult

    from orderfactory.core import clock

    if not _database_queue():
        return 0
    cutoff = (now or clock.now()) - FINISHED_JOBS_KEPT
    return DBTaskResult.objects.filter(status__in=["SUCCESSFUL", "FAILED"], finished_at__lt=cutoff).delete()[
        0
    ]
