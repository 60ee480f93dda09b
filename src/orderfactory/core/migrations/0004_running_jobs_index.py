"""A partial index of the queue's running jobs, by when they started: the sweep reads them at every tick to
end the ones a dead worker left running (orderfactory.queue.end_lost_copy_jobs), without reading the finished
jobs the queue keeps for days. Both databases index only the rows whose status is RUNNING, a handful."""

from typing import Any

from django.db import migrations

INDEX = "orderfactory_job_running"


def _table(apps: Any) -> str:
    return str(apps.get_model("django_tasks_database", "DBTaskResult")._meta.db_table)


def create_index(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(f"CREATE INDEX {INDEX} ON {_table(apps)} (started_at) WHERE status = 'RUNNING'")


def drop_index(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("core", "0003_job_notify")]

    operations = [migrations.RunPython(create_index, drop_index)]
