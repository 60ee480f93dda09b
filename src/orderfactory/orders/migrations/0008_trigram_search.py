from django.db import migrations

from orderfactory.core.schema import trigram_index_of_text_only


class Migration(migrations.Migration):
    dependencies = [("orders", "0007_bundle_lines_and_options")]

    operations = [
        trigram_index_of_text_only(
            "orders", "order", "order_search", ["number", "customer_email", "reference"]
        )
    ]
