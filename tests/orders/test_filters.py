"""Orders filtered through their associations, and every include of an order at once."""

from __future__ import annotations

from orderfactory.core import scope
from orderfactory.events.models import Event
from orderfactory.factories.models import OrderFactory
from orderfactory.subscriptions.models import OrderSubscription
from tests.conftest import Api
from tests.factories.conftest import copy
from tests.orders.conftest import Shop, build_shop, new_order, place


def ids(api: Api, **filters: str) -> list[str]:
    params = {f"filter[q][{k}]": v for k, v in filters.items()}
    r = api.get("orders", {**params, "page[size]": "25"})
    assert r.status == 200, r
    return [o["id"] for o in r.data]


def test_filters_through_market_customer_and_line_items(api: Api, shop: Shop) -> None:
    us = build_shop(api, code="US")
    ada = new_order(api, shop, {"TSHIRT": 1, "MUG": 1}, ready=False)
    api.create("line_items", {"sku_code": "TSHIRT", "quantity": 2}, {"order": ada})  # a second TSHIRT line
    bob = new_order(api, us, {"MUG": 1}, email="bob@example.com", ready=False)
    assert ids(api, market_code_eq="EU") == [ada["id"]]
    assert ids(api, market_code_eq="US") == [bob["id"]]
    assert ids(api, customer_email_eq="bob@example.com") == [bob["id"]]
    assert ids(api, line_items_sku_code_eq="TSHIRT") == [ada["id"]]
    assert ids(api, line_items_sku_code_eq="MUG") == [ada["id"], bob["id"]]
    assert ids(api, line_items_sku_code_eq="MUG", market_code_eq="US") == [bob["id"]]
    r = api.get("orders", {"filter[q][line_items_sku_code_eq]": "TSHIRT"})
    assert r.json["meta"]["record_count"] == 1


def test_every_include_of_an_order(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"TSHIRT": 1, "MUG": 1})
    include = "line_items,market,customer,shipping_address,billing_address,payment_source,shipments"
    r = api.get(f"orders/{order['id']}", {"include": include})
    assert r.status == 200, r
    rels = r.data["relationships"]
    included = {(o["type"], o["id"]): o for o in r.json["included"]}
    for name in ("market", "customer", "shipping_address", "billing_address", "payment_source"):
        linkage = rels[name]["data"]
        assert linkage is not None and (linkage["type"], linkage["id"]) in included, name
    assert rels["payment_source"]["data"]["type"] == "wire_transfers"
    assert rels["market"]["data"]["id"] == shop.market.pk
    assert len(rels["line_items"]["data"]) == 4  # two SKUs, the shipment, the payment method
    assert len(rels["shipments"]["data"]) == 1
    assert all(
        (d["type"], d["id"]) in included for d in rels["line_items"]["data"] + rels["shipments"]["data"]
    )
    listed = api.get("orders", {"include": include})
    assert listed.status == 200 and {o["type"] for o in listed.json["included"]} == {
        "line_items",
        "markets",
        "customers",
        "addresses",
        "wire_transfers",
        "shipments",
    }


def test_an_order_no_subscription_made_has_no_subscription_and_no_free_skus(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"TSHIRT": 1})
    r = api.get(f"orders/{order['id']}", {"include": "order_subscription,available_free_skus,order_copies"})
    assert r.status == 200, r
    rels = r.data["relationships"]
    assert (
        rels["order_subscription"]["data"],
        rels["available_free_skus"]["data"],
        rels["order_copies"]["data"],
    ) == (None, [], [])
    assert api.get(f"orders/{order['id']}/available_free_skus").data == []


def test_filters_through_copies_and_events_no_django_relation_joins(api: Api, shop: Shop) -> None:
    """order_copies, recurring_order_copies and events are related by a column of theirs (source_order_id,
    resource_id), with no Django relation from orders: the filters still behave as Ransack's join."""
    a, b = (place(api, new_order(api, shop)["id"]).data for _ in range(2))
    c = new_order(api, shop, ready=False)
    first = copy(api, a["id"]).data
    failed = copy(api, a["id"]).data
    with scope.active(api.scope()):
        OrderFactory.objects.filter(pk=failed["id"]).update(status="failed")
        sub = OrderSubscription.objects.create(source_order_id=b["id"], frequency="monthly", status="active")
    recurring = copy(
        api,
        b["id"],
        "recurring_order_copies",
        relationships={"order_subscription": ("order_subscriptions", sub.pk)},
    ).data
    assert ids(api, order_copies_id_eq=first["id"]) == [a["id"]]
    assert ids(api, order_copies_status_eq="failed") == [a["id"]]
    assert ids(api, order_copies_status_not_eq="failed") == [a["id"]]  # its other copy is pending
    assert ids(api, order_copies_id_null="false") == [a["id"]]
    # b's copy is a recurring one: no order copy, as c has none: the NULL row of the join
    assert ids(api, order_copies_id_null="true") == [b["id"], c["id"]]
    assert ids(api, order_copies_status_not_in_or_null="pending") == [a["id"], b["id"], c["id"]]
    assert ids(api, order_copies_status_not_in="pending,failed") == []
    assert ids(api, recurring_order_copies_id_eq=recurring["id"]) == [b["id"]]
    assert ids(api, recurring_order_copies_status_present="true", market_code_eq="EU") == [b["id"]]
    assert ids(api, number_or_order_copies_status_eq="failed") == [a["id"]]
    with scope.active(api.scope()):
        placed = sorted(Event.objects.filter(name="orders.place").values_list("resource_id", flat=True))
        event = Event.objects.filter(resource_id=c["id"]).values_list("pk", flat=True).first()
    assert placed == sorted([a["id"], b["id"]])
    assert sorted(ids(api, events_name_eq="orders.place")) == placed
    if event is not None:  # c had an event of its own
        assert ids(api, events_id_eq=event) == [c["id"]]
    assert ids(api, events_name_eq="orders.place", number_eq=a["attributes"]["number"]) == [a["id"]]


def test_the_subscription_of_an_order_it_made(api: Api, shop: Shop) -> None:
    """A target order's order_subscription goes through the factory that made it (the app's recurring orders)."""
    source = place(api, new_order(api, shop)["id"]).data
    other = new_order(api, shop, ready=False)
    with scope.active(api.scope()):
        sub = OrderSubscription.objects.create(
            source_order_id=source["id"], frequency="monthly", status="active"
        )
        OrderFactory.objects.create(
            type="recurring_order_copies",
            source_order_id=source["id"],
            target_order_id=other["id"],
            order_subscription=sub,
            status="completed",
        )
    assert ids(api, order_subscription_id_eq=sub.pk) == [other["id"]]
    assert other["attributes"]["status"] == "pending"
    assert ids(api, order_subscription_id_eq=sub.pk, status_in="pending,placed,approved") == [other["id"]]
    assert ids(api, order_subscription_id_eq=sub.pk, status_in="placed,approved") == []
    assert ids(api, order_subscription_frequency_eq="monthly") == [other["id"]]
    assert ids(api, order_subscription_id_null="true") == [source["id"]]


def test_amounts_we_do_not_model_filter_and_sort_as_zero(api: Api, shop: Shop) -> None:
    a = new_order(api, shop, ready=False)
    b = new_order(api, shop, ready=False)
    assert ids(api, total_tax_amount_cents_eq="0") == [a["id"], b["id"]]
    assert ids(api, total_tax_amount_cents_gt="0") == []
    assert ids(api, fees_amount_cents_lteq="0", duty_amount_cents_in="0,1") == [a["id"], b["id"]]
    assert ids(api, subtotal_tax_amount_cents_not_eq="0", total_tax_amount_cents_null="false") == []
    # sorted by one, whether or not the fieldset renders it
    for fields in ("number", "number,total_tax_amount_cents"):
        r = api.get("orders", {"sort": "-total_tax_amount_cents,-created_at", "fields[orders]": fields})
        assert r.status == 200, r
        assert [o["id"] for o in r.data] == [b["id"], a["id"]]
    line = api.get(f"orders/{a['id']}/line_items").data[0]
    r = api.get("line_items", {"filter[q][tax_amount_cents_eq]": "0", "filter[q][order_id_eq]": a["id"]})
    assert line["id"] in [d["id"] for d in r.data] and line["attributes"]["tax_amount_cents"] == 0
    # through an association the constant cannot be joined: refused, not a 500
    r = api.get("line_items", {"filter[q][order_fees_amount_cents_eq]": "0"})
    assert r.error_codes == ["FILTER_NOT_ALLOWED"]
    # taxes are columns (orders.services.taxing): their association filters join
    r = api.get("line_items", {"filter[q][order_total_tax_amount_cents_eq]": "0"})
    assert line["id"] in [d["id"] for d in r.data]
