"""A copy and gift cards (docs/decisions.md, "Gift cards"): the source's gift_card_code comes over while its
card can still pay, at the balance left now (the balance the source took is never spent twice), and is
dropped with an errors_details entry when it cannot; a gift card the source sold is not sold again."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, document
from tests.factories.conftest import place
from tests.factories.test_copy import run_copy
from tests.giftcards.test_gift_cards import gift_card
from tests.orders.conftest import Shop, line_items, new_order


def placed_with_card(
    api: Api, shop: Shop, balance: int, **card: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A placed order of 2 TSHIRT (3000 + 700 shipping) paying with a card of ``balance``."""
    gift = gift_card(api, balance, code="GIFT1234-ABC", **card)
    order = new_order(api, shop, {"TSHIRT": 2})
    assert api.update("orders", order["id"], {"gift_card_code": "GIFT1234-ABC"}).status == 200
    r = place(api, order["id"])
    assert r.status == 200, r
    return r.data, gift


def test_the_code_comes_over_at_the_balance_left_and_placing_the_copy_takes_only_that(
    api: Api, shop: Shop
) -> None:
    source, card = placed_with_card(api, shop, 5000)
    assert api.get(f"gift_cards/{card['id']}").data["attributes"]["balance_cents"] == 1300
    factory, target = run_copy(api, source["id"])
    assert factory["attributes"]["status"] == "completed", factory["attributes"]["errors_log"]
    assert factory["attributes"]["errors_log"] == {}
    t = target["attributes"]
    assert (t["gift_card_code"], t["gift_card_amount_cents"], t["total_amount_cents"]) == (
        "GIFT1234-ABC",
        -1300,
        3700 - 1300,
    )
    # The wire transfer is not in the customer's wallet, so the copy has none: given here, then placed.
    transfer = api.create("wire_transfers", {}, None)
    assert api.update("orders", target["id"], relationships={"payment_source": transfer}).status == 200
    r = place(api, target["id"])
    assert r.status == 200, r
    after = api.get(f"gift_cards/{card['id']}").data["attributes"]
    assert after["balance_cents"] == 0
    # One use per order, keyed by the order's id (a JSON object: PostgreSQL keeps no key order).
    assert sorted(e["amount_cents"] for entries in after["usage_log"].values() for e in entries) == [
        -3700,
        -1300,
    ]
    assert [e["amount_cents"] for e in after["usage_log"][target["id"]]] == [-1300]


def test_a_spent_card_is_dropped_from_the_copy_which_says_why(api: Api, shop: Shop) -> None:
    source, card = placed_with_card(api, shop, 3000)  # all of it taken
    factory, target = run_copy(api, source["id"])
    attrs = factory["attributes"]
    assert attrs["status"] == "completed"
    assert attrs["errors_log"] == {
        "gift_card_code": ["the gift card has no balance left: dropped from the copy"]
    }
    assert [(d["attribute"], d["code"]) for d in attrs["errors_details"]] == [
        ("gift_card_code", "gift_card_dropped")
    ]
    t = target["attributes"]
    assert (t["gift_card_code"], t["gift_card_amount_cents"], t["total_amount_cents"]) == (None, 0, 3700)
    assert api.get(f"gift_cards/{card['id']}").data["attributes"]["balance_cents"] == 0


def test_a_gift_card_the_source_sold_is_not_sold_again(api: Api, shop: Shop) -> None:
    card = gift_card(api, 5000, active=False)
    order = new_order(api, shop, {"TSHIRT": 1})
    r = api.post("line_items", document("line_items", {"quantity": 1}, {"order": order, "item": card}))
    assert r.status == 201, r
    assert place(api, order["id"]).status == 200
    factory, target = run_copy(api, order["id"])
    attrs = factory["attributes"]
    assert attrs["status"] == "completed"
    assert attrs["errors_log"] == {"gift_cards": ["a gift card is sold once: not copied"]}
    assert [d["code"] for d in attrs["errors_details"]] == ["gift_card_not_copied"]
    assert line_items(api, target["id"], "gift_cards") == []
    assert target["attributes"]["subtotal_amount_cents"] == 1500


def test_a_preview_shows_the_card_at_its_balance_of_now_and_takes_nothing(api: Api, shop: Shop) -> None:
    from tests.factories.test_previews import preview

    source, card = placed_with_card(api, shop, 5000)  # 1300 left
    r = preview(api, source["id"])
    assert r.status == 201, r
    a = r.data["attributes"]
    # (the wire transfer is not in the wallet: the preview says placing would need a payment source)
    assert "gift_card_code" not in a["errors_log"] and a["total_amount_cents"] == 3700 - 1300
    assert api.get(f"gift_cards/{card['id']}").data["attributes"]["balance_cents"] == 1300
    api.update("gift_cards", card["id"], {"_balance_change_cents": -1300})
    a = preview(api, source["id"]).data["attributes"]
    assert a["errors_log"]["gift_card_code"] == ["the gift card has no balance left: dropped from the copy"]
    assert a["total_amount_cents"] == 3700
