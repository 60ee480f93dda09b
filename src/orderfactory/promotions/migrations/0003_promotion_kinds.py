"""One table for every promotion kind (Commerce Layer's single-table ``Promotion``): the percentage discounts'
table, renamed, with the kind in ``type`` and each kind's own columns."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0007_price_tiers"),
        ("oauth", "0002_dashboard_application_kinds"),
        ("promotions", "0002_tenant_indexes"),
    ]

    operations = [
        migrations.RenameModel("PercentageDiscountPromotion", "Promotion"),
        migrations.AddField(
            model_name="promotion",
            name="type",
            field=models.CharField(default="percentage_discount_promotions", max_length=40),
        ),
        migrations.AlterField(
            model_name="promotion",
            name="percentage",
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="promotion",
            name="fixed_amount_cents",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="promotion",
            index=models.Index(
                fields=["organization", "mode", "type", "created_at", "id"], name="promotion_type_tenant"
            ),
        ),
        migrations.AddConstraint(
            model_name="promotion",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "type__in",
                        (
                            "percentage_discount_promotions",
                            "free_shipping_promotions",
                            "fixed_amount_promotions",
                        ),
                    )
                ),
                name="promotion_type",
            ),
        ),
        migrations.AddConstraint(
            model_name="promotion",
            constraint=models.CheckConstraint(
                condition=models.Q(("fixed_amount_cents__gte", 0)), name="promotion_fixed_amount_positive"
            ),
        ),
    ]
