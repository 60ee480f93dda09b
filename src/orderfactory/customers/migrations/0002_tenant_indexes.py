import django.db.models.deletion
from django.db import migrations, models

import orderfactory.core.clock
from orderfactory.core.schema import drop_field_indexes, trigram_index


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("oauth", "0001_initial"),
    ]

    operations = [
        # The indexes these fields had are dropped by name: AlterField would rebuild each table on SQLite.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="customer",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="customeraddress",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="customeraddress",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="customerpaymentsource",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="customerpaymentsource",
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
                    "customers",
                    [
                        ("customer", "created_at"),
                        ("customer", "organization"),
                        ("customeraddress", "created_at"),
                        ("customeraddress", "organization"),
                        ("customerpaymentsource", "created_at"),
                        ("customerpaymentsource", "organization"),
                    ],
                )
            ],
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["organization", "mode", "created_at", "id"], name="customer_tenant"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                fields=["organization", "mode", "status", "created_at", "id"], name="customer_status"
            ),
        ),
        migrations.AddIndex(
            model_name="customeraddress",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="customer_address_tenant"
            ),
        ),
        migrations.AddIndex(
            model_name="customerpaymentsource",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="customer_payment_source_tenant"
            ),
        ),
        trigram_index("customers", "customer", "customer_search", ["email", "reference"]),
    ]
