"""A real worker killed (SIGKILL) in the middle of an order copy batch, while its group of copies
(factories/groups.py) was being written: the group's claim rolls back with its writes, the batch's sweep
queues the group again, another worker copies it as a group, and each source of the batch is copied exactly
once and the batch's counts are right. Real processes on this run's test database, as tests/test_worker.py
runs them."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tasks_db.models import DBTaskResult

from orderfactory import queue
from orderfactory.core import clock, scope
from orderfactory.factories import batches, services
from orderfactory.factories.models import OrderCopyBatch, OrderFactory
from orderfactory.orders.models import LineItem, Order
from tests.conftest import document
from tests.orders.conftest import build_shop, new_order, place
from tests.test_worker import kill_a_worker_mid_copy, orderfactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_killed_mid_batch_leaves_each_source_copied_exactly_once(api, tmp_path):
    shop = build_shop(api, skus={"MUG": (800, {"milan": 100})})
    sources = []
    for _ in range(3):
        order = new_order(api, shop, {"MUG": 1})
        assert place(api, order["id"]).status == 200
        sources.append(order["id"])
    body = document("order_copy_batches", {"source_order_ids": sources, "place_target_order": False})
    r = api.post("order_copy_batches", body)
    assert r.status == 201, r
    batch_id = r.data["id"]
    with scope.active(api.scope()):
        before = (Order.objects.count(), LineItem.objects.count())

    kill_a_worker_mid_copy(tmp_path, "the batch's first copy stalls mid-way")
    with scope.active(api.scope()):
        statuses = sorted(
            OrderFactory.objects.filter(order_copy_batch_id=batch_id).values_list("status", flat=True)
        )
        assert statuses == ["pending", "pending", "pending"]  # the group's claim rolled back
        assert (Order.objects.count(), LineItem.objects.count()) == before  # the killed group left nothing

    later = clock.now() + services.LEASE + dt.timedelta(seconds=1)
    assert services.sweep(later) == 0  # a batch's pending copies are its own sweep's
    # but the group's job the killed worker left running is ended (queue.end_lost_copy_jobs)
    assert not DBTaskResult.objects.filter(status="RUNNING").exists()
    group_jobs = DBTaskResult.objects.filter(task_path=queue.RUN_ORDER_COPY_GROUP)
    assert list(group_jobs.values_list("status", "exception_class_path")) == [
        ("FAILED", "orderfactory.queue.JobLost")
    ]
    assert batches.sweep(later) == 3  # its sources were all expanded: its three copies are queued again
    assert [job.args_kwargs["args"][0] for job in _ready()] == [
        sorted(OrderFactory.unscoped.filter(order_copy_batch_id=batch_id).values_list("pk", flat=True))
    ]
    with orderfactory(tmp_path, "worker", "--batch") as worker:
        worker.wait(120)
        assert worker.returncode == 0, worker.log.read_text()[-3000:]

    with scope.active(api.scope()):
        made = list(
            OrderFactory.objects.filter(order_copy_batch_id=batch_id).values_list(
                "source_order_id", "status", "attempts"
            )
        )
        assert sorted(source for source, _, _ in made) == sorted(sources)
        assert {status for _, status, _ in made} == {"completed"}
        assert sorted(attempts for _, _, attempts in made) == [1, 1, 1]  # the killed attempt rolled back
        # one group made the three copies, under one claim
        claims = set(
            OrderFactory.objects.filter(order_copy_batch_id=batch_id).values_list("claimed_by", flat=True)
        )
        assert len(claims) == 1
        assert not DBTaskResult.objects.filter(task_path=queue.RUN_ORDER_FACTORY).exists()
        assert Order.objects.count() == before[0] + 3
        batch = OrderCopyBatch.objects.get(pk=batch_id)
    assert batch.status == "completed"
    assert (batch.total_count, batch.completed_count, batch.failed_count, batch.aborted_count) == (3, 3, 0, 0)


def _ready() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(status="READY", task_path=queue.RUN_ORDER_COPY_GROUP))
