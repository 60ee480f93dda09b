"""The database queue's housekeeping: finished jobs are deleted after ORDERFACTORY_FINISHED_JOBS_DAYS."""

from __future__ import annotations

import datetime as dt

from django_tasks_db.models import DBTaskResult

from orderfactory import tasks
from orderfactory.core import clock


def test_finished_jobs_are_purged_after_they_are_kept(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for factory_id in ("done", "failed", "waiting", "recent"):
            tasks.enqueue_order_factory(factory_id)
    now = clock.now()
    old = now - tasks.FINISHED_JOBS_KEPT - dt.timedelta(minutes=1)
    rows = DBTaskResult.objects.all()
    rows.filter(args_kwargs__args__0="done").update(status="SUCCESSFUL", finished_at=old)
    rows.filter(args_kwargs__args__0="failed").update(status="FAILED", finished_at=old)
    rows.filter(args_kwargs__args__0="recent").update(status="SUCCESSFUL", finished_at=now)
    assert tasks.purge_finished_jobs(now) == 2
    assert sorted(r.args_kwargs["args"][0] for r in rows) == ["recent", "waiting"]
    assert tasks.purge_finished_jobs(now) == 0


def test_a_job_row_is_the_row_the_librarys_backend_writes(db, django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from django_tasks import task_backends
    from django_tasks_db import backend as library

    from orderfactory.task_backend import DatabaseBackend

    ours = task_backends["default"]
    assert type(ours) is DatabaseBackend
    later = clock.now() + dt.timedelta(hours=1)
    columns = [
        f.attname for f in DBTaskResult._meta.concrete_fields if f.attname not in ("id", "enqueued_at")
    ]
    for task in (tasks.run_order_factory, tasks.deliver_webhook.using(run_after=later)):
        with CaptureQueriesContext(connection) as captured:
            mine = ours._task_to_db_task(task, ["f1"], {})
        assert len(captured) == 1  # one INSERT
        before = timezone.now()
        with CaptureQueriesContext(connection) as captured:
            put = ours.put(task, ["f1"])  # what the queue's functions call
            again = ours.put(task, ["f2"])  # the statement made once serves the next job
        assert len(captured) == 2  # one INSERT each
        theirs = library.DatabaseBackend._task_to_db_task(ours, task, ["f1"], {})
        stored = {str(row["id"]): row for row in DBTaskResult.objects.values("id", "enqueued_at", *columns)}
        expected = {c: stored[str(theirs.id)][c] for c in columns}
        assert {c: stored[str(mine.id)][c] for c in columns} == expected
        assert {c: stored[put][c] for c in columns} == expected
        assert stored[again]["args_kwargs"] == {"args": ["f2"], "kwargs": {}}
        assert before <= stored[put]["enqueued_at"] <= stored[again]["enqueued_at"] <= timezone.now()
        assert mine.run_after == theirs.run_after  # the library's pre_save receiver ran (no run_after: never)
        assert not mine._state.adding and mine.task_result.id == str(mine.id)
        # the library reads the rows put wrote as it reads its own
        assert ours.get_result(put).args == ["f1"] and ours.get_result(put).status == "READY"
        DBTaskResult.objects.all().delete()
