"""Bundles, SKU lists and SKU options, and the line items that take them, through the HTTP API: a bundle line
priced from its bundle, its SKUs checked, taken and given back with the order's stock; a SKU line's options
in its total and the order's (and its taxes); the options refused where they do not apply; tenancy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, document
from tests.orders.conftest import Shop, build_shop, new_order, place, problems, stock_of
from tests.orders.test_taxes import taxed_shop


def make_bundle(
    api: Api,
    shop: Shop,
    items: dict[str, int] | None = None,
    *,
    code: str = "KIT",
    price: int | None = 2500,
    **triggers: Any,
) -> dict[str, Any]:
    """A bundle of ``items`` (SKU code -> quantity), in the shop's market, at ``price``."""
    sku_list = api.create("sku_lists", {"name": f"{code} list"})
    for position, (sku_code, quantity) in enumerate((items or {"TSHIRT": 1, "MUG": 2}).items(), start=1):
        api.create(
            "sku_list_items",
            {"sku_code": sku_code, "quantity": quantity, "position": position},
            {"sku_list": sku_list},
        )
    attributes = {"code": code, "name": f"{code} bundle", "compare_at_amount_cents": 3500, **triggers}
    if price is not None:
        attributes["price_amount_cents"] = price
    bundle = api.create("bundles", attributes, {"market": ("markets", shop.market.pk), "sku_list": sku_list})
    return {**bundle, "sku_list_id": sku_list["id"]}


def engraving(api: Api, *, regex: str | None = "^TSHIRT$", price: int = 500, **more: Any) -> dict[str, Any]:
    return api.create(
        "sku_options",
        {
            "name": "Engraving",
            "currency_code": "EUR",
            "price_amount_cents": price,
            "delay_hours": 36,
            "sku_code_regex": regex,
            **more,
        },
    )


def add_bundle(api: Api, order_id: str, code: str = "KIT", quantity: int = 1) -> dict[str, Any]:
    return api.create(
        "line_items", {"bundle_code": code, "quantity": quantity}, {"order": ("orders", order_id)}
    )


def sku_line(api: Api, order_id: str, sku_code: str = "TSHIRT") -> dict[str, Any]:
    r = api.get(f"orders/{order_id}/line_items", {"filter[q][sku_code_eq]": sku_code})
    assert r.status == 200 and len(r.data) == 1, r
    return r.data[0]


def add_option(
    api: Api, line_id: str, option: dict[str, Any], quantity: int = 2, *, expect: int = 201
) -> dict[str, Any]:
    return api.create(
        "line_item_options",
        {"quantity": quantity, "options": {"text": "Ada"}},
        {"line_item": ("line_items", line_id), "sku_option": option},
        expect=expect,
    )


def test_bundles_sku_lists_and_options_as_served(api: Api, shop: Shop) -> None:
    bundle = make_bundle(api, shop, price=None, _compute_price_amount=True)
    attrs = bundle["attributes"]
    # 1 x 15.00 + 2 x 8.00, in the market's currency
    assert attrs["price_amount_cents"] == 3100 and attrs["currency_code"] == "EUR"
    assert attrs["formatted_price_amount"] == "€31,00" and attrs["price_amount_float"] == 31.0
    assert attrs["skus_count"] == 2 and attrs["do_not_ship"] is False and attrs["do_not_track"] is False
    skus = api.get(f"bundles/{bundle['id']}/skus").data
    assert sorted(s["attributes"]["code"] for s in skus) == ["MUG", "TSHIRT"]
    sku_list_id = bundle["sku_list_id"]
    r = api.get(f"sku_lists/{sku_list_id}", {"include": "sku_list_items,bundles"})
    assert r.data["attributes"]["slug"] == "kit-list" and r.data["attributes"]["manual"] is True
    items = sorted(
        (i["attributes"]["position"], i["attributes"]["sku_code"], i["attributes"]["quantity"])
        for i in r.json["included"]
        if i["type"] == "sku_list_items"
    )
    assert items == [(1, "TSHIRT", 1), (2, "MUG", 2)]
    assert [i["id"] for i in r.json["included"] if i["type"] == "bundles"] == [bundle["id"]]
    assert api.get("bundles", {"filter[q][sku_list_id_eq]": sku_list_id}).data[0]["id"] == bundle["id"]
    tshirt = shop.skus["TSHIRT"].pk
    assert [s["id"] for s in api.get(f"skus/{tshirt}/sku_lists").data] == [sku_list_id]

    option = engraving(api)
    assert (
        option["attributes"]["delay_days"] == 2 and option["attributes"]["formatted_price_amount"] == "€5,00"
    )


def test_what_the_catalog_refuses(api: Api, shop: Shop) -> None:
    by_regex = api.create("sku_lists", {"name": "Tees", "manual": False, "sku_code_regex": "^TSH"})
    r = api.post("sku_lists", document("sku_lists", {"name": "No rule", "manual": False}))
    assert r.status == 422 and "/data/attributes/sku_code_regex" in problems(r), r
    r = api.post("sku_lists", document("sku_lists", {"name": "Bad", "sku_code_regex": "(["}))
    assert r.status == 422 and "/data/attributes/sku_code_regex" in problems(r), r
    # A list by regular expression has no items, and sells no bundle.
    r = api.post("sku_list_items", document("sku_list_items", {"sku_code": "MUG"}, {"sku_list": by_regex}))
    assert r.status == 422 and "/data/relationships/sku_list" in problems(r), r
    r = api.post(
        "bundles",
        document(
            "bundles",
            {"code": "B", "name": "B", "price_amount_cents": 1},
            {"market": ("markets", shop.market.pk), "sku_list": by_regex},
        ),
    )
    assert r.status == 422 and "/data/relationships/sku_list" in problems(r), r
    make_bundle(api, shop)
    r = api.post(
        "bundles",
        document(
            "bundles",
            {"code": "KIT", "name": "Again", "price_amount_cents": 1},
            {"market": ("markets", shop.market.pk), "sku_list": by_regex},
        ),
    )
    assert r.status == 422 and "/data/attributes/code" in problems(r), r
    kit_list = api.get("bundles", {"include": "sku_list"}).json["included"][0]
    r = api.update("sku_lists", kit_list["id"], {"manual": False, "sku_code_regex": "^M"})
    assert r.status == 422 and "/data/attributes/manual" in problems(r), r
    # A new item without a position goes last; its quantity is 1.
    other = api.create("sku_lists", {"name": "Other"})
    for sku_code, position in (("MUG", 1), ("TSHIRT", 2)):
        item = api.create("sku_list_items", {"sku_code": sku_code}, {"sku_list": other})
        assert (item["attributes"]["position"], item["attributes"]["quantity"]) == (position, 1)
    r = api.post(
        "sku_options", document("sku_options", {"name": "Wrap", "currency_code": "EUR", "delay_hours": -1})
    )
    assert r.status == 422 and "/data/attributes/delay_hours" in problems(r), r


def test_a_cart_with_options_and_a_bundle_adds_up_to_the_cent(api: Api, shop: Shop) -> None:
    make_bundle(api, shop)
    option = engraving(api)
    order = new_order(api, shop, {"TSHIRT": 2})
    add_bundle(api, order["id"])
    line = sku_line(api, order["id"])
    added = add_option(api, line["id"], option, quantity=2)
    assert (
        added["attributes"]["unit_amount_cents"] == 500 and added["attributes"]["total_amount_cents"] == 1000
    )
    assert added["attributes"]["delay_hours"] == 36 and added["attributes"]["name"] == "Engraving"
    assert added["attributes"]["options"] == {"text": "Ada"}
    r = api.get(f"orders/{order['id']}", {"include": "line_items,line_item_options"})
    attrs = r.data["attributes"]
    lines = {
        i["attributes"]["sku_code"] or i["attributes"]["bundle_code"] or i["attributes"]["item_type"]: i
        for i in r.json["included"]
        if i["type"] == "line_items"
    }
    # TSHIRT: 2 x 15.00 + options 2 x 5.00 = 40.00; KIT: 1 x 25.00; subtotal 65.00; shipping 7.00 (free over 100)
    assert lines["TSHIRT"]["attributes"]["options_amount_cents"] == 1000
    assert lines["TSHIRT"]["attributes"]["total_amount_cents"] == 4000
    kit = lines["KIT"]["attributes"]
    assert (
        kit["item_type"],
        kit["unit_amount_cents"],
        kit["compare_at_amount_cents"],
        kit["total_amount_cents"],
    ) == ("bundles", 2500, 3500, 2500)
    assert api.get(f"line_items/{lines['KIT']['id']}/bundle").data["attributes"]["code"] == "KIT"
    assert (attrs["subtotal_amount_cents"], attrs["shipping_amount_cents"], attrs["total_amount_cents"]) == (
        6500,
        700,
        7200,
    )
    assert attrs["skus_count"] == 3 and attrs["line_item_options_count"] == 1
    assert [i["id"] for i in r.json["included"] if i["type"] == "line_item_options"] == [added["id"]]

    # A second unit of the bundle merges into its line (``_update_quantity``); changing the option reprices.
    api.create(
        "line_items",
        {"bundle_code": "KIT", "quantity": 1, "_update_quantity": True},
        {"order": ("orders", order["id"])},
    )
    r = api.update("line_item_options", added["id"], {"quantity": 1})
    assert r.status == 200 and r.data["attributes"]["total_amount_cents"] == 500, r
    attrs = api.get(f"orders/{order['id']}").data["attributes"]
    assert (attrs["subtotal_amount_cents"], attrs["total_amount_cents"]) == (3500 + 5000, 8500 + 700)
    assert api.delete(f"line_item_options/{added['id']}").status == 204
    attrs = api.get(f"orders/{order['id']}").data["attributes"]
    assert (attrs["subtotal_amount_cents"], attrs["line_item_options_count"]) == (8000, 0)


def test_options_and_bundles_are_taxed_as_goods(api: Api) -> None:
    shop, _rule = taxed_shop(api, code="TX", tax_included=False)
    make_bundle(api, shop, {"TSHIRT": 1, "MUG": 1}, price=2500)
    order = new_order(api, shop, {"TSHIRT": 2})
    add_bundle(api, order["id"])
    add_option(api, sku_line(api, order["id"])["id"], engraving(api), quantity=2)
    attrs = api.get(f"orders/{order['id']}").data["attributes"]
    # 22% added: TSHIRT 4000 (with its options) -> 880, KIT 2500 -> 550, shipping 700 -> 154, payment 300 -> 66
    assert attrs["subtotal_amount_cents"] == 6500 and attrs["subtotal_tax_amount_cents"] == 880 + 550
    assert attrs["total_tax_amount_cents"] == 880 + 550 + 154 + 66
    assert attrs["total_amount_with_taxes_cents"] == 6500 + 700 + 300 + 1650


def test_an_option_applies_only_where_its_regex_matches(api: Api, shop: Shop) -> None:
    make_bundle(api, shop)
    order = new_order(api, shop, {"TSHIRT": 1})
    line = sku_line(api, order["id"])
    r = api.post(
        "line_item_options",
        document(
            "line_item_options",
            {"quantity": 1, "options": {}},
            {"line_item": ("line_items", line["id"]), "sku_option": engraving(api, regex="^MUG$")},
        ),
    )
    assert r.status == 422 and "/data/relationships/sku_option" in problems(r), r
    assert r.json["errors"][0]["code"] == "VALIDATION_ERROR"
    usd = engraving(api, regex=None, currency_code="USD")
    assert add_option(api, line["id"], usd, expect=422)["errors"][0]["source"]["pointer"] == (
        "/data/relationships/sku_option"
    )
    kit = add_bundle(api, order["id"])
    r = api.post(
        "line_item_options",
        document(
            "line_item_options",
            {"quantity": 1, "options": {}},
            {"line_item": ("line_items", kit["id"]), "sku_option": engraving(api, regex=None)},
        ),
    )
    assert r.status == 422 and "/data/relationships/line_item" in problems(r), r
    assert api.get(f"orders/{order['id']}").data["attributes"]["line_item_options_count"] == 0


def test_placing_takes_each_bundle_sku_and_cancelling_gives_it_back(api: Api, shop: Shop) -> None:
    make_bundle(api, shop)  # TSHIRT x 1, MUG x 2
    order = new_order(api, shop, {"TSHIRT": 1})
    add_bundle(api, order["id"])
    before = stock_of(api, shop)
    r = place(api, order["id"])
    assert r.status == 200 and r.data["attributes"]["status"] == "placed", r
    after = stock_of(api, shop)
    assert after[("TSHIRT", "milan")] == before[("TSHIRT", "milan")] - 2
    assert after[("MUG", "milan")] == before[("MUG", "milan")] - 2
    assert after[("TSHIRT", "berlin")] == before[("TSHIRT", "berlin")]
    shipments = api.get(f"orders/{order['id']}/shipments").data
    assert len(shipments) == 1 and shipments[0]["attributes"]["skus_count"] == 2
    r = api.patch(f"orders/{order['id']}", document("orders", {"_cancel": True}, rid=order["id"]))
    assert r.status == 200 and r.data["attributes"]["status"] == "cancelled", r
    assert stock_of(api, shop) == before


def test_a_bundle_is_out_of_stock_when_one_of_its_skus_is(api: Api, shop: Shop) -> None:
    make_bundle(api, shop)  # MUG x 2 per bundle; 3 MUGs in stock
    order = new_order(api, shop, {"TSHIRT": 1})
    add_bundle(api, order["id"], quantity=2)
    before = stock_of(api, shop)
    r = place(api, order["id"])
    assert r.status == 422, r
    assert any(
        "MUG (bundle KIT) is out of stock (requested 4, available 3)" in t
        for t in problems(r)["/data/relationships/line_items"]
    ), r
    assert stock_of(api, shop) == before
    assert api.get(f"orders/{order['id']}").data["attributes"]["status"] == "pending"


def test_a_bundle_line_by_its_item_and_what_it_refuses(api: Api, shop: Shop) -> None:
    bundle = make_bundle(api, shop)
    order = new_order(api, shop, {"TSHIRT": 1}, ready=False)
    line = api.create("line_items", {"quantity": 2}, {"order": ("orders", order["id"]), "item": bundle})
    assert (line["attributes"]["bundle_code"], line["attributes"]["total_amount_cents"]) == ("KIT", 5000)
    r = api.update("line_items", line["id"], {"bundle_code": "OTHER"})
    assert r.status == 400 and r.error_codes == ["PARAM_NOT_ALLOWED"], r
    r = api.update("line_items", line["id"], {"quantity": 3})
    assert r.status == 200 and r.data["attributes"]["total_amount_cents"] == 7500, r
    r = api.post(
        "line_items",
        document(
            "line_items",
            {"bundle_code": "KIT", "quantity": 1, "frequency": "monthly"},
            {"order": ("orders", order["id"])},
        ),
    )
    assert r.status == 422 and "/data/attributes/frequency" in problems(r), r


def test_an_unknown_bundle_code_is_refused(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"TSHIRT": 1}, ready=False)
    r = api.post(
        "line_items",
        document("line_items", {"bundle_code": "NOPE", "quantity": 1}, {"order": ("orders", order["id"])}),
    )
    assert r.status == 422 and "/data/attributes/bundle_code" in problems(r), r


NEW_TYPES = ("sku_lists", "sku_list_items", "bundles", "sku_options", "line_item_options")


@pytest.mark.parametrize("theirs", ["other_org", "live_api"])
def test_other_organizations_and_modes_neither_see_nor_touch_them(
    api: Api, shop: Shop, theirs: str, request: pytest.FixtureRequest
) -> None:
    bundle = make_bundle(api, shop)
    option = engraving(api)
    order = new_order(api, shop, {"TSHIRT": 1}, ready=False)
    line_option = add_option(api, sku_line(api, order["id"])["id"], option, quantity=1)
    ours = {
        "bundles": bundle["id"],
        "sku_lists": bundle["sku_list_id"],
        "sku_list_items": api.get("sku_list_items").data[0]["id"],
        "sku_options": option["id"],
        "line_item_options": line_option["id"],
    }
    other: Api = request.getfixturevalue(theirs)
    for type_name in NEW_TYPES:
        rid = ours[type_name]
        assert other.get(type_name).data == []
        for r in (
            other.get(f"{type_name}/{rid}"),
            other.patch(f"{type_name}/{rid}", document(type_name, {"reference": "hijacked"}, rid=rid)),
            other.delete(f"{type_name}/{rid}"),
        ):
            assert r.status == 404 and r.error_codes == ["RECORD_NOT_FOUND"], (type_name, r)
        r = api.get(f"{type_name}/{rid}")
        assert r.status == 200 and r.data["attributes"]["reference"] is None
    # Their orders cannot take our bundle by its code, nor link our lists or options.
    their_shop = build_shop(other, code="THEIRS")
    their_order = new_order(other, their_shop, {"TSHIRT": 1}, ready=False)
    r = other.post(
        "line_items",
        document(
            "line_items", {"bundle_code": "KIT", "quantity": 1}, {"order": ("orders", their_order["id"])}
        ),
    )
    assert r.status == 422 and "/data/attributes/bundle_code" in problems(r), r
    r = other.post(
        "bundles",
        document(
            "bundles",
            {"code": "X", "name": "X", "price_amount_cents": 1},
            {"sku_list": ("sku_lists", ours["sku_lists"])},
        ),
    )
    assert r.status == 404 and r.error_codes == ["RECORD_NOT_FOUND"], r
    their_line = sku_line(other, their_order["id"])
    r = other.post(
        "line_item_options",
        document(
            "line_item_options",
            {"quantity": 1, "options": {}},
            {
                "line_item": ("line_items", their_line["id"]),
                "sku_option": ("sku_options", ours["sku_options"]),
            },
        ),
    )
    assert r.status == 404 and r.error_codes == ["RECORD_NOT_FOUND"], r


def test_refresh_takes_the_bundles_price_again(api: Api, shop: Shop) -> None:
    bundle = make_bundle(api, shop)
    order = new_order(api, shop, {"TSHIRT": 1}, ready=False)
    line = add_bundle(api, order["id"])
    assert api.update("bundles", bundle["id"], {"price_amount_cents": 2000}).status == 200
    assert api.get(f"line_items/{line['id']}").data["attributes"]["unit_amount_cents"] == 2500  # frozen
    r = api.patch(f"orders/{order['id']}", document("orders", {"_refresh": True}, rid=order["id"]))
    assert r.status == 200, r
    assert api.get(f"line_items/{line['id']}").data["attributes"]["total_amount_cents"] == 2000
    assert r.data["attributes"]["subtotal_amount_cents"] == 1500 + 2000


def test_a_sales_channel_reads_bundles_and_options_and_adds_them(api: Api, shop: Shop, make_api: Any) -> None:
    make_bundle(api, shop)
    option = engraving(api)
    channel = make_api(kind="sales_channel", scope=f"market:code:{shop.market.code}")
    assert [b["attributes"]["code"] for b in channel.get("bundles").data] == ["KIT"]
    assert [o["id"] for o in channel.get("sku_options").data] == [option["id"]]
    r = channel.post("bundles", document("bundles", {"code": "X", "name": "X"}))
    assert r.status == 401, r
    order = new_order(api, shop, {"TSHIRT": 1}, ready=False)
    add_bundle(channel, order["id"])
    line = sku_line(api, order["id"])
    r = channel.post(
        "line_item_options",
        document(
            "line_item_options",
            {"quantity": 1, "options": {}, "unit_amount_cents": 1},
            {"line_item": ("line_items", line["id"]), "sku_option": option},
        ),
    )
    assert r.status == 400, r  # a sales channel takes the option's price
    add_option(channel, line["id"], option, quantity=1)
    assert api.get(f"orders/{order['id']}").data["attributes"]["subtotal_amount_cents"] == 1500 + 500 + 2500


def test_placing_and_cancelling_bundles_costs_the_same_queries_whatever_their_number(api: Api) -> None:
    """The bundles' SKUs are read in one query and their stock in one locked read, however many bundle lines
    and SKUs: no query per SKU."""
    from orderfactory.catalog.models import Bundle, SkuList, SkuListItem
    from orderfactory.core import scope
    from orderfactory.orders.models import Order
    from orderfactory.orders.services import lines as order_lines
    from tests.orders.test_queries import queries_of

    skus = {f"S{i:02d}": (100, {"milan": 100, "berlin": 100}) for i in range(20)}
    shop = build_shop(api, skus=skus)
    assert place(api, new_order(api, shop, {"S00": 1})["id"]).status == 200  # the number sequence
    codes = list(skus)
    counts = []
    for size in (1, 10):
        order = new_order(api, shop, {"S00": 1})
        with scope.active(api.scope()):
            row = Order.objects.select_related("market").get(pk=order["id"])
            for i in range(size):
                sku_list = SkuList.objects.create(name=f"kit {size} {i}", slug=f"kit-{size}-{i}")
                for position, code in enumerate((codes[2 * i], codes[2 * i + 1]), start=1):
                    SkuListItem.objects.create(
                        sku_list=sku_list, sku=shop.skus[code], position=position, quantity=2
                    )
                bundle = Bundle.objects.create(
                    code=f"K{size}-{i}",
                    name="Kit",
                    currency_code="EUR",
                    price_amount_cents=150,
                    sku_list=sku_list,
                )
                order_lines.add_bundle_line_item(row, bundle=bundle, quantity=1, merge=False)
        placed, r = queries_of(lambda order=order: place(api, order["id"]))
        assert r.status == 200, r
        cancel = document("orders", {"_cancel": True}, rid=order["id"])
        cancelled, r = queries_of(
            lambda order=order, cancel=cancel: api.patch(f"orders/{order['id']}", cancel)
        )
        assert r.status == 200, r
        counts.append((placed, cancelled))
    print(f"queries (place, cancel) for 1 and 10 bundle lines: {counts}")
    assert counts[0] == counts[1], counts
