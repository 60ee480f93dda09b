"""Gift cards on orders over HTTP: a code redeems a card (the total reduced up to its balance, to the cent),
placing takes the balance and cancel gives it back, a code the order cannot use is a 422, and a card sold as a
line item becomes active when the order is paid."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from orderfactory.core import clock
from orderfactory.giftcards.models import GiftCard
from tests.conftest import Api, document
from tests.giftcards.test_gift_cards import gift_card
from tests.orders import test_external_gateway as external
from tests.orders.conftest import Shop, build_shop, line_items, new_order, place, place_at_once, problems
from tests.orders.test_external_gateway import DECLINE, Gateway, paid_externally

gateway = external.gateway  # the local external gateway fixture


def card_of(api: Api, card: dict[str, Any]) -> dict[str, Any]:
    return api.get(f"gift_cards/{card['id']}").data["attributes"]


def redeem(api: Api, order: dict[str, Any], code: str) -> Any:
    return api.update("orders", order["id"], {"gift_card_code": code})


def test_a_code_pays_up_to_the_balance_to_the_cent(api: Api, shop: Shop) -> None:
    card = gift_card(api, 2050, code="GIFT1234-ABC")
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})  # 3000 + 800, shipping 700
    r = redeem(api, order, "GIFT1234-ABC")
    assert r.status == 200, r
    a = r.data["attributes"]
    assert (a["subtotal_amount_cents"], a["shipping_amount_cents"]) == (3800, 700)
    assert (a["gift_card_amount_cents"], a["gift_card_amount_float"], a["formatted_gift_card_amount"]) == (
        -2050,
        -20.5,
        "-€20,50",
    )
    assert (a["total_amount_cents"], a["total_amount_with_taxes_cents"]) == (4500 - 2050, 4500 - 2050)
    # The card's line, as Commerce Layer shows it: kind gift_cards, a negative amount, untaxed.
    [line] = line_items(api, order["id"], "gift_cards")
    li = line["attributes"]
    assert (li["name"], li["quantity"], li["unit_amount_cents"], li["total_amount_cents"]) == (
        "Gift card",
        1,
        -2050,
        -2050,
    )
    assert li["tax_amount_cents"] == 0
    assert api.get(f"line_items/{line['id']}/gift_card").data["id"] == card["id"]
    # Pricing takes nothing from the card; placing does.
    assert card_of(api, card)["balance_cents"] == 2050

    removed = redeem(api, order, "")
    assert removed.data["attributes"]["gift_card_code"] is None
    assert (
        removed.data["attributes"]["gift_card_amount_cents"],
        removed.data["attributes"]["total_amount_cents"],
    ) == (
        0,
        4500,
    )
    assert line_items(api, order["id"], "gift_cards") == []


def test_a_card_worth_more_than_the_order_pays_it_all_and_keeps_the_rest(api: Api, shop: Shop) -> None:
    card = gift_card(api, 10000, code="GIFT1234-ABC")
    order = new_order(api, shop, {"TSHIRT": 1})  # 1500 + 700
    a = redeem(api, order, "GIFT1234-ABC").data["attributes"]
    assert (a["gift_card_amount_cents"], a["total_amount_cents"]) == (-2200, 0)
    r = place(api, order["id"])
    assert r.status == 200, r
    assert r.data["attributes"]["payment_status"] == "free"
    after = card_of(api, card)
    assert (after["balance_cents"], after["status"]) == (7800, "active")
    [use] = after["usage_log"][order["id"]]
    assert (use["action"], use["amount_cents"], use["balance_cents"], use["order_number"]) == (
        "use",
        -2200,
        7800,
        r.data["attributes"]["number"],
    )


def test_placing_takes_the_balance_and_cancel_gives_it_back(api: Api, shop: Shop) -> None:
    card = gift_card(api, 1000, code="GIFT1234-ABC", single_use=True)
    order = new_order(api, shop, {"TSHIRT": 2})  # 3700
    redeem(api, order, "GIFT1234-ABC")
    r = place(api, order["id"])
    assert r.status == 200, r
    assert r.data["attributes"]["payment_status"] == "authorized"
    [authorization] = api.get(f"orders/{order['id']}/authorizations").data
    assert authorization["attributes"]["amount_cents"] == 2700
    assert (card_of(api, card)["balance_cents"], card_of(api, card)["status"]) == (0, "redeemed")

    r = api.update("orders", order["id"], {"_cancel": True})
    assert r.status == 200 and r.data["attributes"]["status"] == "cancelled", r
    after = card_of(api, card)
    assert (after["balance_cents"], after["status"]) == (1000, "active")
    assert [e["action"] for e in after["usage_log"][order["id"]]] == ["use", "restore"]
    assert [e["balance_change_cents"] for e in after["balance_log"]] == [-1000, 1000]


def test_codes_an_order_cannot_use_are_422_on_gift_card_code(api: Api, shop: Shop, other_org: Api) -> None:
    gift_card(api, 1000, code="DRAFT123-ABC", active=False)
    gift_card(api, 1000, code="EXPIRES1-ABC", expires_at="2030-01-01T00:00:00.000Z")
    gift_card(api, 1000, code="DOLLARS1-ABC", currency_code="USD")
    gift_card(api, 0, code="EMPTY123-ABC")
    gift_card(other_org, 1000, code="THEIRS12-ABC")
    order = new_order(api, shop, {"TSHIRT": 1})
    expected = {
        "NOSUCHCARD": "invalid",
        "GIFT1234": "invalid",  # a prefix is no match: codes match exactly
        "DRAFT123-ABC": "inactive",
        "DOLLARS1-ABC": "currency_mismatch",
        "EMPTY123-ABC": "no_balance",
        "THEIRS12-ABC": "invalid",  # another organization's card does not exist here
    }
    for code, error in expected.items():
        r = redeem(api, order, code)
        assert r.status == 422, (code, r)
        assert list(problems(r)) == ["/data/attributes/gift_card_code"], r
        assert r.json["errors"][0]["meta"]["error"] == error, (code, r)
    with clock.frozen(dt.datetime(2030, 1, 2, tzinfo=dt.UTC)):
        r = redeem(api, order, "EXPIRES1-ABC")
    assert r.status == 422 and r.json["errors"][0]["meta"]["error"] == "expired", r
    a = api.get(f"orders/{order['id']}").data["attributes"]
    assert (a["gift_card_code"], a["gift_card_amount_cents"]) == (None, 0)


def test_a_card_deactivated_after_it_was_given_fails_the_place(api: Api, shop: Shop) -> None:
    card = gift_card(api, 1000, code="GIFT1234-ABC")
    order = new_order(api, shop, {"TSHIRT": 1})
    redeem(api, order, "GIFT1234-ABC")
    api.update("gift_cards", card["id"], {"_deactivate": True})
    r = place(api, order["id"])
    assert r.status == 422 and problems(r) == {
        "/data/attributes/gift_card_code": ["the gift card is inactive"]
    }, r
    assert card_of(api, card)["balance_cents"] == 1000


@pytest.mark.parametrize("tax_included", [True, False])
def test_the_gift_card_reduces_what_is_paid_not_what_is_taxed(api: Api, tax_included: bool) -> None:
    from tests.orders.test_taxes import QUANTITIES, taxed_shop

    shop, rule = taxed_shop(api, code="TX", tax_included=tax_included)
    # gift_card_taxable is about the cards an order sells: it never taxes the one it redeems.
    assert api.update("tax_rules", rule["id"], {"gift_card_taxable": True}).status == 200
    order = new_order(api, shop, QUANTITIES)
    before = api.get(f"orders/{order['id']}").data["attributes"]
    gift_card(api, 1000, code="GIFT1234-ABC")
    a = redeem(api, order, "GIFT1234-ABC").data["attributes"]
    assert a["total_tax_amount_cents"] == before["total_tax_amount_cents"] > 0
    assert a["total_taxable_amount_cents"] == before["total_taxable_amount_cents"]
    assert a["total_amount_cents"] == before["total_amount_cents"] - 1000
    assert a["total_amount_with_taxes_cents"] == before["total_amount_with_taxes_cents"] - 1000
    again = api.update("orders", order["id"], {"_update_taxes": True}).data["attributes"]
    assert again["total_tax_amount_cents"] == before["total_tax_amount_cents"]


def test_without_tax_in_prices_a_card_covering_the_total_leaves_the_tax_to_pay(api: Api) -> None:
    from tests.orders.test_taxes import QUANTITIES, taxed_shop

    shop, _rule = taxed_shop(api, code="TX", tax_included=False)
    order = new_order(api, shop, QUANTITIES)
    gift_card(api, 100000, code="GIFT1234-ABC")
    a = redeem(api, order, "GIFT1234-ABC").data["attributes"]
    assert a["total_amount_cents"] == 0
    assert a["total_amount_with_taxes_cents"] == a["total_tax_amount_cents"] > 0
    r = place(api, order["id"])
    assert r.status == 200 and r.data["attributes"]["payment_status"] == "authorized", r
    [authorization] = api.get(f"orders/{order['id']}/authorizations").data
    assert authorization["attributes"]["amount_cents"] == a["total_tax_amount_cents"]


@pytest.mark.django_db(transaction=True)
def test_orders_redeeming_the_last_balance_at_once_never_both_succeed(api: Api) -> None:
    shop = build_shop(api)
    card = gift_card(api, 1500, code="GIFT1234-ABC")
    orders = [new_order(api, shop, {"TSHIRT": 1}, email=f"buyer{n}@example.com")["id"] for n in range(4)]
    for order_id in orders:
        r = redeem(api, {"id": order_id}, "GIFT1234-ABC")
        assert r.data["attributes"]["gift_card_amount_cents"] == -1500, r

    statuses, bodies = place_at_once(api, orders)

    assert sorted(statuses.values()) == [200, 422, 422, 422], bodies
    refused = [bodies[o] for o, s in statuses.items() if s == 422]
    assert {b["errors"][0]["meta"]["error"] for b in refused} <= {"no_balance", "insufficient_balance"}, (
        refused
    )
    after = card_of(api, card)
    assert after["balance_cents"] == 0
    [winner] = [o for o, s in statuses.items() if s == 200]
    assert list(after["usage_log"]) == [winner]


def test_a_card_sold_as_a_line_item_is_purchased_when_placed_and_active_when_paid(
    api: Api, shop: Shop
) -> None:
    card = gift_card(api, 5000, active=False)
    order = new_order(api, shop, {"TSHIRT": 1})
    r = api.post("line_items", document("line_items", {"quantity": 1}, {"order": order, "item": card}))
    assert r.status == 201, r
    line = r.data["attributes"]
    assert (line["item_type"], line["unit_amount_cents"], line["total_amount_cents"]) == (
        "gift_cards",
        5000,
        5000,
    )
    assert api.get(f"line_items/{r.data['id']}/gift_card").data["id"] == card["id"]
    a = api.get(f"orders/{order['id']}").data["attributes"]
    assert (a["subtotal_amount_cents"], a["total_amount_cents"]) == (6500, 7200)  # the card is never shipped
    again = api.post("line_items", document("line_items", {"quantity": 1}, {"order": order, "item": card}))
    assert again.status == 422 and list(problems(again)) == ["/data/relationships/item"], again

    assert place(api, order["id"]).status == 200
    assert card_of(api, card)["status"] == "inactive"
    r = api.update("orders", order["id"], {"_capture": True})
    assert r.status == 200 and r.data["attributes"]["payment_status"] == "paid", r
    assert card_of(api, card)["status"] == "active"
    [sold] = line_items(api, order["id"], "gift_cards")
    assert sold["attributes"]["name"] == "Gift card"


def test_a_card_the_order_sells_is_neither_discounted_nor_counted_by_an_order_amount_rule(
    api: Api, shop: Shop
) -> None:
    from tests.orders.test_promotion_kinds import promotion
    from tests.promotions.test_rules import rule

    promotion(api, "percentage_discount_promotions", percentage=10, priority=1)
    fixed = promotion(api, "fixed_amount_promotions", fixed_amount_cents=500, priority=2)
    assert rule(api, "order_amount_promotion_rules", fixed, order_amount_cents=3000).status == 201
    order = new_order(api, shop, {"TSHIRT": 1})  # 1500, shipping 700
    card = gift_card(api, 5000, active=False)
    r = api.post("line_items", document("line_items", {"quantity": 1}, {"order": order, "item": card}))
    assert r.status == 201, r
    a = api.get(f"orders/{order['id']}").data["attributes"]
    # 10% of the TSHIRT's 1500, not of the 6500 subtotal; the 2200 of goods and shipping is under the rule's
    # 3000 (the card's 5000 does not count): no fixed amount.
    assert (a["subtotal_amount_cents"], a["discount_amount_cents"], a["total_amount_cents"]) == (
        6500,
        -150,
        6500 + 700 - 150,
    )
    assert [li["attributes"]["discount_cents"] for li in line_items(api, order["id"])] == [-150]
    assert line_items(api, order["id"], "fixed_amount_promotions") == []


def test_only_a_draft_card_in_the_orders_currency_can_be_sold(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"TSHIRT": 1})
    for card in (gift_card(api, 1000), gift_card(api, 1000, active=False, currency_code="USD")):
        r = api.post("line_items", document("line_items", {"quantity": 1}, {"order": order, "item": card}))
        assert r.status == 422 and list(problems(r)) == ["/data/relationships/item"], r
    assert line_items(api, order["id"], "gift_cards") == []


def test_gift_card_or_coupon_code_finds_a_card_first_then_a_coupon(api: Api, shop: Shop) -> None:
    from tests.orders.conftest import coupon

    gift_card(api, 1000, code="GIFT1234-ABC")
    coupon(api, "SUMMER2026", percentage=10)
    order = new_order(api, shop, {"TSHIRT": 2})  # 3000 + 700

    def send(code: str) -> Any:
        return api.update("orders", order["id"], {"gift_card_or_coupon_code": code})

    a = send("GIFT1234-ABC").data["attributes"]
    assert (a["gift_card_code"], a["coupon_code"], a["gift_card_or_coupon_code"]) == (
        "GIFT1234-ABC",
        None,
        "GIFT1234-ABC",
    )
    a = send("SUMMER2026").data["attributes"]
    assert (a["gift_card_code"], a["coupon_code"]) == ("GIFT1234-ABC", "SUMMER2026")
    assert (a["discount_amount_cents"], a["gift_card_amount_cents"], a["total_amount_cents"]) == (
        -300,
        -1000,
        3700 - 300 - 1000,
    )
    r = send("NOSUCHCODE")
    assert r.status == 422 and list(problems(r)) == ["/data/attributes/coupon_code"], r
    a = send("").data["attributes"]
    assert (a["gift_card_code"], a["coupon_code"], a["total_amount_cents"]) == (None, None, 3700)


def test_what_placing_and_cancel_do_to_a_card_is_in_its_history(api: Api, shop: Shop) -> None:
    card = gift_card(api, 1000, code="GIFT1234-ABC")
    order = new_order(api, shop, {"TSHIRT": 1})
    redeem(api, order, "GIFT1234-ABC")
    assert place(api, order["id"]).status == 200
    assert api.update("orders", order["id"], {"_cancel": True}).status == 200
    r = api.get(f"gift_cards/{card['id']}/event_stores", {"page[size]": "25"})
    assert r.status == 200, r
    changes = [
        e["attributes"]["payload"].get("balance_cents")
        for e in r.data
        if e["attributes"]["event"] == "update" and "balance_cents" in e["attributes"]["payload"]
    ]
    assert sorted(changes) == [[0, 1000], [1000, 0]], r.data


def test_a_sales_channel_cannot_read_cards_but_may_name_one_on_its_order(
    api: Api, shop: Shop, make_api: Any
) -> None:
    from tests.orders.conftest import _create_order

    card = gift_card(api, 1000, code="GIFT1234-ABC")
    storefront = make_api(kind="sales_channel", scope=f"market:code:{shop.market.code}")
    for r in (storefront.get("gift_cards"), storefront.get(f"gift_cards/{card['id']}")):
        assert r.status == 401 and r.error_codes == ["UNAUTHORIZED"], r
    order = _create_order(storefront, shop, "ada@example.com")
    storefront.create("line_items", {"sku_code": "TSHIRT", "quantity": 1}, {"order": order})
    r = redeem(storefront, order, "GIFT1234-ABC")
    assert r.status == 200 and r.data["attributes"]["gift_card_amount_cents"] == -1000, r


def test_a_card_of_another_market_is_refused(api: Api, shop: Shop) -> None:
    other = build_shop(api, code="OTHER")
    gift_card(api, 1000, code="GIFT1234-ABC", relationships={"market": ("markets", other.market.pk)})
    order = new_order(api, shop, {"TSHIRT": 1})
    r = redeem(api, order, "GIFT1234-ABC")
    assert r.status == 422 and r.json["errors"][0]["meta"]["error"] == "market_mismatch", r


def test_a_sold_card_is_taxed_when_the_rule_says_so(api: Api) -> None:
    from tests.orders.test_taxes import taxed_shop

    shop, rule = taxed_shop(api, code="TX", tax_included=True)
    assert api.update("tax_rules", rule["id"], {"gift_card_taxable": True}).status == 200
    card = gift_card(api, 12200, active=False)
    order = new_order(api, shop, {"TSHIRT": 1})
    r = api.post("line_items", document("line_items", {"quantity": 1}, {"order": order, "item": card}))
    assert r.status == 201, r
    [sold] = line_items(api, order["id"], "gift_cards")
    assert sold["attributes"]["tax_amount_cents"] == 2200  # 12200 * 0.22 / 1.22


@pytest.mark.django_db(transaction=True)
def test_an_external_gateway_is_asked_for_what_the_card_leaves_and_the_card_is_taken_once_it_approves(
    api: Api, gateway: Gateway
) -> None:
    shop = build_shop(api)
    card = gift_card(api, 1000, code="GIFT1234-ABC")
    order = paid_externally(api, shop, gateway, {"TSHIRT": 2})  # 3700
    redeem(api, order, "GIFT1234-ABC")
    r = place(api, order["id"])
    assert r.status == 200, r
    [request] = gateway.requests
    assert request["body"]["data"]["attributes"]["amount_cents"] == 2700
    assert card_of(api, card)["balance_cents"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_card_spent_while_the_gateway_answers_fails_the_place_and_voids_the_authorization(
    api: Api, gateway: Gateway
) -> None:
    shop = build_shop(api)
    card = gift_card(api, 1000, code="GIFT1234-ABC")
    order = paid_externally(api, shop, gateway, {"TSHIRT": 2})
    redeem(api, order, "GIFT1234-ABC")

    def spend_elsewhere() -> None:  # no lock is held on the card while the gateway is asked
        GiftCard.unscoped.filter(pk=card["id"]).update(balance_cents=400)

    gateway.during = spend_elsewhere
    r = place(api, order["id"])
    assert r.status == 422, r
    assert r.json["errors"][0]["meta"]["error"] == "insufficient_balance", r
    assert [request["path"] for request in gateway.requests] == ["/authorize", "/void"]
    assert api.get(f"orders/{order['id']}").data["attributes"]["status"] == "pending"
    after = card_of(api, card)
    assert (after["balance_cents"], after["usage_log"]) == (400, {})


@pytest.mark.django_db(transaction=True)
def test_a_declined_authorization_takes_nothing_from_the_card(api: Api, gateway: Gateway) -> None:
    shop = build_shop(api)
    card = gift_card(api, 1000, code="GIFT1234-ABC")
    order = paid_externally(api, shop, gateway, {"TSHIRT": 2})
    redeem(api, order, "GIFT1234-ABC")
    gateway.answers = [DECLINE]
    assert place(api, order["id"]).status == 422
    assert card_of(api, card)["balance_cents"] == 1000


# Placing an order with a gift card, beyond placing one without (tests/orders/test_queries.PLACE_QUERIES):
# read and lock the card (one SELECT ... FOR UPDATE), update it, and its history (audit row, gift_cards.update
# event, webhook lookup). The same on both databases, whatever the number of line items.
PLACE_WITH_CARD_EXTRA_QUERIES = 5


def test_placing_with_a_card_costs_the_same_queries_whatever_the_number_of_line_items(api: Api) -> None:
    from tests.orders.test_queries import PLACE_QUERIES, SKUS, queries_of

    shop = build_shop(api, skus=SKUS)
    assert place(api, new_order(api, shop, {"SKU00": 1})["id"]).status == 200  # the number sequence
    counts = []
    for size in (1, 20):
        order = new_order(api, shop, {code: 1 for code in list(SKUS)[:size]})
        gift_card(api, 100, code=f"GIFT{size:04d}-ABC")
        assert redeem(api, order, f"GIFT{size:04d}-ABC").status == 200
        count, r = queries_of(lambda order=order: place(api, order["id"]))
        assert r.status == 200, r
        counts.append(count)
    assert counts == [PLACE_QUERIES + PLACE_WITH_CARD_EXTRA_QUERIES] * 2
