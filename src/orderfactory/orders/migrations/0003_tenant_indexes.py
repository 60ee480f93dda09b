import django.db.models.deletion
from django.db import migrations, models

import orderfactory.core.clock
from orderfactory.core.schema import drop_field_indexes, trigram_index


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0002_amounts_in_64_bits"),
        ("oauth", "0001_initial"),
    ]

    operations = [
        # The indexes these fields had are dropped by name: AlterField would rebuild each table on SQLite.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="lineitem",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="lineitem",
                    name="order",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="line_items",
                        to="orders.order",
                    ),
                ),
                migrations.AlterField(
                    model_name="lineitem",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="status",
                    field=models.CharField(default="draft", max_length=16),
                ),
                migrations.AlterField(
                    model_name="shipment",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="shipment",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="stockallocation",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="stockallocation",
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
                    "orders",
                    [
                        ("lineitem", "created_at"),
                        ("lineitem", "order"),
                        ("lineitem", "organization"),
                        ("order", "created_at"),
                        ("order", "organization"),
                        ("order", "status"),
                        ("shipment", "created_at"),
                        ("shipment", "organization"),
                        ("stockallocation", "created_at"),
                        ("stockallocation", "organization"),
                    ],
                )
            ],
        ),
        migrations.AddIndex(
            model_name="lineitem",
            index=models.Index(fields=["organization", "mode", "created_at", "id"], name="line_item_tenant"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["organization", "mode", "created_at", "id"], name="order_tenant"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                fields=["organization", "mode", "status", "created_at", "id"], name="order_tenant_status"
            ),
        ),
        migrations.AddIndex(
            model_name="shipment",
            index=models.Index(fields=["organization", "mode", "created_at", "id"], name="shipment_tenant"),
        ),
        migrations.AddIndex(
            model_name="stockallocation",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="stock_allocation_tenant"
            ),
        ),
        trigram_index("orders", "order", "order_search", ["number", "customer_email", "reference"]),
    ]
