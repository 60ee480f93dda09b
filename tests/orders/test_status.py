"""The order status machine and its triggers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, document
from tests.orders.conftest import Shop, new_order, place, problems


def trigger(api: Api, order_id: str, name: str, value: Any = True) -> Any:
    return api.patch(f"orders/{order_id}", document("orders", {name: value}, rid=order_id))


def status(api: Api, order_id: str) -> dict[str, Any]:
    return api.get(f"orders/{order_id}").data["attributes"]


def assert_transition_refused(r: Any, current: str, target: str) -> None:
    assert r.status == 422, r
    assert f"cannot transition from {current} to {target}" in problems(r)["/data/attributes/status"]


def test_draft_pending_placed_approved(api: Api, shop: Shop) -> None:
    order = api.create("orders", {}, {"market": ("markets", shop.market.pk)})
    a = order["attributes"]
    assert (a["status"], a["payment_status"], a["fulfillment_status"], a["editable"]) == (
        "draft",
        "unpaid",
        "unfulfilled",
        True,
    )
    order = new_order(api, shop, {"TSHIRT": 1})
    assert order["attributes"]["status"] == "pending"
    placed = place(api, order["id"])
    assert placed.status == 200, placed
    a = placed.data["attributes"]
    assert (a["status"], a["payment_status"], a["editable"]) == ("placed", "authorized", False)
    assert a["placed_at"] is not None
    again = place(api, order["id"])
    assert again.status == 200 and again.data["attributes"]["number"] == a["number"]
    approved = trigger(api, order["id"], "_approve")
    assert approved.status == 200, approved
    a = approved.data["attributes"]
    assert (a["status"], a["payment_status"]) == ("approved", "authorized") and a["approved_at"] is not None


def test_illegal_transitions_are_422_on_status(api: Api, shop: Shop) -> None:
    draft = api.create(
        "orders", {"customer_email": "ada@example.com"}, {"market": ("markets", shop.market.pk)}
    )
    assert_transition_refused(place(api, draft["id"]), "draft", "placed")
    pending = new_order(api, shop, {"TSHIRT": 1})
    assert_transition_refused(trigger(api, pending["id"], "_approve"), "pending", "approved")
    assert status(api, pending["id"])["status"] == "pending"
    assert trigger(api, pending["id"], "_cancel").status == 200
    assert_transition_refused(place(api, pending["id"]), "cancelled", "placed")
    assert_transition_refused(trigger(api, pending["id"], "_approve"), "cancelled", "approved")
    assert_transition_refused(trigger(api, draft["id"], "_cancel"), "draft", "cancelled")
    assert status(api, pending["id"])["status"] == "cancelled"


def test_cancel_restores_stock_and_voids_the_authorization(api: Api, shop: Shop) -> None:
    from tests.orders.conftest import stock_of

    before = stock_of(api, shop)
    order = new_order(api, shop, {"TSHIRT": 12, "MUG": 1})
    assert place(api, order["id"]).status == 200
    taken = stock_of(api, shop)
    assert (
        taken[("TSHIRT", "milan")] == 0 and taken[("TSHIRT", "berlin")] == 3 and taken[("MUG", "milan")] == 2
    )
    r = trigger(api, order["id"], "_cancel")
    assert r.status == 200, r
    a = r.data["attributes"]
    assert (a["status"], a["payment_status"]) == ("cancelled", "voided") and a["cancelled_at"] is not None
    assert stock_of(api, shop) == before
    again = trigger(api, order["id"], "_cancel")
    assert again.status == 200 and stock_of(api, shop) == before
    shipments = api.get(f"orders/{order['id']}/shipments").data
    assert {s["attributes"]["status"] for s in shipments} == {"cancelled"}


def test_archive_and_unarchive(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"TSHIRT": 1})
    assert place(api, order["id"]).status == 200
    archived = trigger(api, order["id"], "_archive")
    assert archived.status == 200 and archived.data["attributes"]["archived_at"] is not None
    assert archived.data["attributes"]["status"] == "placed"
    unarchived = trigger(api, order["id"], "_unarchive")
    assert unarchived.status == 200 and unarchived.data["attributes"]["archived_at"] is None


def test_refresh_and_update_taxes_are_accepted(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"TSHIRT": 1})
    before = status(api, order["id"])
    taxes = trigger(api, order["id"], "_update_taxes")
    assert taxes.status == 200, taxes
    assert taxes.data["attributes"]["total_amount_cents"] == before["total_amount_cents"]
    refreshed = trigger(api, order["id"], "_refresh")
    assert refreshed.status == 200 and refreshed.data["attributes"]["refreshed_at"] is not None


def test_unsupported_triggers_are_422_naming_them(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"TSHIRT": 1})
    r = trigger(api, order["id"], "_commit_invoice")
    assert r.status == 422 and list(problems(r)) == ["/data/attributes/_commit_invoice"], r


def test_the_wire_transfer_goes_to_the_customers_wallet_when_placed(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"TSHIRT": 1})
    customer_id = api.get(f"orders/{order['id']}/customer").data["id"]
    saved = trigger(api, order["id"], "_save_payment_source_to_customer_wallet")
    assert saved.status == 200, saved
    assert api.get(f"customers/{customer_id}/customer_payment_sources").data == []
    assert place(api, order["id"]).status == 200
    r = api.get(
        f"customers/{customer_id}/customer_payment_sources", {"include": "payment_source,payment_method"}
    )
    assert r.status == 200, r
    [entry] = r.data
    assert entry["attributes"]["name"] == "Wire transfer"
    source = api.get(f"orders/{order['id']}/payment_source").data
    assert entry["relationships"]["payment_source"]["data"] == {"type": "wire_transfers", "id": source["id"]}
    assert entry["relationships"]["payment_method"]["data"]["id"] == shop.payment_method.pk


def test_placed_orders_get_no_new_line_items_and_cannot_be_deleted(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"TSHIRT": 1})
    assert place(api, order["id"]).status == 200
    r = api.post(
        "line_items",
        document("line_items", {"sku_code": "MUG", "quantity": 1}, {"order": ("orders", order["id"])}),
    )
    assert r.status == 422 and list(problems(r)) == ["/data/attributes/status"], r
    line = api.get(f"orders/{order['id']}/line_items").data[0]
    assert api.update("line_items", line["id"], {"quantity": 2}).status == 422
    assert api.delete(f"line_items/{line['id']}").status == 422
    assert api.update("orders", order["id"], {"customer_email": "bob@example.com"}).status == 422
    deleted = api.delete(f"orders/{order['id']}")
    assert deleted.status == 423 and deleted.json["errors"][0]["code"] == "LOCKED", deleted
    assert api.get(f"orders/{order['id']}").status == 200


@pytest.mark.parametrize("lines", [{}, {"TSHIRT": 1}])
def test_draft_and_pending_orders_can_be_deleted(api: Api, shop: Shop, lines: dict[str, int]) -> None:
    order = api.create("orders", {}, {"market": ("markets", shop.market.pk)})
    for code, quantity in lines.items():
        api.create("line_items", {"sku_code": code, "quantity": quantity}, {"order": order})
    assert api.delete(f"orders/{order['id']}").status == 204
    assert api.get(f"orders/{order['id']}").status == 404
