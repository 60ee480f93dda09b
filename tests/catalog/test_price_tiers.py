"""price_volume_tiers, price_frequency_tiers, the price_tiers list and prices' tier relationships over HTTP."""

from __future__ import annotations

import pytest

from orderfactory.catalog import tiers
from tests.catalog import build


@pytest.fixture
def price(api):
    category = build.shipping_category(api)
    sku = build.sku(api, "tshirt", category)
    return api.create("prices", {"amount_cents": 1500}, {"price_list": build.price_list(api), "sku": sku})


def tier(api, price, kind="price_volume_tiers", **attributes):
    return api.create(kind, {"name": "tier", "price_amount_cents": 1000, **attributes}, {"price": price})


def test_a_volume_tier_is_served_as_commerce_layer_serves_it(api, price):
    created = tier(api, price, up_to=10, price_amount_cents=1200)
    attrs = created["attributes"]
    assert (attrs["type"], attrs["up_to"], attrs["price_amount_cents"]) == ("price_volume_tiers", 10, 1200)
    assert (attrs["price_amount_float"], attrs["formatted_price_amount"]) == (12.0, "€12,00")
    r = api.get(f"price_volume_tiers/{created['id']}", {"include": "price"})
    assert r.data["relationships"]["price"]["data"] == {"type": "prices", "id": price["id"]}
    r = api.update("price_volume_tiers", created["id"], {"up_to": None, "name": "beyond"})
    assert r.status == 200, r
    assert (r.data["attributes"]["up_to"], r.data["attributes"]["name"]) == (None, "beyond")


def test_price_tiers_lists_both_types_read_only(api, price):
    volume = tier(api, price, up_to=10)
    frequency = tier(api, price, "price_frequency_tiers", up_to=30)
    listed = {row["id"]: row["attributes"]["type"] for row in api.get("price_tiers").data}
    assert listed == {volume["id"]: "price_volume_tiers", frequency["id"]: "price_frequency_tiers"}
    # Each typed list has its own type only.
    assert [row["id"] for row in api.get("price_volume_tiers").data] == [volume["id"]]
    assert api.get(f"price_frequency_tiers/{volume['id']}").status == 404
    body = {"data": {"type": "price_tiers", "attributes": {"name": "x", "price_amount_cents": 1}}}
    assert api.post("price_tiers", body).status == 405
    r = api.get(f"prices/{price['id']}", {"include": "price_tiers,price_volume_tiers,price_frequency_tiers"})
    rels = r.data["relationships"]
    assert {d["id"] for d in rels["price_tiers"]["data"]} == {volume["id"], frequency["id"]}
    assert [d["id"] for d in rels["price_volume_tiers"]["data"]] == [volume["id"]]
    assert rels["price_frequency_tiers"]["data"] == [{"type": "price_frequency_tiers", "id": frequency["id"]}]
    r = api.get("prices", {"filter[q][price_tiers_id_eq]": volume["id"]})
    assert [row["id"] for row in r.data] == [price["id"]]


def test_a_tier_reports_every_problem_at_once(api, price):
    r = api.post(
        "price_volume_tiers",
        {"data": {"type": "price_volume_tiers", "attributes": {"name": " ", "up_to": -1}}},
    )
    assert r.status == 422, r
    assert sorted(e["source"]["pointer"] for e in r.json["errors"]) == [
        "/data/attributes/name",
        "/data/attributes/price_amount_cents",
        "/data/attributes/up_to",
        "/data/relationships/price",
    ]
    tier(api, price, up_to=10)
    r = api.post(
        "price_volume_tiers",
        {
            "data": {
                "type": "price_volume_tiers",
                "attributes": {"name": "again", "up_to": 10, "price_amount_cents": 1},
                "relationships": {"price": {"data": {"type": "prices", "id": price["id"]}}},
            }
        },
    )
    assert r.status == 422 and r.json["errors"][0]["source"]["pointer"] == "/data/attributes/up_to"
    # The same bound in the other type is another tier.
    tier(api, price, "price_frequency_tiers", up_to=10)


def test_a_price_takes_at_most_ten_tiers(api, price):
    for up_to in range(1, 11):
        tier(api, price, up_to=up_to)
    r = api.post(
        "price_volume_tiers",
        {
            "data": {
                "type": "price_volume_tiers",
                "attributes": {"name": "eleventh", "price_amount_cents": 1},
                "relationships": {"price": {"data": {"type": "prices", "id": price["id"]}}},
            }
        },
    )
    assert r.status == 422 and r.json["errors"][0]["source"]["pointer"] == "/data/relationships/price"


def test_linking_tiers_to_a_price_moves_them(api, price):
    moved = tier(api, price, up_to=5)
    category = build.shipping_category(api, "Other")
    other = api.create(
        "prices",
        {"amount_cents": 900},
        {"price_list": build.price_list(api, "Other"), "sku": build.sku(api, "mug", category)},
    )
    r = api.update("prices", other["id"], None, {"price_tiers": [("price_tiers", moved["id"])]})
    assert r.status == 200, r
    linked = api.get(f"price_volume_tiers/{moved['id']}", {"include": "price"})
    assert linked.data["relationships"]["price"]["data"]["id"] == other["id"]


@pytest.mark.parametrize("stranger", ["other_org", "live_api"])
def test_another_organization_or_mode_cannot_read_or_write_them(request, api, price, stranger):
    other = request.getfixturevalue(stranger)
    volume = tier(api, price, up_to=10)
    frequency = tier(api, price, "price_frequency_tiers", up_to=30)
    owned = [
        ("price_volume_tiers", volume["id"]),
        ("price_frequency_tiers", frequency["id"]),
        ("price_tiers", volume["id"]),
    ]
    for type_name, rid in owned:
        assert other.get(type_name).data == [], type_name
        assert other.get(f"{type_name}/{rid}").status == 404, type_name
    for type_name, rid in owned[:2]:
        assert other.update(type_name, rid, {"name": "mine"}).status == 404, type_name
        assert other.delete(f"{type_name}/{rid}").status == 404, type_name
    r = other.post(
        "price_volume_tiers",
        {
            "data": {
                "type": "price_volume_tiers",
                "attributes": {"name": "x", "price_amount_cents": 1},
                "relationships": {"price": {"data": {"type": "prices", "id": price["id"]}}},
            }
        },
    )
    assert r.status == 404
    assert api.get(f"price_volume_tiers/{volume['id']}").data["attributes"]["name"] == "tier"


# --- the lookup -------------------------------------------------------------------------------------------

VOLUME = [
    tiers.Tier("price_volume_tiers", 5, 1400),
    tiers.Tier("price_volume_tiers", 20, 1200),
    tiers.Tier("price_volume_tiers", None, 1000),
]
FREQUENCY = [tiers.Tier("price_frequency_tiers", 7, 600), tiers.Tier("price_frequency_tiers", 30, 1100)]


@pytest.mark.parametrize(
    ("quantity", "frequency", "expected"),
    [
        (1, None, 1400),
        (5, None, 1400),
        (6, None, 1200),
        (10, None, 1200),
        (50, None, 1000),
        (1, "weekly", 600),
        (1, "monthly", 1100),
        (10, "monthly", 1100),  # both apply: the lower wins
        (10, "daily", 600),
        (10, "yearly", 1200),  # no frequency tier matches and none is beyond: the volume tier
        (10, "0 9 * * 1", 600),  # a crontab runs weekly
    ],
)
def test_a_unit_price_follows_the_tier_of_its_quantity_and_frequency(quantity, frequency, expected):
    assert tiers.unit_amount_cents(1500, VOLUME + FREQUENCY, quantity, frequency) == expected


def test_without_a_matching_tier_the_price_is_its_amount():
    assert tiers.unit_amount_cents(1500, VOLUME[:2], 50, None) == 1500
    assert tiers.unit_amount_cents(1500, FREQUENCY, 1, None) == 1500
    assert tiers.unit_amount_cents(1500, [], 3, "monthly") == 1500
