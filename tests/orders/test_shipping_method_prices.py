"""A shipping method's ``price_amount_for_shipment_*``, as Commerce Layer serves them: the method's price for
the shipment it is read through (the shipment's ``available_shipping_methods`` and ``shipping_method``,
included or listed): zero once the order reaches ``free_over_amount``, else its weight tier's price or its
own; null when the method is read on its own (docs/decisions.md, "Shipping rules")."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.orders.conftest import Shop, new_order
from tests.orders.test_shipping_rules import choose, method, tiered, weigh

PRICES = ("price_amount_for_shipment_cents", "price_amount_for_shipment_float")


def prices_for(api: Api, order_id: str) -> dict[str, tuple[Any, ...]]:
    """The available methods of the order's shipment: name -> (cents, float, formatted)."""
    r = api.get(f"orders/{order_id}/shipments", {"include": "available_shipping_methods"})
    assert r.status == 200 and len(r.data) == 1, r
    return {
        o["attributes"]["name"]: (
            *(o["attributes"][name] for name in PRICES),
            o["attributes"]["formatted_price_amount_for_shipment"],
        )
        for o in r.json["included"]
        if o["type"] == "shipping_methods"
    }


def test_available_methods_carry_their_price_for_the_shipment(api: Api, shop: Shop) -> None:
    weigh(api, shop, TSHIRT=200)
    tiered(api, shop)  # 5.00 up to 1 kg, 12.00 above, up to 2 kg
    method(api, shop, "Express", 900, free_over_amount_cents=8000)
    default = shop.shipping_method.name
    light = new_order(api, shop, {"TSHIRT": 5})  # 75.00, 1 kg
    assert prices_for(api, light["id"]) == {
        default: (700, 7.0, "€7,00"),
        "By weight": (500, 5.0, "€5,00"),
        "Express": (900, 9.0, "€9,00"),
    }
    heavy = new_order(api, shop, {"TSHIRT": 6})  # 90.00, 1.2 kg: Express is free over 80.00
    assert prices_for(api, heavy["id"]) == {
        default: (700, 7.0, "€7,00"),
        "By weight": (1200, 12.0, "€12,00"),
        "Express": (0, 0.0, "€0,00"),
    }


def test_the_chosen_method_carries_its_price_and_a_method_on_its_own_none(api: Api, shop: Shop) -> None:
    weigh(api, shop, TSHIRT=200)
    by_weight = tiered(api, shop, free_over_amount_cents=8000)
    order = new_order(api, shop, {"TSHIRT": 6})  # 1.2 kg, 90.00: free
    shipment = choose(api, order["id"], by_weight).data
    r = api.get(f"shipments/{shipment['id']}", {"include": "shipping_method"})
    assert r.status == 200, r
    [included] = [o for o in r.json["included"] if o["type"] == "shipping_methods"]
    assert included["id"] == by_weight["id"]
    assert [included["attributes"][name] for name in PRICES] == [0, 0.0]
    assert shipment["attributes"]["cost_amount_cents"] == 0
    # the orders' list with its shipments and their methods, two levels down
    r = api.get("orders", {"include": "shipments.shipping_method", "filter[q][id_eq]": order["id"]})
    assert r.status == 200, r
    [included] = [o for o in r.json["included"] if o["type"] == "shipping_methods"]
    assert included["attributes"]["price_amount_for_shipment_cents"] == 0
    # on its own, a method has no shipment to be priced for
    attrs = api.get(f"shipping_methods/{by_weight['id']}").data["attributes"]
    assert (attrs["price_amount_for_shipment_cents"], attrs["formatted_price_amount_for_shipment"]) == (
        None,
        None,
    )
    listed = api.get("shipping_methods").data
    assert {o["attributes"]["price_amount_for_shipment_cents"] for o in listed} == {None}
