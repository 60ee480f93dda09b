from django.db import migrations

from orderfactory.core.schema import trigram_index_of_text_only


class Migration(migrations.Migration):
    dependencies = [("promotions", "0007_served_types_after_merge")]

    operations = [trigram_index_of_text_only("promotions", "coupon", "coupon_search", ["code"])]
