"""Public (sales channel) tokens may do only what a resource opens to them."""

from __future__ import annotations

import pytest

from orderfactory.catalog.models import Market
from orderfactory.core import scope


@pytest.fixture
def sales_channel(api, make_api):
    with scope.active(api.scope()):
        Market.objects.create(name="Europe", code="EU")
    return make_api(kind="sales_channel", scope="market:code:EU")


def test_sales_channel_reads_its_singletons(sales_channel):
    assert sales_channel.get("organization").status == 200
    assert sales_channel.get("application").data["attributes"]["kind"] == "sales_channel"


def test_sales_channel_cannot_touch_admin_resources(api, sales_channel):
    created = api.create("shipping_categories", {"name": "Default"})
    for r in [
        sales_channel.get("shipping_categories"),
        sales_channel.get(f"shipping_categories/{created['id']}"),
        sales_channel.post(
            "shipping_categories", {"data": {"type": "shipping_categories", "attributes": {"name": "x"}}}
        ),
        sales_channel.delete(f"shipping_categories/{created['id']}"),
    ]:
        assert r.status == 401 and r.error_codes == ["UNAUTHORIZED"], r
    assert api.get(f"shipping_categories/{created['id']}").status == 200
