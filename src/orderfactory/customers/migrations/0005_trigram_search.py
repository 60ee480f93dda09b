from django.db import migrations

from orderfactory.core.schema import trigram_index_of_text_only


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_anonymization")]

    operations = [
        trigram_index_of_text_only("customers", "customer", "customer_search", ["email", "reference"])
    ]
