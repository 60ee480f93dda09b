"""Shipping that depends on where and how much, over HTTP: shipping zones, weight ranges, weight tiers, free
over amount, and the delivery lead time of a shipment."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.orders.conftest import ADDRESS, Shop, new_order

Resource = dict[str, Any]


def weigh(api: Api, shop: Shop, **grams: float) -> None:
    """The SKUs' weights: TSHIRT=200 is 200 grams."""
    for code, weight in grams.items():
        r = api.update("skus", shop.skus[code].pk, {"weight": weight, "unit_of_weight": "gr"})
        assert r.status == 200, r


def zone(api: Api, **regexes: str) -> Resource:
    return api.create("shipping_zones", {"name": "Zone", **regexes})


def method(
    api: Api, shop: Shop, name: str, cents: int, relationships: Any = None, **attributes: Any
) -> Resource:
    return api.create(
        "shipping_methods",
        {"name": name, "price_amount_cents": cents, **attributes},
        {"market": ("markets", shop.market.pk), **(relationships or {})},
    )


def tiered(api: Api, shop: Shop, **attributes: Any) -> Resource:
    """Weight-tiered, up to 2 kg: 5.00 up to 1 kg, 12.00 above."""
    by_weight = method(
        api, shop, "By weight", 0, scheme="weight_tiered", unit_of_weight="gr", max_weight=2000, **attributes
    )
    for name, up_to, cents in (("Heavy", None, 1200), ("Light", 1000, 500)):
        api.create(
            "shipping_weight_tiers",
            {"name": name, "up_to": up_to, "price_amount_cents": cents},
            {"shipping_method": by_weight},
        )
    return by_weight


def shipment_of(api: Api, order_id: str) -> Resource:
    r = api.get(f"orders/{order_id}/shipments", {"include": "available_shipping_methods"})
    assert r.status == 200 and len(r.data) == 1, r
    return r.data[0]


def available(api: Api, order_id: str) -> set[str]:
    linked = shipment_of(api, order_id)["relationships"]["available_shipping_methods"]["data"]
    return {d["id"] for d in linked}


def method_of(api: Api, order_id: str) -> str:
    return api.get(f"shipments/{shipment_of(api, order_id)['id']}/shipping_method").data["id"]


def choose(api: Api, order_id: str, chosen: Resource) -> Any:
    shipment = shipment_of(api, order_id)
    return api.update("shipments", shipment["id"], relationships={"shipping_method": chosen})


def ship_to(api: Api, order_id: str, **address: str) -> None:
    place = api.create("addresses", {**ADDRESS, **address})
    r = api.update("orders", order_id, relationships={"shipping_address": place})
    assert r.status == 200, r


def refused_with(response: Any) -> list[tuple[str, str]]:
    assert response.status == 422, response
    return [(e["source"]["pointer"], e["meta"]["error"]) for e in response.json["errors"]]


def test_a_zone_method_serves_addresses_inside_the_zone_only(api: Api, shop: Shop) -> None:
    italy_not_islands = zone(api, country_code_regex="^IT$", not_zip_code_regex="^(07|09)")
    courier = method(api, shop, "Italian courier", 400, {"shipping_zone": italy_not_islands})
    order = new_order(api, shop, {"TSHIRT": 1})  # shipped to Milano, 20100
    assert available(api, order["id"]) == {shop.shipping_method.pk, courier["id"]}
    r = choose(api, order["id"], courier)
    assert r.status == 200 and r.data["attributes"]["cost_amount_cents"] == 400, r

    ship_to(api, order["id"], city="Cagliari", zip_code="09100")  # an island: excluded
    assert available(api, order["id"]) == {shop.shipping_method.pk}
    # The method chosen no longer applies: the shipment is back on the market's default.
    assert method_of(api, order["id"]) == shop.shipping_method.pk
    assert refused_with(choose(api, order["id"], courier)) == [
        ("/data/relationships/shipping_method", "shipping_method_unavailable")
    ]
    ship_to(api, order["id"], country_code="DE", city="Berlin", zip_code="10115")  # another country
    assert available(api, order["id"]) == {shop.shipping_method.pk}
    ship_to(api, order["id"], zip_code="20121")
    assert choose(api, order["id"], courier).status == 200


def test_weight_tiers_price_a_light_and_a_heavy_shipment(api: Api, shop: Shop) -> None:
    weigh(api, shop, TSHIRT=200)
    by_weight = tiered(api, shop)
    light = new_order(api, shop, {"TSHIRT": 1})
    assert choose(api, light["id"], by_weight).data["attributes"]["cost_amount_cents"] == 500
    heavy = new_order(api, shop, {"TSHIRT": 6})  # 1.2 kg
    assert choose(api, heavy["id"], by_weight).data["attributes"]["cost_amount_cents"] == 1200
    attrs = api.get(f"orders/{heavy['id']}").data["attributes"]
    assert (attrs["shipping_amount_cents"], attrs["total_amount_cents"]) == (1200, 9000 + 1200)

    # 2 kg is the maximum, included; above it the method no longer applies and the default takes over.
    line = api.get(f"orders/{heavy['id']}/line_items", {"filter[q][item_type_eq]": "skus"}).data[0]
    assert api.update("line_items", line["id"], {"quantity": 10}).status == 200
    assert by_weight["id"] in available(api, heavy["id"])
    assert api.update("line_items", line["id"], {"quantity": 11}).status == 200
    assert by_weight["id"] not in available(api, heavy["id"])
    assert method_of(api, heavy["id"]) == shop.shipping_method.pk
    assert refused_with(choose(api, heavy["id"], by_weight)) == [
        ("/data/relationships/shipping_method", "shipping_method_unavailable")
    ]


def test_weights_in_other_units_and_a_minimum(api: Api, shop: Shop) -> None:
    api.update("skus", shop.skus["MUG"].pk, {"weight": 1, "unit_of_weight": "lb"})
    pallet = method(api, shop, "Pallet", 3000, unit_of_weight="oz", min_weight=32)  # 2 lb
    one = new_order(api, shop, {"MUG": 1})
    assert pallet["id"] not in available(api, one["id"])
    two = new_order(api, shop, {"MUG": 2})
    assert pallet["id"] in available(api, two["id"])


def test_free_over_amount(api: Api, shop: Shop) -> None:
    weigh(api, shop, TSHIRT=200)
    by_weight = tiered(api, shop, free_over_amount_cents=8000)
    under = new_order(api, shop, {"TSHIRT": 5})  # 75.00
    assert choose(api, under["id"], by_weight).data["attributes"]["cost_amount_cents"] == 500
    over = new_order(api, shop, {"TSHIRT": 6})  # 90.00
    assert choose(api, over["id"], by_weight).data["attributes"]["cost_amount_cents"] == 0
    assert api.get(f"orders/{over['id']}").data["attributes"]["shipping_amount_cents"] == 0


def test_a_weight_tiered_method_without_a_tier_for_the_weight_does_not_apply(api: Api, shop: Shop) -> None:
    weigh(api, shop, TSHIRT=200)
    small = method(api, shop, "Small parcels", 0, scheme="weight_tiered", unit_of_weight="gr")
    api.create(
        "shipping_weight_tiers",
        {"name": "S", "up_to": 500, "price_amount_cents": 300},
        {"shipping_method": small},
    )
    order = new_order(api, shop, {"TSHIRT": 2})
    assert choose(api, order["id"], small).data["attributes"]["cost_amount_cents"] == 300
    order = new_order(api, shop, {"TSHIRT": 3})
    assert small["id"] not in available(api, order["id"])


def test_the_delivery_lead_time_of_a_shipment(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"TSHIRT": 1})
    milan = shop.locations[0]
    lead = api.create(
        "delivery_lead_times",
        {"min_hours": 36, "max_hours": 72},
        {
            "stock_location": ("stock_locations", milan.pk),
            "shipping_method": ("shipping_methods", shop.shipping_method.pk),
        },
    )
    assert (lead["attributes"]["min_days"], lead["attributes"]["max_days"]) == (2, 3)
    shipment = shipment_of(api, order["id"])
    r = api.get(f"shipments/{shipment['id']}", {"include": "delivery_lead_time"})
    assert r.data["relationships"]["delivery_lead_time"]["data"] == {
        "type": "delivery_lead_times",
        "id": lead["id"],
    }
    assert api.get(f"shipments/{shipment['id']}/delivery_lead_time").data["id"] == lead["id"]


def test_moving_the_shipping_address_itself_leaves_the_zone(api: Api, shop: Shop) -> None:
    """``PATCH /api/addresses/<id>`` of the order's own shipping address (not pointing the order elsewhere)
    prices the order again: the zone's method it chose no longer applies and the default takes over."""
    courier = method(
        api, shop, "Italian courier", 400, {"shipping_zone": zone(api, country_code_regex="^IT$")}
    )
    order = new_order(api, shop, {"TSHIRT": 1})
    assert choose(api, order["id"], courier).status == 200
    address = api.get(f"orders/{order['id']}/shipping_address").data
    r = api.update("addresses", address["id"], {"country_code": "DE", "city": "Berlin", "zip_code": "10115"})
    assert r.status == 200, r
    assert method_of(api, order["id"]) == shop.shipping_method.pk
    assert api.get(f"orders/{order['id']}").data["attributes"]["shipping_amount_cents"] == 700
