from django.db import migrations

from orderfactory.core.schema import trigram_index_of_text_only


class Migration(migrations.Migration):
    dependencies = [("catalog", "0009_market_customer_group")]

    operations = [trigram_index_of_text_only("catalog", "sku", "sku_search", ["code", "name"])]
