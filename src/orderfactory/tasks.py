"""The background jobs. Domain code enqueues through these functions and never imports a queue library;
each enqueue happens after the surrounding transaction commits, so a job never sees uncommitted rows and a
rolled-back write enqueues nothing."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django_tasks import task


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


def enqueue_webhook_delivery(delivery_id: str, run_after: dt.datetime | None = None) -> None:
    def go() -> None:
        (deliver_webhook.using(run_after=run_after) if run_after else deliver_webhook).enqueue(delivery_id)

    transaction.on_commit(go)
