"""The background jobs. Domain code enqueues through these functions and never imports a queue library.
Jobs are rows of the database queue (django-tasks-db), written in the transaction that writes what they work
on: a job exists exactly when its order copy or webhook delivery does. A rolled-back write enqueues nothing,
a committed one cannot lose its job, and no worker sees the job before the commit (docs/decisions.md, "One
task backend")."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from orderfactory import config
from orderfactory.core import database

# Finished jobs (successful or failed) stay in the database queue this long for inspection, then the
# periodic purge deletes them: each copy and each webhook delivery leaves one.
FINISHED_JOBS_KEPT = dt.timedelta(days=config.number("ORDERFACTORY_FINISHED_JOBS_DAYS", 7))
# How long a job whose database went away waits for it to answer again before giving up (its lease and the
# sweep take over from there).
OUTAGE_PATIENCE = 300.0


@task()
def run_order_factory(factory_id: str) -> None:
    import orderfactory.factories.services as services

    services.run(factory_id)


@task()
def deliver_webhook(delivery_id: str) -> None:
    import orderfactory.events.services as services

    # An attempt cut off by a lost database is made again once it answers (a receiver may get it twice:
    # webhooks are delivered at least once).
    database.outlasting(
        lambda: services.deliver(delivery_id), patience=OUTAGE_PATIENCE, what="webhook delivery"
    )


def enqueue_order_factory(factory_id: str) -> None:
    run_order_factory.enqueue(factory_id)


def queued_order_factories(factory_ids: list[str]) -> set[str]:
    """Of these factories, those whose job still waits in the queue, so the sweep renews their lease instead
    of queuing them twice when a backlog outlasts it. A job that is running is not counted: its worker may
    have died before claiming the factory."""
    if not factory_ids:
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
    (deliver_webhook.using(run_after=run_after) if run_after else deliver_webhook).enqueue(delivery_id)


def purge_finished_jobs(now: dt.datetime | None = None) -> int:
    """Delete the jobs that finished more than FINISHED_JOBS_KEPT ago (a periodic job)."""
    from django_tasks_db.models import DBTaskResult

    from orderfactory.core import clock

    cutoff = (now or clock.now()) - FINISHED_JOBS_KEPT
    return DBTaskResult.objects.filter(status__in=["SUCCESSFUL", "FAILED"], finished_at__lt=cutoff).delete()[
        0
    ]
