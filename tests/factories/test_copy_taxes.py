"""A copy's taxes are the target's own, computed when it is priced, at the rules' current rates: Commerce
Layer computes an order's taxes again whenever it is priced, and a copy is a new order
(docs/decisions.md, "Taxes on orders")."""

from __future__ import annotations

from typing import Any

from orderfactory.core import scope
from tests.factories.conftest import copied, copy, run_job
from tests.orders.conftest import build_shop, new_order, place


def test_the_copy_is_taxed_at_the_rules_current_rate(api: Any) -> None:
    shop = build_shop(api, code="CT")
    with scope.active(api.scope()):
        shop.price_list.tax_included = False  # taxes added: 22% of 30.00 and 8.00
        shop.price_list.save()
    calculator = api.create("manual_tax_calculators", {"name": "VAT"})
    rule = api.create(
        "tax_rules",
        {"name": "Italy", "tax_rate": 0.22, "country_code_regex": "IT"},
        {"manual_tax_calculator": calculator},
    )
    assert api.update("markets", shop.market.pk, relationships={"tax_calculator": calculator}).status == 200
    source = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})  # 3000 + 800
    assert place(api, source["id"]).status == 200
    assert api.get(f"orders/{source['id']}").data["attributes"]["subtotal_tax_amount_cents"] == 660 + 176
    assert api.update("tax_rules", rule["id"], {"tax_rate": 0.1}).status == 200
    factory_id = copy(api, source["id"]).data["id"]
    assert run_job(factory_id) == "completed"
    _, target = copied(api, factory_id)
    assert target is not None
    attrs = target["attributes"]
    assert (attrs["subtotal_tax_amount_cents"], attrs["tax_rate"]) == (300 + 80, 0.1)
    lines = api.get(f"orders/{target['id']}/line_items", {"filter[q][item_type_eq]": "skus"}).data
    assert sorted(line["attributes"]["tax_amount_cents"] for line in lines) == [80, 300]
    # the source keeps what it was placed with
    assert api.get(f"orders/{source['id']}").data["attributes"]["subtotal_tax_amount_cents"] == 660 + 176
