"""The job queue as domain code sees it: the functions that queue a job, which import no service.

Jobs are rows of the database queue (django-tasks-db), written in the transaction that writes what they work
on: a job exists exactly when its order copy or webhook delivery does. A rolled-back write enqueues nothing,
a committed one cannot lose its job, and no worker sees the job before the commit (docs/decisions.md, "One
task backend").

A job is named here by its path, as the queue's rows name it, and resolved when first queued: the jobs
(orderfactory.tasks) run the services that queue them, so importing them here would tie the services and
the jobs in a circle.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.utils.module_loading import import_string

RUN_ORDER_FACTORY = "orderfactory.tasks.run_order_factory"
DELIVER_WEBHOOK = "orderfactory.tasks.deliver_webhook"
EXPAND_ORDER_COPY_BATCH = "orderfactory.tasks.expand_order_copy_batch"
ANONYMIZE_CUSTOMER = "orderfactory.tasks.anonymize_customer"
RUN_ORDER_COPY_GROUP = "orderfactory.tasks.run_order_copy_group"

# How long a job whose database went away waits for it to answer again before giving up (its lease and the
# sweep take over from there).
OUTAGE_PATIENCE = 300.0


@functools.cache
def job(path: str) -> Any:
    """The job (a django-tasks ``Task``) at ``path``."""
    return import_string(path)


def enqueue_order_factory(factory_id: str) -> None:
    job(RUN_ORDER_FACTORY).enqueue(factory_id)


def enqueue_order_factories(factory_ids: list[str]) -> None:
    """The jobs of many copies, written set-wise (an order copy batch's chunk)."""
    run = job(RUN_ORDER_FACTORY)
    run.get_backend().enqueue_many(run, [(factory_id,) for factory_id in factory_ids])


def enqueue_order_copy_groups(groups: list[list[str]]) -> None:
    """One job per group of a batch's copies (factories/groups.py), written set-wise."""
    run = job(RUN_ORDER_COPY_GROUP)
    run.get_backend().enqueue_many(run, [(factory_ids,) for factory_ids in groups if factory_ids])


def enqueue_order_copy_batch(batch_id: str) -> None:
    job(EXPAND_ORDER_COPY_BATCH).enqueue(batch_id)


def enqueue_webhook_delivery(delivery_id: str, run_after: dt.datetime | None = None) -> None:
    deliver = job(DELIVER_WEBHOOK)
    (deliver.using(run_after=run_after) if run_after else deliver).enqueue(delivery_id)


def enqueue_customer_anonymization(customer_id: str, request_id: str, run_after: dt.datetime) -> None:
    job(ANONYMIZE_CUSTOMER).using(run_after=run_after).enqueue(customer_id, request_id)


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
                task_path=RUN_ORDER_FACTORY,
                args_kwargs__args__0__in=factory_ids[start : start + 500],
            ).values_list("args_kwargs__args__0", flat=True)
        )
    return waiting


def queued_order_copy_groups() -> set[str]:
    """The copies whose group's job still waits in the queue (the sweep renews their lease instead of queuing
    them twice)."""
    from django_tasks_db.models import DBTaskResult

    waiting: set[str] = set()
    for args in DBTaskResult.objects.filter(status="READY", task_path=RUN_ORDER_COPY_GROUP).values_list(
        "args_kwargs__args", flat=True
    ):
        waiting.update(args[0] if args else [])
    return waiting


class JobLost(Exception):
    """What ends a job whose worker stopped while running it (``end_lost_copy_jobs``): the class path its row
    keeps as a failed job's."""


LOST = (
    "the worker running this job stopped before ending it (killed, or its machine went away); the sweep queued "
    "its order copies again if they were not made: each copy's own status tells how it ended"
)


def end_lost_copy_jobs(now: dt.datetime, lease: dt.timedelta) -> int:
    """End, FAILED with the reason ``LOST``, the order copies' jobs (single and a batch's group) that a worker
    took more than a ``lease`` ago and still shows as running, unless the copy a single copy's job names is
    ``in_progress`` under a live lease (its claim: the job may still be making it). A worker that dies holding
    jobs leaves them RUNNING, and their copies' claims lapse or roll back: the sweeps queue those copies again,
    so the rows would otherwise stay RUNNING for ever. One statement, which reads the running jobs only
    (their partial index, core migration 0004). A job ended here that was in fact still running is recorded
    again when it ends, as any job is. Returns how many were ended."""
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    from orderfactory.factories.models import OrderFactory

    jobs, factories = DBTaskResult._meta.db_table, OrderFactory._meta.db_table
    named = (
        "args_kwargs -> 'args' ->> 0"
        if connection.vendor == "postgresql"
        else "json_extract(args_kwargs, '$.args[0]')"
    )
    # 'RUNNING' written out, not a parameter, so that the statement's plan can use the partial index
    sql = (
        f"UPDATE {jobs} SET status = 'FAILED', finished_at = %s, exception_class_path = %s, traceback = %s "
        f"WHERE status = 'RUNNING' AND started_at < %s AND task_path IN (%s, %s) AND NOT EXISTS ("
        f"SELECT 1 FROM {factories} WHERE id = {named} AND status = 'in_progress' AND lease_expires_at >= %s)"
    )
    ops = connection.ops
    params = [
        ops.adapt_datetimefield_value(now),
        f"{JobLost.__module__}.{JobLost.__qualname__}",
        LOST,
        ops.adapt_datetimefield_value(now - lease),
        RUN_ORDER_FACTORY,
        RUN_ORDER_COPY_GROUP,
        ops.adapt_datetimefield_value(now),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)
