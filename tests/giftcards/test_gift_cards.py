"""Gift cards and their recipients over HTTP: a code made when none is given, the status machine of the
triggers, balance changes within their limits, tenancy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, document
from tests.orders.conftest import problems


def gift_card(
    api: Api,
    balance: int = 5000,
    *,
    active: bool = True,
    relationships: dict[str, Any] | None = None,
    **attributes: Any,
) -> dict[str, Any]:
    """A gift card made through the API, activated unless ``active`` is false."""
    card = api.create(
        "gift_cards", {"currency_code": "EUR", "balance_cents": balance, **attributes}, relationships
    )
    if active:
        r = api.update("gift_cards", card["id"], {"_activate": True})
        assert r.status == 200, r
        card = r.data
    return card


def test_a_new_card_is_a_draft_with_a_generated_code_and_its_balance_three_ways(api: Api) -> None:
    card = gift_card(api, 15000, active=False, balance_max_cents=100000, recipient_email="bob@example.com")
    a = card["attributes"]
    assert a["status"] == "draft"
    assert len(a["code"]) == 36 and a["code"].count("-") == 4
    assert (a["initial_balance_cents"], a["balance_cents"], a["balance_float"], a["formatted_balance"]) == (
        15000,
        15000,
        150.0,
        "€150,00",
    )
    assert (a["formatted_balance_max"], a["single_use"], a["rechargeable"]) == ("€1.000,00", False, True)
    assert a["recipient_email"] == "bob@example.com"
    [recipient] = api.get("gift_card_recipients").data
    assert recipient["attributes"]["email"] == "bob@example.com"
    linked = api.get(f"gift_cards/{card['id']}/gift_card_recipient").data
    assert linked["id"] == recipient["id"]


def test_codes_are_unique_and_between_8_and_40_characters(api: Api) -> None:
    gift_card(api, code="GIFT1234-ABC", active=False)
    for code in ("GIFT1234-ABC", "SHORT", "X" * 41):
        r = api.post("gift_cards", _doc({"currency_code": "EUR", "balance_cents": 100, "code": code}))
        assert r.status == 422 and list(problems(r)) == ["/data/attributes/code"], r
    r = api.post("gift_cards", _doc({"balance_cents": 100}))
    assert r.status == 422 and "/data/attributes/currency_code" in problems(r), r


def _doc(attributes: dict[str, Any]) -> dict[str, Any]:
    return document("gift_cards", attributes)


def test_the_triggers_move_the_status_as_commerce_layer_does(api: Api) -> None:
    card = gift_card(api, active=False)

    def fire(trigger: str) -> Any:
        return api.update("gift_cards", card["id"], {trigger: True})

    assert fire("_deactivate").status == 422
    assert fire("_purchase").data["attributes"]["status"] == "inactive"
    r = fire("_purchase")
    assert r.status == 422 and list(problems(r)) == ["/data/attributes/_purchase"], r
    assert fire("_activate").data["attributes"]["status"] == "active"
    assert fire("_deactivate").data["attributes"]["status"] == "inactive"
    assert fire("_activate").data["attributes"]["status"] == "active"


def test_balance_changes_spend_and_recharge_within_the_limits_and_are_logged(api: Api) -> None:
    card = gift_card(api, 5000, balance_max_cents=8000)
    r = api.update("gift_cards", card["id"], {"_balance_change_cents": -1500})
    assert r.data["attributes"]["balance_cents"] == 3500
    r = api.update("gift_cards", card["id"], {"_balance_change_cents": 4500})
    a = r.data["attributes"]
    assert (a["balance_cents"], a["initial_balance_cents"]) == (8000, 5000)
    assert [e["balance_change_cents"] for e in a["balance_log"]] == [-1500, 4500]
    for change in (1, -8001):
        r = api.update("gift_cards", card["id"], {"_balance_change_cents": change})
        assert r.status == 422 and list(problems(r)) == ["/data/attributes/_balance_change_cents"], r
    # Once purchased, the balance changes through _balance_change_cents only, so the log holds every change.
    r = api.update("gift_cards", card["id"], {"balance_cents": 100})
    assert r.status == 422 and list(problems(r)) == ["/data/attributes/balance_cents"], r
    fixed = gift_card(api, 1000, rechargeable=False)
    r = api.update("gift_cards", fixed["id"], {"_balance_change_cents": 1})
    assert r.status == 422 and r.json["errors"][0]["meta"]["error"] == "not_rechargeable", r


def test_filters_find_a_card_by_its_exact_code_and_status(api: Api) -> None:
    card = gift_card(api, code="GIFT1234-ABC")
    gift_card(api, code="GIFT1234-ABD", active=False)
    found = api.get("gift_cards", {"filter[q][code_eq]": "GIFT1234-ABC"}).data
    assert [c["id"] for c in found] == [card["id"]]
    assert [c["id"] for c in api.get("gift_cards", {"filter[q][status_eq]": "active"}).data] == [card["id"]]


@pytest.mark.parametrize("stranger", ["other_org", "live_api"])
def test_another_organization_or_mode_cannot_see_or_touch_them(request, api: Api, stranger: str) -> None:
    other: Api = request.getfixturevalue(stranger)
    card = gift_card(api, code="GIFT1234-ABC", recipient_email="bob@example.com")
    [recipient] = api.get("gift_card_recipients").data
    assert other.get("gift_cards").data == []
    assert other.get("gift_cards", {"filter[q][code_eq]": "GIFT1234-ABC"}).data == []
    assert other.get(f"gift_cards/{card['id']}").status == 404
    assert other.update("gift_cards", card["id"], {"_balance_change_cents": -5000}).status == 404
    assert other.delete(f"gift_cards/{card['id']}").status == 404
    assert other.get(f"gift_card_recipients/{recipient['id']}").status == 404
    # The same code is free in another environment: codes are unique within an organization and mode.
    theirs = gift_card(other, code="GIFT1234-ABC")
    assert theirs["id"] != card["id"]
    assert api.get(f"gift_cards/{card['id']}").data["attributes"]["balance_cents"] == 5000


def test_a_draft_cards_balance_is_set_not_logged_and_is_its_initial_balance(api: Api) -> None:
    card = gift_card(api, 1000, active=False)
    a = api.update("gift_cards", card["id"], {"balance_cents": 2000}).data["attributes"]
    assert (a["initial_balance_cents"], a["balance_cents"], a["balance_log"]) == (2000, 2000, [])
    a = api.update("gift_cards", card["id"], {"_balance_change_cents": 500}).data["attributes"]
    assert (a["initial_balance_cents"], a["balance_cents"], a["balance_log"]) == (2500, 2500, [])
    api.update("gift_cards", card["id"], {"_purchase": True})
    a = api.update("gift_cards", card["id"], {"_balance_change_cents": -100}).data["attributes"]
    assert (a["initial_balance_cents"], a["balance_cents"]) == (2500, 2400)
    assert [e["balance_change_cents"] for e in a["balance_log"]] == [-100]


def test_the_organization_says_codes_match_exactly(api: Api) -> None:
    a = api.get("organization").data["attributes"]
    assert (
        a["gift_cards_exact_code_matching"],
        a["gift_cards_min_code_length"],
        a["gift_cards_max_code_length"],
    ) == (
        True,
        8,
        40,
    )


def test_a_card_of_a_market_takes_its_currency_and_no_other(api: Api) -> None:
    from tests.orders.conftest import build_shop

    shop = build_shop(api)
    market = {"market": ("markets", shop.market.pk)}
    r = api.post("gift_cards", document("gift_cards", {"balance_cents": 1000}, market))
    assert r.status == 201 and r.data["attributes"]["currency_code"] == "EUR", r
    r = api.post(
        "gift_cards", document("gift_cards", {"balance_cents": 1000, "currency_code": "USD"}, market)
    )
    assert r.status == 422 and list(problems(r)) == ["/data/attributes/currency_code"], r
