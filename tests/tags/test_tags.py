"""Tags (docs/decisions.md, "Tags"): the resource and its name rules, and tagging every taggable resource the
same way, through its ``tags`` relationship or its ``_add_tags`` / ``_remove_tags`` triggers, with lists that
include and filter by tags."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orderfactory.jsonapi import registry
from tests.conftest import Api, document
from tests.factories.conftest import subscription
from tests.orders.conftest import ADDRESS, Shop, _create_order, coupon, new_order, place

# GET /api/addresses?include=tags: the count, the page, and the tags of the page's rows (one join of tags and
# their links), whatever the number of rows and tags.
LIST_WITH_TAGS_QUERIES = 3


def meta_codes(r: Any) -> list[str]:
    return [e["meta"].get("error") for e in r.json["errors"]]


def tag(api: Api, name: str) -> dict[str, Any]:
    return api.create("tags", {"name": name})


def tags_of(api: Api, type_name: str, rid: str) -> list[str]:
    r = api.get(f"{type_name}/{rid}", {"include": "tags"})
    assert r.status == 200, r
    ids = [t["id"] for t in r.data["relationships"]["tags"]["data"]]
    names = {o["id"]: o["attributes"]["name"] for o in r.json.get("included", []) if o["type"] == "tags"}
    return sorted(names[i] for i in ids)


def trigger(api: Api, type_name: str, rid: str, **triggers: str) -> Any:
    return api.patch(f"{type_name}/{rid}", document(type_name, triggers, rid=rid))


# --- the tags resource ------------------------------------------------------------------------------------


def test_a_tag_name_is_stored_lower_case_and_unique_in_its_environment(api: Api) -> None:
    created = tag(api, "New_Campaign:2026-A")
    assert created["attributes"]["name"] == "new_campaign:2026-a"
    again = api.post("tags", document("tags", {"name": "NEW_campaign:2026-a"}))
    assert again.status == 422 and meta_codes(again) == ["taken"], again
    renamed = api.update("tags", created["id"], {"name": "Summer"})
    assert renamed.status == 200 and renamed.data["attributes"]["name"] == "summer"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("has space", "invalid"),
        ("dot.ted", "invalid"),
        ("é", "invalid"),
        ("a" * 26, "too_long"),
        ("", "blank"),
    ],
)
def test_a_tag_name_follows_commerce_layers_rules(api: Api, name: str, code: str) -> None:
    r = api.post("tags", document("tags", {"name": name}))
    assert r.status == 422 and meta_codes(r) == [code], r
    assert r.json["errors"][0]["source"]["pointer"] == "/data/attributes/name"


def test_twenty_five_characters_is_the_longest_name(api: Api) -> None:
    assert tag(api, "a" * 25)["attributes"]["name"] == "a" * 25


# --- tagging ----------------------------------------------------------------------------------------------


def test_the_tags_relationship_replaces_a_rows_tags(api: Api) -> None:
    a, b, c = tag(api, "a"), tag(api, "b"), tag(api, "c")
    address = api.create("addresses", ADDRESS, {"tags": [a, b]})
    assert tags_of(api, "addresses", address["id"]) == ["a", "b"]
    r = api.update("addresses", address["id"], relationships={"tags": [c, c]})
    assert r.status == 200, r
    assert tags_of(api, "addresses", address["id"]) == ["c"]
    linkage = api.get(f"addresses/{address['id']}/relationships/tags").json
    assert linkage == {"data": [{"type": "tags", "id": c["id"]}]}
    related = api.get(f"addresses/{address['id']}/tags")
    assert [t["attributes"]["name"] for t in related.data] == ["c"]
    r = api.patch(
        f"addresses/{address['id']}",
        {"data": {"type": "addresses", "id": address["id"], "relationships": {"tags": {"data": []}}}},
    )
    assert r.status == 200 and tags_of(api, "addresses", address["id"]) == []


def test_an_unknown_tag_in_the_relationship_is_not_found(api: Api) -> None:
    address = api.create("addresses", ADDRESS)
    r = api.update("addresses", address["id"], relationships={"tags": [("tags", "XAyRWNUzyN")]})
    assert r.status == 404 and r.error_codes == ["RECORD_NOT_FOUND"], r
    assert r.json["errors"][0]["source"]["pointer"] == "/data/relationships/tags"


def test_add_then_remove_by_name_discarding_unknown_invalid_and_duplicate_names(api: Api, shop: Shop) -> None:
    for name in ("vip", "gold", "b2b"):
        tag(api, name)
    customer = api.create("customers", {"email": "ada@example.com"})
    r = trigger(api, "customers", customer["id"], _add_tags="VIP, gold,gold,nope,not valid,")
    assert r.status == 200, r
    assert tags_of(api, "customers", customer["id"]) == ["gold", "vip"]
    # Removal comes after addition, as Commerce Layer applies them.
    r = trigger(api, "customers", customer["id"], _add_tags="b2b", _remove_tags="gold,b2b,nope")
    assert r.status == 200, r
    assert tags_of(api, "customers", customer["id"]) == ["vip"]
    sku = shop.skus["MUG"].pk
    assert trigger(api, "skus", sku, _add_tags="gold,b2b").status == 200
    assert tags_of(api, "skus", sku) == ["b2b", "gold"]
    method = shop.shipping_method.pk
    assert trigger(api, "shipping_methods", method, _add_tags="gold").status == 200
    assert tags_of(api, "shipping_methods", method) == ["gold"]


def test_orders_their_lines_and_shipments_are_tagged_even_once_placed(api: Api, shop: Shop) -> None:
    tag(api, "rush")
    tag(api, "gift")
    order = new_order(api, shop)
    assert place(api, order["id"]).status == 200
    # Only tags in the PATCH: a placed order is tagged, as Commerce Layer allows.
    assert trigger(api, "orders", order["id"], _add_tags="rush,gift").status == 200
    assert tags_of(api, "orders", order["id"]) == ["gift", "rush"]
    line = api.get(f"orders/{order['id']}/line_items", {"filter[q][item_type_eq]": "skus"}).data[0]
    assert trigger(api, "line_items", line["id"], _add_tags="gift").status == 200
    assert tags_of(api, "line_items", line["id"]) == ["gift"]
    shipment = api.get(f"orders/{order['id']}/shipments").data[0]
    assert trigger(api, "shipments", shipment["id"], _add_tags="rush").status == 200
    assert tags_of(api, "shipments", shipment["id"]) == ["rush"]
    # With another change the order's own rules still apply: a placed order's attributes stay refused.
    r = trigger(api, "orders", order["id"], _remove_tags="rush", customer_email="bob@example.com")
    assert r.status == 422, r
    assert tags_of(api, "orders", order["id"]) == ["gift", "rush"]


def test_at_most_ten_tags_on_a_row(api: Api) -> None:
    tags = [tag(api, f"t{n}") for n in range(11)]
    address = api.create("addresses", ADDRESS, {"tags": tags[:10]})
    r = trigger(api, "addresses", address["id"], _add_tags="t10")
    assert r.status == 422 and meta_codes(r) == ["too_long"], r
    assert r.json["errors"][0]["source"]["pointer"] == "/data/relationships/tags"
    r = api.post("addresses", document("addresses", ADDRESS, {"tags": tags}))
    assert r.status == 422 and meta_codes(r) == ["too_long"], r
    assert len(tags_of(api, "addresses", address["id"])) == 10


def test_deleting_a_tag_untags_every_row(api: Api) -> None:
    gone, kept = tag(api, "gone"), tag(api, "kept")
    address = api.create("addresses", ADDRESS, {"tags": [gone, kept]})
    assert api.delete(f"tags/{gone['id']}").status == 204
    assert tags_of(api, "addresses", address["id"]) == ["kept"]


def test_lists_filter_by_tag_name_and_id(api: Api) -> None:
    vip, other = tag(api, "vip"), tag(api, "other")
    tagged = api.create("addresses", ADDRESS, {"tags": [vip, other]})
    plain = api.create("addresses", ADDRESS)
    api.create("addresses", ADDRESS, {"tags": [other]})

    def ids(params: dict[str, str]) -> set[str]:
        r = api.get("addresses", {**params, "page[size]": "25"})
        assert r.status == 200, r
        return {a["id"] for a in r.data}

    assert ids({"filter[q][tags_name_eq]": "vip"}) == {tagged["id"]}
    assert ids({"filter[q][tags_name_in]": "vip,other"}) == ids({"filter[q][tags_id_not_null]": "true"})
    assert len(ids({"filter[q][tags_name_in]": "vip,other"})) == 2  # listed once, however many tags match
    assert ids({"filter[q][tags_id_eq]": vip["id"]}) == {tagged["id"]}
    assert ids({"filter[q][tags_id_null]": "true"}) == {plain["id"]}


def test_a_list_with_its_tags_costs_the_same_queries_for_2_and_12_rows(api: Api) -> None:
    tags = [tag(api, f"t{n}") for n in range(3)]
    counts = []
    for total in (2, 12):
        while len(api.get("addresses", {"page[size]": "25"}).data) < total:
            api.create("addresses", ADDRESS, {"tags": tags})
        with CaptureQueriesContext(connection) as captured:
            r = api.get("addresses", {"include": "tags", "page[size]": "25"})
        assert r.status == 200 and len(r.data) == total, r
        assert all(len(a["relationships"]["tags"]["data"]) == 3 for a in r.data)
        assert sorted(o["id"] for o in r.json["included"]) == sorted(t["id"] for t in tags)
        counts.append(len(captured.captured_queries))
    assert counts == [LIST_WITH_TAGS_QUERIES] * 2


def test_every_resource_with_tags_writes_them() -> None:
    """A `tags` relationship declared by hand would be served but never written: each comes from @tagged."""
    for resource in registry.all_resources().values():
        if resource.relationship("tags") is not None:
            assert list(resource.side_writes) == ["tags", "_add_tags", "_remove_tags"], resource.type


def test_coupons_promotions_and_subscriptions_are_tagged(api: Api, shop: Shop) -> None:
    tag(api, "summer")
    made = coupon(api)
    promotion = api.get(f"coupons/{made['id']}/promotion_rule").data
    promotion_id = api.get(f"coupon_codes_promotion_rules/{promotion['id']}/promotion").data["id"]
    order = new_order(api, shop)
    assert place(api, order["id"]).status == 200
    subscription_id = subscription(api, order["id"]).pk
    for type_name, rid in (
        ("coupons", made["id"]),
        ("percentage_discount_promotions", promotion_id),
        ("order_subscriptions", subscription_id),
    ):
        r = trigger(api, type_name, rid, _add_tags="summer")
        assert r.status == 200, (type_name, r)
        assert tags_of(api, type_name, rid) == ["summer"], type_name
        assert [o["id"] for o in api.get(type_name, {"filter[q][tags_name_eq]": "summer"}).data] == [rid]


def test_a_sales_channel_cannot_tag(api: Api, shop: Shop, make_api: Any) -> None:
    vip = tag(api, "vip")
    storefront = make_api(kind="sales_channel", scope=f"market:code:{shop.market.code}")
    order = _create_order(storefront, shop, "ada@example.com")
    r = trigger(storefront, "orders", order["id"], _add_tags="vip")
    assert r.status == 400 and r.error_codes == ["PARAM_NOT_ALLOWED"], r
    assert r.json["errors"][0]["source"]["pointer"] == "/data/attributes/_add_tags"
    r = storefront.update("orders", order["id"], relationships={"tags": [vip]})
    assert r.status == 400 and r.error_codes == ["PARAM_NOT_ALLOWED"], r
    assert tags_of(api, "orders", order["id"]) == []


# --- tenancy ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["other_org", "live_api"])
def test_tags_of_another_environment_are_invisible_and_unusable(
    api: Api, caller: str, request: pytest.FixtureRequest
) -> None:
    theirs: Api = request.getfixturevalue(caller)
    ours = tag(api, "vip")
    assert theirs.get(f"tags/{ours['id']}").status == 404
    assert theirs.get("tags").data == []
    assert theirs.patch(f"tags/{ours['id']}", document("tags", {"name": "x"}, rid=ours["id"])).status == 404
    address = theirs.create("addresses", ADDRESS)
    r = theirs.update("addresses", address["id"], relationships={"tags": [ours]})
    assert r.status == 404 and r.error_codes == ["RECORD_NOT_FOUND"], r
    # Their own tag of the same name is theirs alone; ours is not found by name either.
    assert trigger(theirs, "addresses", address["id"], _add_tags="vip").status == 200
    assert tags_of(theirs, "addresses", address["id"]) == []
    own = tag(theirs, "vip")
    assert trigger(theirs, "addresses", address["id"], _add_tags="vip").status == 200
    assert theirs.get(f"addresses/{address['id']}/relationships/tags").json["data"] == [
        {"type": "tags", "id": own["id"]}
    ]
    assert api.get("addresses", {"filter[q][tags_name_eq]": "vip"}).data == []
