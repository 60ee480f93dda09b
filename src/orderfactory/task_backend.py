"""django-tasks-db's database backend, writing each job's row with its INSERT built once (core.writes).

``DatabaseBackend.enqueue`` wrote the row with ``DBTaskResult.objects.create``: Django built the INSERT anew
each time, which cost more than the rest of the request that creates an order copy. Here the row goes through
``core.writes.insert`` with the same ``pre_save``/``post_save`` signals that ``create`` sends (the backend's
own receiver sets ``run_after``), and the workers are woken when the job's transaction commits
(orderfactory.wakes.wake_on_commit). ``put``, which the queue's functions call (orderfactory.queue), writes
the same row with less still: one INSERT whose values are made once per task but for the job's id, time,
arguments and ``run_after``. Everything else is the library's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connections, router, transaction
from django.db.models import signals
from django.utils import timezone
from django_tasks_db import backend

from orderfactory import wakes
from orderfactory.core import writes


@dataclass(frozen=True)
class _Statement:
    """The INSERT of a task's job rows, and the values of the columns every job of the task shares."""

    sql: str
    shared: tuple[Any, ...]  # as the database takes them, in the order of the placeholders
    varying: tuple[tuple[int, Any], ...]  # (placeholder, field) of id, enqueued_at, args_kwargs, run_after


# (backend, task path, priority, queue, database) -> its statement; a handful of tasks, so a handful of entries
_statements: dict[tuple[str, str, int, str, str], _Statement] = {}
_VARYING = ("id", "enqueued_at", "args_kwargs", "run_after")


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

    def _statement(self, task: Any, using: str) -> _Statement:
        key = (self.alias, task.module_path, task.priority, task.queue_name, using)
        statement = _statements.get(key)
        if statement is None:
            from django_tasks_db.models import DBTaskResult, get_date_max

            self.validate_task(task)  # what decides it is the task's function and priority: once per key
            row = self._row(task, [], {})
            row.run_after = get_date_max()
            row.enqueued_at = timezone.now()
            sql, fields = writes.row_statement(DBTaskResult, using)
            at = {f.attname: i for i, f in enumerate(fields)}
            statement = _statements[key] = _Statement(
                sql,
                tuple(writes.database_values(row, using)),
                tuple((at[name], DBTaskResult._meta.get_field(name)) for name in _VARYING),
            )
        return statement

    def put(self, task: Any, args: list[Any]) -> str:
        """Queue one job of ``task`` with these arguments, in the caller's transaction, and wake the workers
        once it commits: the row ``enqueue`` writes, column for column, in one INSERT (its text and the values
        every job of the task shares made once). No ``TaskResult`` is built and no signal sent: the queue's
        functions use neither (the library's receivers set ``run_after``, set here, and log at debug level).
        Returns the job's id."""
        from django_tasks_db.models import DBTaskResult, get_date_max

        using = router.db_for_write(DBTaskResult)
        connection = connections[using]
        statement = self._statement(task, using)
        job_id = self._get_id()
        varying = (
            job_id,
            timezone.now(),
            backend.normalize_json({"args": args, "kwargs": {}}),
            task.run_after or get_date_max(),
        )
        values = list(statement.shared)
        for (at, field), value in zip(statement.varying, varying, strict=True):
            values[at] = field.get_db_prep_save(value, connection=connection)
        with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
            cursor.execute(statement.sql, values)
        wakes.wake_on_commit(using)
        return str(job_id)

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
