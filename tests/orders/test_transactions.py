"""Payment transactions over HTTP: placing authorizes (an ``authorizations`` row), ``_capture`` captures,
``_refund`` refunds what was captured and never more, ``_cancel`` voids an open authorization, and the order's
``payment_status`` follows; the ``transactions`` list shows them all; other tenants see none."""

from __future__ import annotations

from typing import Any

import pytest

from orderfactory.core import scope
from orderfactory.payments.models import Transaction
from tests.conftest import Api, document
from tests.factories.conftest import copied, copy, run_job
from tests.orders.conftest import Shop, new_order, place

TOTAL = 2 * 1500 + 700  # two T-shirts and the shipping


def placed(api: Api, shop: Shop) -> dict[str, Any]:
    order = new_order(api, shop, {"TSHIRT": 2})
    r = place(api, order["id"])
    assert r.status == 200, r
    return r.data


def patch(api: Api, type_name: str, rid: str, attributes: dict[str, Any]) -> Any:
    return api.patch(f"{type_name}/{rid}", document(type_name, attributes, rid=rid))


def of(api: Api, order_id: str, name: str) -> list[dict[str, Any]]:
    r = api.get(f"orders/{order_id}/{name}")
    assert r.status == 200, r
    return r.data


def payment_status(api: Api, order_id: str) -> str:
    return api.get(f"orders/{order_id}").data["attributes"]["payment_status"]


def meta_codes(r: Any) -> list[str]:
    return [e["meta"].get("error") for e in r.json["errors"]]


def test_placing_writes_one_authorization(api: Api, shop: Shop) -> None:
    order = placed(api, shop)
    [authorization] = of(api, order["id"], "authorizations")
    a = authorization["attributes"]
    assert authorization["type"] == "authorizations"
    assert a["number"] == f"{order['attributes']['number']}/T/001"
    assert (a["type"], a["amount_cents"], a["currency_code"], a["succeeded"]) == (
        "authorizations",
        TOTAL,
        "EUR",
        True,
    )
    assert a["message"] == "authorized by the manual gateway"
    assert a["formatted_amount"] == "€37,00"
    assert (a["capture_amount_cents"], a["capture_balance_cents"], a["void_balance_cents"]) == (TOTAL,) * 3
    assert a["payment_method_type"] == "wire_transfers"
    # The payment source and the order it pays are linked.
    source = api.get(f"authorizations/{authorization['id']}/payment_source").data
    assert source["type"] == "wire_transfers"
    assert api.get(f"authorizations/{authorization['id']}/order").data["id"] == order["id"]
    # The polymorphic list names its kind.
    [listed] = api.get("transactions", {"filter[q][order_id_eq]": order["id"]}).data
    assert (listed["id"], listed["type"], listed["attributes"]["type"]) == (
        authorization["id"],
        "transactions",
        "authorizations",
    )
    assert of(api, order["id"], "captures") == []
    # Written with its audit trail and its event (a webhook topic).
    events = api.get(f"authorizations/{authorization['id']}/events").data
    assert [e["attributes"]["name"] for e in events] == ["authorizations.create"]
    trail = api.get(f"authorizations/{authorization['id']}/event_stores").data
    assert [e["attributes"]["event"] for e in trail] == ["create"]


def test_capture_then_partial_refund_then_the_rest(api: Api, shop: Shop) -> None:
    order = placed(api, shop)
    r = patch(api, "orders", order["id"], {"_capture": True})
    assert r.status == 200, r
    assert r.data["attributes"]["payment_status"] == "paid"
    [capture] = of(api, order["id"], "captures")
    [authorization] = of(api, order["id"], "authorizations")
    c = capture["attributes"]
    assert (c["amount_cents"], c["succeeded"], c["refund_balance_cents"]) == (TOTAL, True, TOTAL)
    assert c["number"] == f"{order['attributes']['number']}/T/002"
    assert api.get(f"captures/{capture['id']}/reference_authorization").data["id"] == authorization["id"]
    assert authorization["attributes"]["capture_balance_cents"] == 0

    r = patch(api, "captures", capture["id"], {"_refund": True, "_refund_amount_cents": 1000})
    assert r.status == 200, r
    assert r.data["attributes"]["refund_balance_cents"] == TOTAL - 1000
    assert payment_status(api, order["id"]) == "partially_refunded"
    [refund] = of(api, order["id"], "refunds")
    assert (refund["attributes"]["amount_cents"], refund["attributes"]["succeeded"]) == (1000, True)
    assert api.get(f"refunds/{refund['id']}/reference_capture").data["id"] == capture["id"]

    # More than what is left to refund: refused, nothing written.
    r = patch(api, "orders", order["id"], {"_refund": True, "_refund_amount_cents": TOTAL})
    assert r.status == 422, r
    assert meta_codes(r) == ["exceeds_balance"]
    assert len(of(api, order["id"], "refunds")) == 1

    r = patch(api, "orders", order["id"], {"_refund": True})
    assert r.status == 200, r
    assert r.data["attributes"]["payment_status"] == "refunded"
    assert sorted(x["attributes"]["amount_cents"] for x in of(api, order["id"], "refunds")) == [
        1000,
        TOTAL - 1000,
    ]
    r = patch(api, "orders", order["id"], {"_refund": True})
    assert r.status == 422 and meta_codes(r) == ["not_refundable"], r
    kinds = [t["attributes"]["type"] for t in of(api, order["id"], "transactions")]
    assert kinds == ["authorizations", "captures", "refunds", "refunds"]


def test_refunding_an_order_not_captured_is_refused(api: Api, shop: Shop) -> None:
    order = placed(api, shop)
    r = patch(api, "orders", order["id"], {"_refund": True})
    assert r.status == 422 and meta_codes(r) == ["not_refundable"], r
    assert payment_status(api, order["id"]) == "authorized"


def test_a_manual_gateway_captures_in_full_only(api: Api, shop: Shop) -> None:
    order = placed(api, shop)
    [authorization] = of(api, order["id"], "authorizations")
    r = patch(api, "authorizations", authorization["id"], {"_capture": True, "_capture_amount_cents": 100})
    assert r.status == 422 and meta_codes(r) == ["partial_capture_not_supported"], r
    r = patch(api, "authorizations", authorization["id"], {"_capture": True})
    assert r.status == 200, r
    assert r.data["attributes"]["capture_balance_cents"] == 0
    assert payment_status(api, order["id"]) == "paid"
    r = patch(api, "orders", order["id"], {"_capture": True})
    assert r.status == 422 and meta_codes(r) == ["not_capturable"], r


def test_cancelling_before_the_capture_voids_the_authorization(api: Api, shop: Shop) -> None:
    order = placed(api, shop)
    r = patch(api, "orders", order["id"], {"_cancel": True})
    assert r.status == 200, r
    assert r.data["attributes"]["payment_status"] == "voided"
    [void] = of(api, order["id"], "voids")
    [authorization] = of(api, order["id"], "authorizations")
    assert (void["attributes"]["amount_cents"], void["attributes"]["succeeded"]) == (TOTAL, True)
    assert api.get(f"voids/{void['id']}/reference_authorization").data["id"] == authorization["id"]
    assert authorization["attributes"]["void_balance_cents"] == 0
    r = patch(api, "orders", order["id"], {"_capture": True})
    assert r.status == 422 and meta_codes(r) == ["not_capturable"], r


def test_void_trigger_of_an_authorization(api: Api, shop: Shop) -> None:
    order = placed(api, shop)
    [authorization] = of(api, order["id"], "authorizations")
    r = patch(api, "authorizations", authorization["id"], {"_void": True})
    assert r.status == 200, r
    assert payment_status(api, order["id"]) == "voided"
    r = patch(api, "authorizations", authorization["id"], {"_void": True})
    assert r.status == 422 and meta_codes(r) == ["not_voidable"], r


def test_reference_and_metadata_change_and_the_rest_is_the_gateways(api: Api, shop: Shop) -> None:
    order = placed(api, shop)
    [authorization] = of(api, order["id"], "authorizations")
    r = patch(api, "authorizations", authorization["id"], {"reference": "ERP-1", "metadata": {"a": 1}})
    assert r.status == 200, r
    assert (r.data["attributes"]["reference"], r.data["attributes"]["metadata"]) == ("ERP-1", {"a": 1})
    for attributes in ({"succeeded": False}, {"_forward": True}, {"_cancel": True}):
        r = patch(api, "authorizations", authorization["id"], attributes)
        assert r.status == 422 and meta_codes(r) == ["not_supported"], (attributes, r)
    # Typed resources list their own type only, and are not created here.
    assert api.get(f"captures/{authorization['id']}").status == 404
    assert api.post("authorizations", document("authorizations", {})).status in (404, 405)


def test_sales_channels_cannot_move_money(api: Api, make_api: Any, shop: Shop) -> None:
    from orderfactory.auth import services, tokens

    order = placed(api, shop)
    app, _ = services.create_application(
        name="Shop", kind="sales_channel", mode="test", organization_slug=api.organization.slug
    )
    token = tokens.issue_token(app, f"market:code:{shop.market.code}")["access_token"]
    channel = Api(token, app, app.organization)
    for attributes in ({"_capture": True}, {"_refund": True}):
        r = patch(channel, "orders", order["id"], attributes)
        assert r.status == 400 and r.error_codes == ["PARAM_NOT_ALLOWED"], r
    assert payment_status(api, order["id"]) == "authorized"


def test_other_tenants_see_no_transactions(api: Api, other_org: Api, live_api: Api, shop: Shop) -> None:
    order = placed(api, shop)
    [authorization] = of(api, order["id"], "authorizations")
    for other in (other_org, live_api):
        for type_name in ("authorizations", "transactions"):
            assert other.get(type_name).data == []
            assert other.get(f"{type_name}/{authorization['id']}").status == 404
        assert patch(other, "authorizations", authorization["id"], {"_capture": True}).status == 404
    assert payment_status(api, order["id"]) == "authorized"


def test_transactions_are_never_copied(api: Api, shop: Shop) -> None:
    """The copy of a captured order, placed, authorizes anew: its own authorization, none of the source's."""
    source = new_order(api, shop, {"TSHIRT": 2})
    r = patch(api, "orders", source["id"], {"_save_payment_source_to_customer_wallet": True})
    assert r.status == 200, r
    assert place(api, source["id"]).status == 200
    assert patch(api, "orders", source["id"], {"_capture": True}).status == 200
    r = copy(api, source["id"], attributes={"place_target_order": True, "reuse_wallet": True})
    assert r.status == 201, r
    run_job(r.data["id"])
    factory, target = copied(api, r.data["id"])
    assert target is not None and factory["attributes"]["status"] == "completed", factory["attributes"]
    assert target["attributes"]["payment_status"] == "authorized"
    [authorization] = of(api, target["id"], "authorizations")
    assert authorization["attributes"]["number"] == f"{target['attributes']['number']}/T/001"
    assert authorization["attributes"]["amount_cents"] == target["attributes"]["total_amount_cents"]
    assert of(api, target["id"], "captures") == []
    source_ids = {t["id"] for t in of(api, source["id"], "transactions")}
    assert len(source_ids) == 2
    assert {t["id"] for t in of(api, target["id"], "transactions")}.isdisjoint(source_ids)
    with scope.active(api.scope()):
        assert Transaction.objects.filter(order_id=target["id"]).count() == 1


@pytest.mark.parametrize("amount", [0, -5])
def test_a_refund_amount_must_be_positive(api: Api, shop: Shop, amount: int) -> None:
    order = placed(api, shop)
    assert patch(api, "orders", order["id"], {"_capture": True}).status == 200
    r = patch(api, "orders", order["id"], {"_refund": True, "_refund_amount_cents": amount})
    assert r.status == 422 and meta_codes(r) == ["greater_than"], r
    assert payment_status(api, order["id"]) == "paid"


def test_an_orders_transactions_link_and_include_each_as_its_own_kind(api: Api, shop: Shop) -> None:
    """Commerce Layer's ``transactions`` of an order is polymorphic (single-table kinds): the linkage and the
    included rows name each transaction's own type, in the order they were written; the related list serves
    them through ``transactions``, which names the kind in its ``type`` attribute."""
    order = placed(api, shop)
    assert patch(api, "orders", order["id"], {"_capture": True}).status == 200
    assert patch(api, "orders", order["id"], {"_refund": True, "_refund_amount_cents": 400}).status == 200
    [authorization] = of(api, order["id"], "authorizations")
    [capture] = of(api, order["id"], "captures")
    [refund] = of(api, order["id"], "refunds")
    expected = [
        {"type": "authorizations", "id": authorization["id"]},
        {"type": "captures", "id": capture["id"]},
        {"type": "refunds", "id": refund["id"]},
    ]
    r = api.get(f"orders/{order['id']}", {"include": "transactions"})
    assert r.status == 200, r
    assert r.json["data"]["relationships"]["transactions"]["data"] == expected
    included = {(x["type"], x["id"]): x for x in r.json["included"]}
    assert set(included) == {(x["type"], x["id"]) for x in expected}
    assert included[("captures", capture["id"])]["attributes"]["refund_balance_cents"] == TOTAL - 400
    assert "capture_balance_cents" in included[("authorizations", authorization["id"])]["attributes"]
    linkage = api.get(f"orders/{order['id']}/relationships/transactions")
    assert linkage.status == 200 and linkage.json["data"] == expected, linkage
    assert [(t["type"], t["attributes"]["type"]) for t in of(api, order["id"], "transactions")] == [
        ("transactions", "authorizations"),
        ("transactions", "captures"),
        ("transactions", "refunds"),
    ]
