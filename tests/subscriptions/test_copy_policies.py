"""A subscription's copy policies (extensions): create-only on order_subscriptions, passed by each run to the
copy it makes, whose errors_details point at the source's lines."""

from __future__ import annotations

from typing import Any

import pytest

from orderfactory.catalog.models import Price
from orderfactory.core import clock, scope
from tests.conftest import document
from tests.factories.conftest import set_stock, source_lines, target_lines
from tests.orders.conftest import new_order, place
from tests.subscriptions.conftest import parse, run_pending_factories, subscribe, tick


@pytest.fixture
def two_lines(api: Any, shop: Any) -> dict[str, Any]:
    """A placed order of 2 TSHIRT and 1 MUG paid from the customer's wallet."""
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})
    r = api.update("orders", order["id"], {"_save_payment_source_to_customer_wallet": True})
    assert r.status == 200, r
    r = place(api, order["id"])
    assert r.status == 200, r
    return r.data


def first_run(api: Any, subscription: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Run the subscription's first run: its copy's document and target."""
    with clock.frozen(parse(subscription["attributes"]["next_run_at"])):
        assert tick()["runs"] == 1
        run_pending_factories()
    [factory] = api.get(f"order_subscriptions/{subscription['id']}/order_copies").data
    return factory, api.get(f"order_copies/{factory['id']}/target_order").data


@pytest.mark.parametrize(
    ("policy", "status", "lines", "codes"),
    [
        ("fail", "failed", {"TSHIRT": (2, 1500), "MUG": (1, 800)}, ["out_of_stock"]),
        ("drop", "completed", {"TSHIRT": (2, 1500)}, ["line_dropped"]),
        ("reduce", "completed", {"TSHIRT": (1, 1500)}, ["line_reduced", "line_dropped"]),
    ],
)
def test_a_run_copies_under_its_subscription_unavailable_lines(api, two_lines, policy, status, lines, codes):
    sub = subscribe(api, two_lines["id"], unavailable_lines=policy).data
    assert sub["attributes"]["unavailable_lines"] == policy and sub["attributes"]["prices"] == "frozen"
    set_stock(api, "MUG", 0)
    if policy == "reduce":
        set_stock(api, "TSHIRT", 1)
    factory, target = first_run(api, sub)
    attrs = factory["attributes"]
    assert (attrs["status"], attrs["unavailable_lines"]) == (status, policy), attrs
    assert target is not None and target_lines(api, target["id"]) == lines
    assert target["attributes"]["status"] == ("placed" if status == "completed" else "pending")
    ids = source_lines(api, two_lines["id"])
    about_lines = [e for e in attrs["errors_details"] if e["attribute"] == "line_items"]
    assert [e["code"] for e in about_lines] == codes
    for entry in about_lines:
        assert entry["pointer"] == f"/line_items/{ids[entry['sku_code']]}"


def test_a_run_takes_current_prices_when_its_subscription_says_so(api, shop, two_lines):
    sub = subscribe(api, two_lines["id"], prices="current").data
    with scope.active(api.scope()):
        Price.objects.filter(sku=shop.skus["TSHIRT"]).update(amount_cents=1600)
    factory, target = first_run(api, sub)
    assert factory["attributes"]["status"] == "completed" and factory["attributes"]["prices"] == "current"
    assert target is not None and target_lines(api, target["id"]) == {"TSHIRT": (2, 1600), "MUG": (1, 800)}


def test_subscription_policies_are_checked_and_create_only(api, two_lines):
    r = subscribe(api, two_lines["id"], unavailable_lines="sometimes")
    assert r.status == 422 and r.json["errors"][0]["meta"]["error"] == "inclusion", r
    sub = subscribe(api, two_lines["id"], prices="current").data
    r = api.patch(
        f"order_subscriptions/{sub['id']}",
        document("order_subscriptions", {"prices": "frozen"}, rid=sub["id"]),
    )
    assert r.status == 400, r


def test_an_automatic_run_points_at_the_subscription_item(api, shop):
    """A recurring copy copies its subscription's items: an entry about one points at the item."""
    from tests.subscriptions.test_automatic import _subscribed_order

    model = api.create("subscription_models", {"name": "Subscribe", "frequencies": ["weekly"]})
    assert api.update("markets", shop.market.pk, relationships={"subscription_model": model}).status == 200
    order = _subscribed_order(api, shop, [("TSHIRT", 2, "weekly"), ("MUG", 1, None)])
    assert api.update("orders", order["id"], {"_create_subscriptions": True}).status == 200
    [sub] = api.get(f"orders/{order['id']}/order_subscriptions").data
    [item] = api.get(f"order_subscriptions/{sub['id']}/order_subscription_items").data
    set_stock(api, "TSHIRT", 1)
    with clock.frozen(parse(sub["attributes"]["next_run_at"])):
        assert tick()["runs"] == 1
        assert run_pending_factories() == ["failed"]
    [copy] = api.get(f"order_subscriptions/{sub['id']}/recurring_order_copies").data
    [entry] = [e for e in copy["attributes"]["errors_details"] if e["attribute"] == "line_items"]
    assert (entry["code"], entry["pointer"], entry["sku_code"]) == (
        "out_of_stock",
        f"/order_subscription_items/{item['id']}",
        "TSHIRT",
    )
