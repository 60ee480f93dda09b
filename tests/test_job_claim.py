"""The standalone worker on PostgreSQL takes each job in one statement (orderfactory.worker._worker_class):
the job the library's worker would take, claimed the way it claims, and never by two workers."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django_tasks_db.models import DBTaskResult

from orderfactory import tasks
from orderfactory.core import clock
from tests.conftest import job_taker

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite keeps the library's loop"),
]


def _enqueue(label: str, **using) -> str:
    task = tasks.deliver_webhook.using(**using) if using else tasks.deliver_webhook
    return str(task.enqueue(label).id)


def test_jobs_are_taken_in_the_librarys_order_and_claimed_as_it_claims():
    later = clock.now() + dt.timedelta(hours=1)
    earlier = clock.now() - dt.timedelta(minutes=1)
    ids = {
        "plain-1": _enqueue("plain-1"),
        "future": _enqueue("future", run_after=later),
        "urgent": _enqueue("urgent", priority=10),
        "due": _enqueue("due", run_after=earlier),
        "plain-2": _enqueue("plain-2"),
        "other-queue": _enqueue("other-queue"),
        "other-backend": _enqueue("other-backend"),
    }
    DBTaskResult.objects.filter(pk=ids["other-queue"]).update(queue_name="other")
    DBTaskResult.objects.filter(pk=ids["other-backend"]).update(backend_name="elsewhere")
    taker = job_taker()
    taken = []
    while taken_now := taker._take():
        [row] = taken_now  # webhook deliveries: one at a time
        taken.append(row.args_kwargs["args"][0])
        assert (row.status, row.worker_ids, row.started_at is not None) == ("RUNNING", ["w1"], True)
        stored = DBTaskResult.objects.get(pk=row.pk)
        assert (stored.status, stored.worker_ids, stored.started_at) == ("RUNNING", ["w1"], row.started_at)
    # priority first, then what is due by run_after (unscheduled jobs last), then by enqueueing
    assert taken == ["urgent", "due", "plain-1", "plain-2"]
    left = DBTaskResult.objects.filter(status="READY").values_list("pk", flat=True)
    assert {str(pk) for pk in left} == {ids["future"], ids["other-queue"], ids["other-backend"]}


def test_two_workers_never_take_the_same_job():
    enqueued = {_enqueue(f"job-{i}") for i in range(60)}
    taken: dict[str, list[str]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def take(name: str) -> None:
        taker = job_taker(name)
        start.wait()
        while rows := taker._take():
            taken[name].extend(str(row.pk) for row in rows)

    def take_in_its_own_connection() -> None:
        try:
            take("b")
        finally:
            connections.close_all()

    other = threading.Thread(target=take_in_its_own_connection)
    other.start()
    take("a")  # side by side with b
    other.join()
    assert not set(taken["a"]) & set(taken["b"])
    assert set(taken["a"]) | set(taken["b"]) == enqueued
    assert taken["a"] and taken["b"]  # both took some: they ran side by side


def test_the_worker_runs_the_jobs_it_takes_to_completion(monkeypatch):
    import orderfactory.events.services as events

    ran = []
    monkeypatch.setattr(events, "deliver", ran.append)
    for i in range(3):
        _enqueue(f"run-{i}")
    job_taker().run()  # batch: until nothing is ready
    assert sorted(ran) == ["run-0", "run-1", "run-2"]
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
