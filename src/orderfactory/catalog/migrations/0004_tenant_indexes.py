import django.db.models.deletion
from django.db import migrations, models

import orderfactory.core.clock
from orderfactory.core.schema import drop_field_indexes, trigram_index


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_amounts_in_64_bits"),
        ("oauth", "0001_initial"),
    ]

    operations = [
        # The indexes these fields had are dropped by name: AlterField would rebuild each table on SQLite.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="market",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="market",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="merchant",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="merchant",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="price",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="price",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="price",
                    name="price_list",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="prices",
                        to="catalog.pricelist",
                    ),
                ),
                migrations.AlterField(
                    model_name="pricelist",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="pricelist",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="shippingcategory",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="shippingcategory",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="shippingmethod",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="shippingmethod",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="oauth.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="sku",
                    name="created_at",
                    field=models.DateTimeField(default=orderfactory.core.clock.now),
                ),
                migrations.AlterField(
                    model_name="sku",
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
                    "catalog",
                    [
                        ("market", "created_at"),
                        ("market", "organization"),
                        ("merchant", "created_at"),
                        ("merchant", "organization"),
                        ("price", "created_at"),
                        ("price", "organization"),
                        ("price", "price_list"),
                        ("pricelist", "created_at"),
                        ("pricelist", "organization"),
                        ("shippingcategory", "created_at"),
                        ("shippingcategory", "organization"),
                        ("shippingmethod", "created_at"),
                        ("shippingmethod", "organization"),
                        ("sku", "created_at"),
                        ("sku", "organization"),
                    ],
                )
            ],
        ),
        migrations.AddIndex(
            model_name="market",
            index=models.Index(fields=["organization", "mode", "created_at", "id"], name="market_tenant"),
        ),
        migrations.AddIndex(
            model_name="merchant",
            index=models.Index(fields=["organization", "mode", "created_at", "id"], name="merchant_tenant"),
        ),
        migrations.AddIndex(
            model_name="price",
            index=models.Index(fields=["organization", "mode", "created_at", "id"], name="price_tenant"),
        ),
        migrations.AddIndex(
            model_name="pricelist",
            index=models.Index(fields=["organization", "mode", "created_at", "id"], name="price_list_tenant"),
        ),
        migrations.AddIndex(
            model_name="shippingcategory",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="shipping_category_tenant"
            ),
        ),
        migrations.AddIndex(
            model_name="shippingmethod",
            index=models.Index(
                fields=["organization", "mode", "created_at", "id"], name="shipping_method_tenant"
            ),
        ),
        migrations.AddIndex(
            model_name="sku",
            index=models.Index(fields=["organization", "mode", "created_at", "id"], name="sku_tenant"),
        ),
        trigram_index("catalog", "sku", "sku_search", ["code", "name"]),
    ]
