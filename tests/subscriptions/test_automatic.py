"""The automatic path: ``_create_subscriptions`` on a placed order whose line items carry a frequency."""

from __future__ import annotations

import datetime as dt

import pytest

from orderfactory.core import clock
from tests.conftest import document
from tests.orders.conftest import ADDRESS, place
from tests.subscriptions.conftest import parse, run_pending_factories, tick


@pytest.fixture
def model(api, shop):
    def make(strategy="by_frequency", auto_cancel=False):
        m = api.create(
            "subscription_models",
            {
                "name": "Subscribe & save",
                "frequencies": ["weekly", "monthly"],
                "strategy": strategy,
                "auto_cancel": auto_cancel,
            },
        )
        r = api.update("markets", shop.market.pk, relationships={"subscription_model": m})
        assert r.status == 200, r
        return m

    return make


def _subscribed_order(api, shop, lines, adjustment=None):
    body = document("orders", {"customer_email": "ada@example.com"})
    body["data"]["relationships"] = {"market": {"data": {"type": "markets", "id": shop.market.pk}}}
    order = api.post("orders", body).data
    for sku, quantity, frequency in lines:
        api.create(
            "line_items", {"sku_code": sku, "quantity": quantity, "frequency": frequency}, {"order": order}
        )
    if adjustment is not None:
        api.create("line_items", {"quantity": 1}, {"order": order, "item": adjustment})
    billing = api.create("addresses", ADDRESS)
    transfer = api.create("wire_transfers", {})
    r = api.update(
        "orders",
        order["id"],
        {"_save_payment_source_to_customer_wallet": True},
        {
            "billing_address": billing,
            "shipping_address": billing,
            "payment_method": ("payment_methods", shop.payment_method.pk),
            "payment_source": transfer,
        },
    )
    assert r.status == 200, r
    assert place(api, order["id"]).status == 200
    return order


def test_by_frequency_makes_one_subscription_per_frequency(api, shop, model):
    model()
    order = _subscribed_order(api, shop, [("TSHIRT", 2, "monthly"), ("MUG", 1, "weekly"), ("MUG", 3, None)])
    r = api.update("orders", order["id"], {"_create_subscriptions": True})
    assert r.status == 200, r
    subs = api.get(
        f"orders/{order['id']}/order_subscriptions",
        {"include": "order_subscription_items", "sort": "frequency"},
    )
    assert [s["attributes"]["frequency"] for s in subs.data] == ["monthly", "weekly"]
    monthly = subs.data[0]["attributes"]
    assert monthly["status"] == "active" and monthly["occurrencies"] == 1  # the source counts as run 1
    items = {i["attributes"]["sku_code"]: i["attributes"]["quantity"] for i in subs.json["included"]}
    assert items == {"TSHIRT": 2, "MUG": 1}
    # asking again makes no more
    assert api.update("orders", order["id"], {"_create_subscriptions": True}).status == 200
    assert len(api.get(f"orders/{order['id']}/order_subscriptions").data) == 2


def test_a_run_is_a_recurring_copy_of_the_items_only(api, shop, model):
    model()
    order = _subscribed_order(api, shop, [("TSHIRT", 2, "weekly"), ("MUG", 1, None)])
    api.update("orders", order["id"], {"_create_subscriptions": True})
    [sub] = api.get(f"orders/{order['id']}/order_subscriptions").data
    first = parse(sub["attributes"]["next_run_at"])
    assert dt.timedelta(days=6) < first - clock.now() <= dt.timedelta(days=7)
    with clock.frozen(first):
        assert tick()["runs"] == 1
        assert run_pending_factories() == ["completed"]
    [copy] = api.get(f"order_subscriptions/{sub['id']}/recurring_order_copies").data
    target = api.get(f"recurring_order_copies/{copy['id']}/target_order", {"include": "line_items"})
    assert target.data["attributes"]["status"] == "placed"
    skus = [
        i["attributes"]["sku_code"] for i in target.json["included"] if i["attributes"]["item_type"] == "skus"
    ]
    assert skus == ["TSHIRT"]
    assert api.get(f"order_subscriptions/{sub['id']}/orders").data[0]["id"] == target.data["id"]


def test_by_line_items_makes_one_subscription_per_line(api, shop, model):
    model(strategy="by_line_items")
    order = _subscribed_order(api, shop, [("TSHIRT", 2, "weekly"), ("MUG", 1, "weekly")])
    api.update("orders", order["id"], {"_create_subscriptions": True})
    assert len(api.get(f"orders/{order['id']}/order_subscriptions").data) == 2


def _draft_order(api, shop):
    body = document("orders", {"customer_email": "ada@example.com"})
    body["data"]["relationships"] = {"market": {"data": {"type": "markets", "id": shop.market.pk}}}
    return api.post("orders", body).data


def _line(api, order, frequency):
    body = document(
        "line_items",
        {"sku_code": "TSHIRT", "quantity": 1, "frequency": frequency},
        {"order": ("orders", order["id"])},
    )
    return api.post("line_items", body)


def _refused_on_frequency(r, message):
    assert r.status == 422, r
    [error] = r.json["errors"]
    assert error["source"]["pointer"] == "/data/attributes/frequency" and message in error["detail"], r


def test_a_line_item_takes_only_a_frequency_the_markets_model_allows(api, shop, model):
    """resources.json: a line item's frequency "must be supported by existing associated subscription_model".
    Refused when the line is written, not after the order is placed and paid."""
    model()  # weekly and monthly
    order = _draft_order(api, shop)
    for frequency in ("fortnightly", "yearly", "daily", "0 * * * *"):
        _refused_on_frequency(_line(api, order, frequency), "")
    _refused_on_frequency(_line(api, order, "fortnightly"), "is not a supported frequency")
    _refused_on_frequency(_line(api, order, "yearly"), "is not allowed by the market's subscription model")
    line = _line(api, order, "weekly")
    assert line.status == 201, line
    _refused_on_frequency(api.update("line_items", line.data["id"], {"frequency": "yearly"}), "")
    # merged into the weekly line, or a new line: refused the same way
    body = document(
        "line_items",
        {"sku_code": "TSHIRT", "quantity": 1, "frequency": "daily", "_update_quantity": True},
        {"order": ("orders", order["id"])},
    )
    _refused_on_frequency(api.post("line_items", body), "")
    lines = api.get(f"orders/{order['id']}/line_items").data
    assert [(li["attributes"]["frequency"], li["attributes"]["quantity"]) for li in lines] == [("weekly", 1)]
    assert api.update("line_items", line.data["id"], {"frequency": "monthly"}).status == 200
    assert api.update("line_items", line.data["id"], {"frequency": None}).status == 200
    assert _line(api, order, None).status == 201


def test_without_a_subscription_model_a_line_item_takes_no_frequency(api, shop):
    """No model, no subscription could ever be made of the line (``_create_subscriptions`` needs one)."""
    order = _draft_order(api, shop)
    _refused_on_frequency(_line(api, order, "weekly"), "the market has no subscription model")
    line = _line(api, order, None)
    assert line.status == 201, line
    _refused_on_frequency(api.update("line_items", line.data["id"], {"frequency": "monthly"}), "")


def test_line_frequencies_are_checked_again_when_subscriptions_are_made(api, shop, model):
    """The model may have changed since the line was written."""
    m = model()
    order = _subscribed_order(api, shop, [("TSHIRT", 2, "weekly")])
    assert api.update("subscription_models", m["id"], {"frequencies": ["monthly"]}).status == 200
    r = api.update("orders", order["id"], {"_create_subscriptions": True})
    assert r.status == 422, r


def test_auto_cancel_cancels_subscriptions_with_their_source(api, shop, model):
    model(auto_cancel=True)
    order = _subscribed_order(api, shop, [("TSHIRT", 2, "weekly")])
    api.update("orders", order["id"], {"_create_subscriptions": True})
    assert api.update("orders", order["id"], {"_cancel": True}).status == 200
    [sub] = api.get(f"orders/{order['id']}/order_subscriptions").data
    assert sub["attributes"]["status"] == "cancelled"


def test_a_placed_order_is_required(api, shop, model):
    model()
    body = document("orders", {"customer_email": "ada@example.com"})
    body["data"]["relationships"] = {"market": {"data": {"type": "markets", "id": shop.market.pk}}}
    order = api.post("orders", body).data
    r = api.update("orders", order["id"], {"_create_subscriptions": True})
    assert r.status == 422 and r.json["errors"][0]["source"]["pointer"] == "/data/attributes/status"


def test_a_run_copies_no_adjustment_of_its_source(api, shop, model):
    """An adjustment has no frequency: it is a one-off amount of the source, not an item of its subscriptions."""
    model()
    goodwill = api.create("adjustments", {"name": "Goodwill", "currency_code": "EUR", "amount_cents": -500})
    order = _subscribed_order(api, shop, [("TSHIRT", 2, "weekly")], adjustment=goodwill)
    assert api.get(f"orders/{order['id']}").data["attributes"]["adjustment_amount_cents"] == -500
    api.update("orders", order["id"], {"_create_subscriptions": True})
    [sub] = api.get(f"orders/{order['id']}/order_subscriptions").data
    with clock.frozen(parse(sub["attributes"]["next_run_at"])):
        assert tick()["runs"] == 1
        assert run_pending_factories() == ["completed"]
    [copy] = api.get(f"order_subscriptions/{sub['id']}/recurring_order_copies").data
    target = api.get(f"recurring_order_copies/{copy['id']}/target_order", {"include": "line_items"})
    assert target.data["attributes"]["adjustment_amount_cents"] == 0
    assert [i["attributes"]["item_type"] for i in target.json["included"]].count("adjustments") == 0


def test_an_item_may_be_a_bundle_and_a_run_copies_it_as_a_bundle_line(api, shop, model):
    from tests.factories.conftest import set_stock
    from tests.orders.conftest import problems, stock_of
    from tests.orders.test_bundles_and_options import make_bundle

    model()
    kit = make_bundle(api, shop)  # TSHIRT x 1 and MUG x 2, at 25.00
    set_stock(api, "MUG", 20)
    order = _subscribed_order(api, shop, [("TSHIRT", 1, "weekly")])
    api.update("orders", order["id"], {"_create_subscriptions": True})
    [sub] = api.get(f"orders/{order['id']}/order_subscriptions").data
    subscription = ("order_subscriptions", sub["id"])
    item = api.create(
        "order_subscription_items", {"quantity": 1}, {"order_subscription": subscription, "item": kit}
    )
    a = item["attributes"]
    assert (a["bundle_code"], a["sku_code"], a["unit_amount_cents"], a["total_amount_cents"]) == (
        "KIT",
        None,
        2500,
        2500,
    )
    r = api.get(f"order_subscription_items/{item['id']}", {"include": "item,bundle,sku"})
    assert r.data["relationships"]["item"]["data"] == {"type": "bundles", "id": kit["id"]}
    assert r.data["relationships"]["bundle"]["data"] == {"type": "bundles", "id": kit["id"]}
    assert r.data["relationships"]["sku"]["data"] is None
    by_code = api.create(
        "order_subscription_items",
        {"bundle_code": "KIT", "quantity": 1},
        {"order_subscription": subscription},
    )
    assert api.get(f"order_subscription_items/{by_code['id']}/bundle").data["id"] == kit["id"]
    assert api.update("order_subscription_items", by_code["id"], {"quantity": 2}).status == 200
    wrong = api.post(
        "order_subscription_items",
        document(
            "order_subscription_items",
            {"bundle_code": "NOPE", "quantity": 1},
            {"order_subscription": subscription},
        ),
    )
    assert wrong.status == 422 and list(problems(wrong)) == ["/data/attributes/bundle_code"], wrong
    found = api.get("order_subscription_items", {"filter[q][bundle_id_eq]": kit["id"]}).data
    assert sorted(i["id"] for i in found) == sorted([item["id"], by_code["id"]])

    before = stock_of(api, shop)
    with clock.frozen(parse(sub["attributes"]["next_run_at"])):
        assert tick()["runs"] == 1
        assert run_pending_factories() == ["completed"]
    [copy] = api.get(f"order_subscriptions/{sub['id']}/recurring_order_copies").data
    target = api.get(f"recurring_order_copies/{copy['id']}/target_order", {"include": "line_items"})
    assert target.data["attributes"]["status"] == "placed"
    goods = sorted(
        (
            i["attributes"]["item_type"],
            i["attributes"]["sku_code"] or i["attributes"]["bundle_code"],
            i["attributes"]["quantity"],
            i["attributes"]["total_amount_cents"],
        )
        for i in target.json["included"]
        if i["attributes"]["item_type"] in ("skus", "bundles")
    )
    assert goods == [("bundles", "KIT", 1, 2500), ("bundles", "KIT", 2, 5000), ("skus", "TSHIRT", 1, 1500)]
    assert target.data["attributes"]["subtotal_amount_cents"] == 1500 + 2500 + 5000
    # Placed: the bundles' SKUs were taken with the TSHIRT line's (TSHIRT 1 + 3 x 1, MUG 3 x 2).
    after = stock_of(api, shop)
    taken = {key: before[key] - after[key] for key in before if before[key] != after[key]}
    assert sum(q for (sku, _), q in taken.items() if sku == "TSHIRT") == 4
    assert sum(q for (sku, _), q in taken.items() if sku == "MUG") == 6
