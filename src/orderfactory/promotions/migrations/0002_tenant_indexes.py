import django.db.models.deletion
from django.db import migrations, models

import orderfactory.core.clock
from orderfactory.core.schema import drop_field_indexes, trigram_index


class Migration(migrations.Migration):
    dependencies = [
        ("promotions", "0001_initial"),
        ("oauth", "0001_initial"),
    ]

    operations = [
        # The indexes these fields had are dropped by name: AlterField would rebuild each table on SQLite.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="coupon",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="coupon",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="couponcodespromotionrule",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="couponcodespromotionrule",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="percentagediscountpromotion",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="percentagediscountpromotion",
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
                    "promotions",
                    [
                        ("coupon", "created_at"),
                        ("coupon", "organization"),
                        ("couponcodespromotionrule", "created_at"),
                        ("couponcodespromotionrule", "organization"),
                        ("percentagediscountpromotion", "created_at"),
                        ("percentagediscountpromotion", "organization"),
                    ],
                )
            ],
        ),
        migrations.AddIndex(
            model_name="coupon",
            index=models.Index(fields=["organization", "mode", "created_at", "id"], name="coupon_tenant"),
        ),
        migrations.AddIndex(
            model_name="couponcodespromotionrule",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="promotion_rule_tenant"
            ),
        ),
        migrations.AddIndex(
            model_name="percentagediscountpromotion",
            index=models.Index(fields=["organization", "mode", "created_at", "id"], name="promotion_tenant"),
        ),
        trigram_index("promotions", "coupon", "coupon_search", ["code"]),
    ]
