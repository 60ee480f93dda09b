import django.db.models.deletion
from django.db import migrations, models

import orderfactory.core.clock
from orderfactory.core.schema import drop_field_indexes


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0002_remove_webhookdelivery_signature"),
        ("oauth", "0001_initial"),
    ]

    operations = [
        # The indexes these fields had are dropped by name: AlterField would rebuild each table on SQLite.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="event",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="eventcallback",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="eventcallback",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="eventstore",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="eventstore",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="webhook",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="webhook",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="webhookdelivery",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="webhookdelivery",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
            ],
            database_operations=[
                drop_field_indexes(
                    "events",
                    [
                        ("event", "created_at"),
                        ("event", "organization"),
                        ("eventcallback", "created_at"),
                        ("eventcallback", "organization"),
                        ("eventstore", "created_at"),
                        ("eventstore", "organization"),
                        ("webhook", "created_at"),
                        ("webhook", "organization"),
                        ("webhookdelivery", "created_at"),
                        ("webhookdelivery", "organization"),
                    ],
                )
            ],
        ),
        migrations.RemoveIndex(
            model_name="event",
            name="event_name",
        ),
        migrations.RemoveIndex(
            model_name="webhook",
            name="webhook_topic",
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["organization", "mode", "created_at", "id"], name="event_tenant"),
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(
                fields=["organization", "mode", "name", "created_at", "id"], name="event_tenant_name"
            ),
        ),
        migrations.AddIndex(
            model_name="eventcallback",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="event_callback_tenant"
            ),
        ),
        migrations.AddIndex(
            model_name="eventstore",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="event_store_tenant"
            ),
        ),
        migrations.AddIndex(
            model_name="webhook",
            index=models.Index(fields=["organization", "mode", "created_at", "id"], name="webhook_tenant"),
        ),
        migrations.AddIndex(
            model_name="webhook",
            index=models.Index(fields=["organization", "mode", "topic", "id"], name="webhook_tenant_topic"),
        ),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="webhook_delivery_tenant"
            ),
        ),
    ]
