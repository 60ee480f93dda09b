import django.db.models.deletion
from django.db import migrations, models

import orderfactory.core.clock
from orderfactory.core.schema import drop_field_indexes


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0002_stock_items"),
        ("oauth", "0001_initial"),
    ]

    operations = [
        # The indexes these fields had are dropped by name: AlterField would rebuild each table on SQLite.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="inventorymodel",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="inventorymodel",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="inventorystocklocation",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="inventorystocklocation",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="inventorystocklocation",
                    name="stock_location",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="inventory_stock_locations",
                        to="inventory.stocklocation",
                    ),
                ),
                migrations.AlterField(
                    model_name="stockitem",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="stockitem",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="stockitem",
                    name="stock_location",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="stock_items",
                        to="inventory.stocklocation",
                    ),
                ),
                migrations.AlterField(
                    model_name="stocklocation",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="stocklocation",
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
                    "inventory",
                    [
                        ("inventorymodel", "created_at"),
                        ("inventorymodel", "organization"),
                        ("inventorystocklocation", "created_at"),
                        ("inventorystocklocation", "organization"),
                        ("inventorystocklocation", "stock_location"),
                        ("stockitem", "created_at"),
                        ("stockitem", "organization"),
                        ("stockitem", "stock_location"),
                        ("stocklocation", "created_at"),
                        ("stocklocation", "organization"),
                    ],
                )
            ],
        ),
        migrations.AddIndex(
            model_name="inventorymodel",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="inventory_model_tenant"
            ),
        ),
        migrations.AddIndex(
            model_name="inventorystocklocation",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="inventory_location_tenant"
            ),
        ),
        migrations.AddIndex(
            model_name="stockitem",
            index=models.Index(fields=["organization", "mode", "created_at", "id"], name="stock_item_tenant"),
        ),
        migrations.AddIndex(
            model_name="stocklocation",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="stock_location_tenant"
            ),
        ),
    ]
