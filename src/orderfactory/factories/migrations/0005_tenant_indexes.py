import django.db.models.deletion
from django.db import migrations, models

import orderfactory.core.clock
from orderfactory.core.schema import drop_field_indexes


class Migration(migrations.Migration):
    dependencies = [
        ("factories", "0004_orderfactory_retry_of"),
        ("oauth", "0001_initial"),
    ]

    operations = [
        # The indexes these fields had are dropped by name: AlterField would rebuild each table on SQLite.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="orderfactory",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="orderfactory",
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
                    "factories", [("orderfactory", "created_at"), ("orderfactory", "organization")]
                )
            ],
        ),
        migrations.RemoveIndex(
            model_name="orderfactory",
            name="factory_type",
        ),
        migrations.AddIndex(
            model_name="orderfactory",
            index=models.Index(fields=["organization", "mode", "created_at", "id"], name="factory_tenant"),
        ),
        migrations.AddIndex(
            model_name="orderfactory",
            index=models.Index(
                fields=["organization", "mode", "type", "created_at", "id"], name="factory_tenant_type"
            ),
        ),
        migrations.AddIndex(
            model_name="orderfactory",
            index=models.Index(
                fields=["organization", "mode", "type", "status", "created_at", "id"],
                name="factory_tenant_status",
            ),
        ),
    ]
