"""django-tasks-db's database backend, writing each job's row with its INSERT built once (core.writes).

``DatabaseBackend.enqueue`` wrote the row with ``DBTaskResult.objects.create``: Django built the INSERT anew
each time, which cost more than the rest of the request that creates an order copy. Here the row goes through
``core.writes.insert`` with the same ``pre_save``/``post_save`` signals that ``create`` sends (the backend's
own receiver sets ``run_after``), and the workers are woken when the job's transaction commits
(orderfactory.wakes.wake_on_commit). Everything else is the library's.
"""

from __future__ import annotations

from typing import Any

from django.db import router, transaction
from django.db.models import signals
from django_tasks_db import backend

from orderfactory import wakes
from orderfactory.core import writes


class DatabaseBackend(backend.DatabaseBackend):
    def _row(self, task: Any, args: Any, kwargs: Any) -> Any:
        from django_tasks_db.models import DBTaskResult

        return DBTaskResult(
            id=self._get_id(),
            args_kwargs=backend.normalize_json({"args": args, "kwargs": kwargs}),
            priority=task.priority,
            task_path=task.module_path,
            queue_name=task.queue_name,
            run_after=task.run_after,
            backend_name=self.alias,
        )

    def _task_to_db_task(self, task: Any, args: Any, kwargs: Any) -> Any:
        from django_tasks_db.models import DBTaskResult

        row: Any = self._row(task, args, kwargs)
        using = router.db_for_write(DBTaskResult, instance=row)
        with transaction.mark_for_rollback_on_error(using):  # as Model.save_base
            signals.pre_save.send(
                sender=DBTaskResult, instance=row, raw=False, using=using, update_fields=None
            )
            writes.insert([row], using, operation="save")
            signals.post_save.send(
                sender=DBTaskResult, instance=row, created=True, update_fields=None, raw=False, using=using
            )
        wakes.wake_on_commit(using)
        return row

    def enqueue_many(self, task: Any, calls: list[tuple[Any, ...]]) -> None:
        """One job of ``task`` per argument tuple, written set-wise (an order copy batch's chunk of copies):
        the rows ``enqueue`` would write one by one, in as few INSERTs as the database allows."""
        from django_tasks_db.models import DBTaskResult, get_date_max

        if not calls:
            return
        self.validate_task(task)
        rows: list[Any] = [self._row(task, list(args), {}) for args in calls]
        for row in rows:
            if row.run_after is None:  # what the library's pre_save receiver does for each saved row
                row.run_after = get_date_max()
        using = router.db_for_write(DBTaskResult, instance=rows[0])
        writes.insert(rows, using)
        wakes.wake_on_commit(using)
