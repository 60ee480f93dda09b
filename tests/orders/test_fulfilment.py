"""A shipment's fulfilment after placing (its triggers, Commerce Layer's statuses and timestamps, its events)
and the order's fulfillment_status following its shipments (docs/decisions.md, "Shipments' fulfilment")."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orderfactory.core import scope
from orderfactory.orders.models import Shipment
from orderfactory.orders.services.fulfilment import STEPS
from tests.conftest import Api, document
from tests.orders.conftest import Shop, build_shop, new_order, place, problems

SKUS = {"TSHIRT": (1500, {"milan": 10}), "CAP": (500, {"berlin": 4})}
STATUSES = ("upcoming", "on_hold", "picking", "packing", "ready_to_ship", "shipped", "delivered", "cancelled")
# Commerce Layer's shipment workflow as served: trigger -> (from these statuses, to this one).
ALLOWED = {
    "_upcoming": ({"on_hold"}, "upcoming"),
    "_on_hold": ({"upcoming", "picking", "packing", "ready_to_ship"}, "on_hold"),
    "_picking": ({"upcoming", "on_hold"}, "picking"),
    "_packing": ({"picking", "on_hold"}, "packing"),
    "_ready_to_ship": ({"packing", "on_hold"}, "ready_to_ship"),
    "_ship": ({"ready_to_ship"}, "shipped"),
    "_deliver": ({"shipped"}, "delivered"),
    "_cancel": ({"upcoming", "on_hold", "picking", "packing", "ready_to_ship"}, "cancelled"),
}
# PATCH /api/shipments/<id> {_picking: true}, whatever the order holds: read the shipment (the 404), its order
# id, lock the order, read the shipment under that lock, compare-and-set its status, the shipments.picking
# event and its webhook lookup, the audit row with shipments.update and its webhook lookup, the order's
# shipment statuses (is it fulfilled?), render the shipment; and the savepoint and its release (the service's
# transaction inside the test's).
TRANSITION_QUERIES = 14


def shipment_trigger(api: Api, shipment_id: str, name: str, value: Any = True) -> Any:
    return api.patch(f"shipments/{shipment_id}", document("shipments", {name: value}, rid=shipment_id))


def order_trigger(api: Api, order_id: str, name: str) -> Any:
    return api.patch(f"orders/{order_id}", document("orders", {name: True}, rid=order_id))


def shipments_of(api: Api, order_id: str) -> list[dict[str, Any]]:
    return api.get(f"orders/{order_id}/shipments").data


def order_of(api: Api, order_id: str) -> dict[str, Any]:
    a: dict[str, Any] = api.get(f"orders/{order_id}").data["attributes"]
    return a


def names(api: Api, path: str) -> list[str]:
    return [e["attributes"]["name"] for e in api.get(path, {"page[size]": "25"}).data]


def placed_order(api: Api, shop: Shop, lines: dict[str, int], *, approve: bool = True) -> dict[str, Any]:
    order = new_order(api, shop, lines)
    assert place(api, order["id"]).status == 200
    if approve:
        assert order_trigger(api, order["id"], "_approve").status == 200
    return order


@pytest.fixture
def shop(api: Api) -> Shop:
    return build_shop(api, skus=SKUS)


def test_a_shipment_goes_from_upcoming_to_delivered_and_fulfils_its_order(api: Api, shop: Shop) -> None:
    order = placed_order(api, shop, {"TSHIRT": 2})
    a = order_of(api, order["id"])
    assert (a["status"], a["fulfillment_status"]) == ("approved", "in_progress")
    [shipment] = shipments_of(api, order["id"])
    assert shipment["attributes"]["status"] == "upcoming"
    sid = shipment["id"]
    for name, stamp, status in (
        ("_picking", "picking_at", "picking"),
        ("_packing", "packing_at", "packing"),
        ("_ready_to_ship", "ready_to_ship_at", "ready_to_ship"),
        ("_ship", "shipped_at", "shipped"),
        ("_deliver", "delivered_at", "delivered"),
    ):
        r = shipment_trigger(api, sid, name)
        assert r.status == 200, r
        assert r.data["attributes"]["status"] == status
        assert r.data["attributes"][stamp] is not None
        if status == "shipped":
            a = order_of(api, order["id"])
            assert a["fulfillment_status"] == "fulfilled" and a["fulfillment_updated_at"] is not None
    assert [n for n in names(api, f"shipments/{sid}/events") if n != "shipments.update"] == [
        "shipments.picking",
        "shipments.packing",
        "shipments.ready_to_ship",
        "shipments.ship",
        "shipments.deliver",
    ]
    fired = names(api, f"orders/{order['id']}/events")
    assert [n for n in fired if n in ("orders.start_fulfilling", "orders.fulfill")] == [
        "orders.start_fulfilling",
        "orders.fulfill",
    ]
    trail = api.get(f"shipments/{sid}/event_stores", {"page[size]": "25"}).data
    assert [e["attributes"]["payload"]["status"] for e in trail if "status" in e["attributes"]["payload"]][
        -1
    ] == ["shipped", "delivered"]


@pytest.mark.parametrize("source", STATUSES)
def test_every_trigger_from_every_status(api: Api, shop: Shop, source: str) -> None:
    order = placed_order(api, shop, {"TSHIRT": 1})
    [shipment] = shipments_of(api, order["id"])
    sid = shipment["id"]
    for name in STEPS:
        with scope.active(api.scope()):
            Shipment.objects.filter(pk=sid).update(status=source)
        sources, target = ALLOWED[name]
        r = shipment_trigger(api, sid, name)
        if source in sources:
            assert r.status == 200, (name, r)
            assert r.data["attributes"]["status"] == target
        else:
            assert r.status == 422, (name, r)
            assert r.error_codes == ["VALIDATION_ERROR"]
            assert problems(r)["/data/attributes/status"] == [f"cannot transition from {source} to {target}"]
            assert api.get(f"shipments/{sid}").data["attributes"]["status"] == source


def test_a_false_trigger_is_no_trigger_and_several_apply_in_workflow_order(api: Api, shop: Shop) -> None:
    order = placed_order(api, shop, {"TSHIRT": 1})
    [shipment] = shipments_of(api, order["id"])
    assert shipment_trigger(api, shipment["id"], "_picking", False).data["attributes"]["status"] == "upcoming"
    body = document("shipments", {"_packing": True, "_picking": True}, rid=shipment["id"])
    r = api.patch(f"shipments/{shipment['id']}", body)
    assert r.status == 200 and r.data["attributes"]["status"] == "packing", r


def test_a_placed_shipment_takes_metadata_but_not_another_shipping_method(api: Api, shop: Shop) -> None:
    order = placed_order(api, shop, {"TSHIRT": 1})
    [shipment] = shipments_of(api, order["id"])
    r = api.update("shipments", shipment["id"], {"metadata": {"dock": 4}, "_picking": True})
    assert r.status == 200, r
    assert (r.data["attributes"]["metadata"], r.data["attributes"]["status"]) == ({"dock": 4}, "picking")
    method = ("shipping_methods", shop.shipping_method.pk)
    r = api.update("shipments", shipment["id"], relationships={"shipping_method": method})
    assert r.status == 422 and problems(r)["/data/attributes/status"] == [
        "cannot modify an order in status approved"
    ]


def test_goods_are_handled_only_once_the_order_is_approved(api: Api, shop: Shop) -> None:
    order = placed_order(api, shop, {"TSHIRT": 1}, approve=False)
    assert order_of(api, order["id"])["fulfillment_status"] == "unfulfilled"
    [shipment] = shipments_of(api, order["id"])
    r = shipment_trigger(api, shipment["id"], "_picking")
    assert r.status == 422
    assert problems(r)["/data/attributes/status"] == [
        "cannot transition to picking: the order is placed, not approved"
    ]
    assert shipment_trigger(api, shipment["id"], "_on_hold").data["attributes"]["on_hold_at"] is not None
    assert shipment_trigger(api, shipment["id"], "_upcoming").data["attributes"]["status"] == "upcoming"


def test_a_draft_orders_shipment_takes_no_trigger(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"TSHIRT": 1})
    [shipment] = shipments_of(api, order["id"])
    for name in STEPS:
        r = shipment_trigger(api, shipment["id"], name)
        assert r.status == 422 and "cannot transition from draft" in problems(r)["/data/attributes/status"][0]


def stock(api: Api, shop: Shop, sku: str, location: str) -> int:
    with scope.active(api.scope()):
        item = shop.stock[(sku, location)]
        item.refresh_from_db()
        return int(item.quantity)


def test_cancelling_one_shipment_gives_its_stock_back_and_the_other_fulfils_the_order(
    api: Api, shop: Shop
) -> None:
    order = placed_order(api, shop, {"TSHIRT": 3, "CAP": 2})
    assert (stock(api, shop, "TSHIRT", "milan"), stock(api, shop, "CAP", "berlin")) == (7, 2)
    tshirts, caps = shipments_of(api, order["id"])
    r = shipment_trigger(api, caps["id"], "_cancel")
    assert r.status == 200 and r.data["attributes"]["status"] == "cancelled", r
    assert (stock(api, shop, "TSHIRT", "milan"), stock(api, shop, "CAP", "berlin")) == (7, 4)
    assert order_of(api, order["id"])["fulfillment_status"] == "in_progress"
    for name in ("_picking", "_packing", "_ready_to_ship"):
        assert shipment_trigger(api, tshirts["id"], name).status == 200
    assert order_of(api, order["id"])["fulfillment_status"] == "in_progress"
    assert shipment_trigger(api, tshirts["id"], "_ship").status == 200
    assert order_of(api, order["id"])["fulfillment_status"] == "fulfilled"
    # the order's cancel gives back only what is still taken, and no longer once goods have shipped
    r = order_trigger(api, order["id"], "_cancel")
    assert r.status == 422
    assert problems(r)["/data/attributes/status"] == [
        "cannot cancel an order whose goods have shipped: cancel its other shipments instead"
    ]
    assert (stock(api, shop, "TSHIRT", "milan"), stock(api, shop, "CAP", "berlin")) == (7, 4)


def test_an_order_cancelled_before_shipping_gives_back_each_stock_once(api: Api, shop: Shop) -> None:
    order = placed_order(api, shop, {"TSHIRT": 3, "CAP": 2})
    _, caps = shipments_of(api, order["id"])
    assert shipment_trigger(api, caps["id"], "_cancel").status == 200
    assert order_trigger(api, order["id"], "_cancel").status == 200
    assert (stock(api, shop, "TSHIRT", "milan"), stock(api, shop, "CAP", "berlin")) == (10, 4)
    assert {s["attributes"]["status"] for s in shipments_of(api, order["id"])} == {"cancelled"}


def test_fulfill_marks_an_approved_order_fulfilled(api: Api, shop: Shop) -> None:
    placed = placed_order(api, shop, {"TSHIRT": 1}, approve=False)
    r = order_trigger(api, placed["id"], "_fulfill")
    assert r.status == 422
    assert problems(r)["/data/attributes/fulfillment_status"] == [
        "cannot fulfil an order in status placed (fulfillment unfulfilled)"
    ]
    draft = new_order(api, shop, {"TSHIRT": 1})
    assert order_trigger(api, draft["id"], "_fulfill").status == 422
    assert order_trigger(api, placed["id"], "_approve").status == 200
    r = order_trigger(api, placed["id"], "_fulfill")
    assert r.status == 200 and r.data["attributes"]["fulfillment_status"] == "fulfilled", r
    assert order_trigger(api, placed["id"], "_fulfill").status == 200  # fulfilled already: nothing
    fired = names(api, f"orders/{placed['id']}/events")
    assert fired.count("orders.fulfill") == 1


def test_a_sales_channel_may_not_cancel_or_reopen_a_shipment(api: Api, shop: Shop, make_api: Any) -> None:
    order = placed_order(api, shop, {"TSHIRT": 1})
    [shipment] = shipments_of(api, order["id"])
    channel = make_api(kind="sales_channel", scope=f"market:code:{shop.market.code}")
    for name in ("_cancel", "_upcoming"):
        r = shipment_trigger(channel, shipment["id"], name)
        assert r.status == 400 and r.error_codes == ["PARAM_NOT_ALLOWED"], r
    assert api.get(f"shipments/{shipment['id']}").data["attributes"]["status"] == "upcoming"


def test_other_tenants_and_modes_cannot_move_a_shipment(
    api: Api, shop: Shop, other_org: Api, live_api: Api
) -> None:
    order = placed_order(api, shop, {"TSHIRT": 1})
    [shipment] = shipments_of(api, order["id"])
    for stranger in (other_org, live_api):
        assert shipment_trigger(stranger, shipment["id"], "_picking").status == 404
    assert api.get(f"shipments/{shipment['id']}").data["attributes"]["status"] == "upcoming"


def test_a_transition_costs_a_pinned_number_of_queries(api: Api, shop: Shop) -> None:
    counts = []
    for lines in ({"TSHIRT": 1}, {"TSHIRT": 5, "CAP": 3}):
        order = placed_order(api, shop, lines)
        shipment = shipments_of(api, order["id"])[0]
        with CaptureQueriesContext(connection) as captured:
            r = shipment_trigger(api, shipment["id"], "_picking")
        assert r.status == 200, r
        counts.append(len(captured.captured_queries))
    assert counts == [TRANSITION_QUERIES] * 2


def at_once(api: Api, calls: list[tuple[str, str]]) -> list[int]:
    """PATCH each (shipment id, trigger) at the same moment, each from its own thread, client and database
    connection: their statuses, in the calls' order."""
    import threading

    from django.db import connections

    start = threading.Barrier(len(calls), timeout=30)
    statuses: list[int] = [0] * len(calls)

    def call(n: int, shipment_id: str, name: str) -> None:
        caller = Api(api.token, api.app, api.organization)
        try:
            start.wait()
            statuses[n] = shipment_trigger(caller, shipment_id, name).status
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call, args=(n, *c)) for n, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


@pytest.mark.django_db(transaction=True)
def test_shipments_shipped_at_once_fulfil_their_order_once(api: Api) -> None:
    shop = build_shop(api, skus=SKUS)
    order = placed_order(api, shop, {"TSHIRT": 1, "CAP": 1})
    first, second = shipments_of(api, order["id"])
    for shipment in (first, second):
        for name in ("_picking", "_packing", "_ready_to_ship"):
            assert shipment_trigger(api, shipment["id"], name).status == 200
    # the same step twice at once: one wins, the other finds the shipment moved on
    assert sorted(at_once(api, [(first["id"], "_ship"), (first["id"], "_ship")])) == [200, 422]
    assert order_of(api, order["id"])["fulfillment_status"] == "in_progress"
    assert at_once(api, [(second["id"], "_ship"), (first["id"], "_deliver")]) == [200, 200]
    assert order_of(api, order["id"])["fulfillment_status"] == "fulfilled"
    assert names(api, f"orders/{order['id']}/events").count("orders.fulfill") == 1
