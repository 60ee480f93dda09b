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
