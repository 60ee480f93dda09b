import django.db.models.deletion
from django.db import migrations, models

import orderfactory.core.clock
from orderfactory.core.schema import drop_field_indexes


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0003_amounts_in_64_bits"),
        ("oauth", "0001_initial"),
    ]

    operations = [
        # The indexes these fields had are dropped by name: AlterField would rebuild each table on SQLite.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="externalgateway",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="externalgateway",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="externalpayment",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="externalpayment",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="manualgateway",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="manualgateway",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="paymentmethod",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="paymentmethod",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="wiretransfer",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="wiretransfer",
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
                    "payments",
                    [
                        ("externalgateway", "created_at"),
                        ("externalgateway", "organization"),
                        ("externalpayment", "created_at"),
                        ("externalpayment", "organization"),
                        ("manualgateway", "created_at"),
                        ("manualgateway", "organization"),
                        ("paymentmethod", "created_at"),
                        ("paymentmethod", "organization"),
                        ("wiretransfer", "created_at"),
                        ("wiretransfer", "organization"),
                    ],
                )
            ],
        ),
        migrations.AddIndex(
            model_name="externalgateway",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="external_gateway_tenant"
            ),
        ),
        migrations.AddIndex(
            model_name="externalpayment",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="externalpayment_tenant"
            ),
        ),
        migrations.AddIndex(
            model_name="manualgateway",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="manual_gateway_tenant"
            ),
        ),
        migrations.AddIndex(
            model_name="paymentmethod",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="payment_method_tenant"
            ),
        ),
        migrations.AddIndex(
            model_name="wiretransfer",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="wiretransfer_tenant"
            ),
        ),
    ]
