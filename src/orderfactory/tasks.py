"""The background jobs: each runs one service. Domain code queues them through orderfactory.queue, which
names them by their path here (the path each queued row keeps) and imports no service; its functions are
also here, for the worker and the operator's tools."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from orderfactory import config
from orderfactory.core import database
from orderfactory.customers import anonymization
from orderfactory.events import services as events
from orderfactory.factories import batches, groups
from orderfactory.factories import services as factories
from orderfactory.queue import (
    OUTAGE_PATIENCE,
    enqueue_order_factory,
    enqueue_webhook_delivery,
    queued_order_factories,
)

__all__ = [
    "FINISHED_JOBS_KEPT",
    "anonymize_customer",
    "deliver_webhook",
    "enqueue_order_factory",
    "enqueue_webhook_delivery",
    "expand_order_copy_batch",
    "purge_finished_jobs",
    "queued_order_factories",
    "run_order_copy_group",
    "run_order_factories",
    "run_order_factory",
]

# Finished jobs (successful or failed) stay in the database queue this long for inspection, then the
# periodic purge deletes them: each copy and each webhook delivery leaves one.
FINISHED_JOBS_KEPT = dt.timedelta(days=config.number("ORDERFACTORY_FINISHED_JOBS_DAYS", 7))


@task()
def run_order_factory(factory_id: str) -> None:
    factories.run(factory_id)


# How many ready single-copy jobs a worker takes at once (worker._worker_class), to run them through
# ``run_order_factories``: a batch's group size.
TAKEN_TOGETHER = batches.GROUP


def run_order_factories(factory_ids: list[str]) -> dict[str, Exception]:
    """The jobs of these single copies, taken together by a worker: the copies the group path can make, in
    groups; the others alone (groups.run_singles). Returns the copies whose run raised, with what it raised."""
    return groups.run_singles(factory_ids)


@task()
def run_order_copy_group(factory_ids: list[str]) -> None:
    groups.run(factory_ids)


@task()
def expand_order_copy_batch(batch_id: str) -> None:
    database.outlasting(
        lambda: batches.expand(batch_id), patience=OUTAGE_PATIENCE, what=f"order copy batch {batch_id}"
    )


@task()
def deliver_webhook(delivery_id: str) -> None:
    # An attempt cut off by a lost database is made again once it answers (a receiver may get it twice:
    # webhooks are delivered at least once).
    database.outlasting(
        lambda: events.deliver(delivery_id), patience=OUTAGE_PATIENCE, what="webhook delivery"
    )


@task()
def anonymize_customer(customer_id: str, request_id: str) -> None:
    database.outlasting(
        lambda: anonymization.run(customer_id, request_id),
        patience=OUTAGE_PATIENCE,
        what=f"customer anonymization {customer_id}",
    )


def purge_finished_jobs(now: dt.datetime | None = None) -> int:
    """Delete the jobs that finished more than FINISHED_JOBS_KEPT ago (a periodic job)."""
    from django_tasks_db.models import DBTaskResult

    from orderfactory.core import clock

    cutoff = (now or clock.now()) - FINISHED_JOBS_KEPT
    return DBTaskResult.objects.filter(status__in=["SUCCESSFUL", "FAILED"], finished_at__lt=cutoff).delete()[
        0
    ]
