"""On PostgreSQL, a job's row notifies the workers when its transaction commits (``NOTIFY`` is delivered at
commit, and not at all on rollback), whoever wrote it: the workers listen on the channel
(orderfactory.wakes.NOTIFY_CHANNEL) and take the job at once instead of at their next poll. A trigger rather
than a NOTIFY statement of ours: the job's INSERT stays the only statement that enqueues it. SQLite: nothing
(serve wakes its own worker process, docs/decisions.md, "The worker process and its wake-up")."""

from typing import Any

from django.db import migrations

CHANNEL = "orderfactory_jobs"  # orderfactory.wakes.NOTIFY_CHANNEL, as of this migration


def _table(apps: Any) -> str:
    return str(apps.get_model("django_tasks_database", "DBTaskResult")._meta.db_table)


def create_trigger(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE FUNCTION orderfactory_job_enqueued() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$"
    )
    schema_editor.execute(
        f"CREATE TRIGGER orderfactory_job_enqueued AFTER INSERT ON {_table(apps)} "
        "FOR EACH STATEMENT EXECUTE FUNCTION orderfactory_job_enqueued()"
    )


def drop_trigger(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS orderfactory_job_enqueued ON {_table(apps)}")
    schema_editor.execute("DROP FUNCTION IF EXISTS orderfactory_job_enqueued()")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_cacheversion"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
