import django.db.models.deletion
from django.db import migrations, models

import orderfactory.core.clock
from orderfactory.core.schema import drop_field_indexes


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0003_amounts_in_64_bits"),
        ("oauth", "0001_initial"),
    ]

    operations = [
        # The indexes these fields had are dropped by name: AlterField would rebuild each table on SQLite.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="ordersubscription",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="ordersubscription",
                    name="next_run_at",
                    field=models.DateTimeField(blank=True, null=True),
                ),
                migrations.AlterField(
                    model_name="ordersubscription",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="ordersubscription",
                    name="status",
                    field=models.CharField(default="draft", max_length=16),
                ),
                migrations.AlterField(
                    model_name="ordersubscriptionitem",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="ordersubscriptionitem",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="subscriptionmodel",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="subscriptionmodel",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="subscriptionrun",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="subscriptionrun",
                    name="next_attempt_at",
                    field=models.DateTimeField(blank=True, null=True),
                ),
                migrations.AlterField(
                    model_name="subscriptionrun",
                    name="order_subscription",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="subscription_runs",
                        to="subscriptions.ordersubscription",
                    ),
                ),
                migrations.AlterField(
                    model_name="subscriptionrun",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="subscriptionrunattempt",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="subscriptionrunattempt",
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
                    "subscriptions",
                    [
                        ("ordersubscription", "created_at"),
                        ("ordersubscription", "next_run_at"),
                        ("ordersubscription", "organization"),
                        ("ordersubscription", "status"),
                        ("ordersubscriptionitem", "created_at"),
                        ("ordersubscriptionitem", "organization"),
                        ("subscriptionmodel", "created_at"),
                        ("subscriptionmodel", "organization"),
                        ("subscriptionrun", "created_at"),
                        ("subscriptionrun", "next_attempt_at"),
                        ("subscriptionrun", "order_subscription"),
                        ("subscriptionrun", "organization"),
                        ("subscriptionrunattempt", "created_at"),
                        ("subscriptionrunattempt", "organization"),
                    ],
                )
            ],
        ),
        migrations.AddIndex(
            model_name="ordersubscription",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="subscription_tenant"
            ),
        ),
        migrations.AddIndex(
            model_name="ordersubscription",
            index=models.Index(
                fields=["organization", "mode", "status", "created_at", "id"],
                name="subscription_tenant_status",
            ),
        ),
        migrations.AddIndex(
            model_name="ordersubscription",
            index=models.Index(
                fields=["organization", "mode", "next_run_at", "id"], name="subscription_tenant_next_run"
            ),
        ),
        migrations.AddIndex(
            model_name="ordersubscription",
            index=models.Index(fields=["renewal_alert_period", "next_run_at"], name="subscription_alert"),
        ),
        migrations.AddIndex(
            model_name="ordersubscriptionitem",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="subscription_item_tenant"
            ),
        ),
        migrations.AddIndex(
            model_name="subscriptionmodel",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="subscription_model_tenant"
            ),
        ),
        migrations.AddIndex(
            model_name="subscriptionrun",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="subscription_run_tenant"
            ),
        ),
        migrations.AddIndex(
            model_name="subscriptionrun",
            index=models.Index(
                fields=["organization", "mode", "status", "created_at", "id"], name="subscription_run_status"
            ),
        ),
        migrations.AddIndex(
            model_name="subscriptionrun",
            index=models.Index(fields=["status", "next_attempt_at"], name="subscription_run_retry"),
        ),
        migrations.AddIndex(
            model_name="subscriptionrunattempt",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="subscription_attempt_tenant"
            ),
        ),
    ]
