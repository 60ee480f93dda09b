"""What Commerce Layer's subscriptions app (github.com/commercelayer/dashboard-apps, apps/subscriptions, v5.1.1,
on @commercelayer/app-elements 7.15.1) sends, request by request as its source builds them through the SDK, and
what it reads of each answer: every request must be a 200 with the documents the app renders. The requests of
the list, the detail and the actions are those the app, built from source, sent from headless Chromium.

Where each request comes from:
- tokeninfo: app-elements' TokenProvider (validateToken.ts), for any token of kind ``subscriptions``;
- the list: the organization (app-elements reads it on every page), SubscriptionsList.tsx (FilteredTable:
  include, ``pageSize: 25``, ``defaultSort: "-updated_at"``), its filters from data/filters.ts and
  data/lists.ts (the tabs' ``status_in``, ``market_id_in``, ``frequency_matches``, the search bar's
  ``number_or_customer_email_cont``), the frequencies from useSubscriptionModelsFrequencies.tsx and the markets
  select of the filters (useResourceSelectOptions.ts);
- the detail: useSubscriptionDetails.tsx (its include), SubscriptionItems.tsx (the items with their SKU),
  SubscriptionOrders.tsx (the recurring orders), ResourceInfoBlocks (tags and metadata);
- the actions: useTriggerAttribute.ts (``_activate``, ``_deactivate``, ``_cancel`` with the detail's include)
  and SubscriptionEdit.tsx (``frequency`` and ``next_run_at``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from orderfactory.core import clock
from tests.conftest import Api
from tests.subscriptions.conftest import parse, run_pending_factories, tick
from tests.subscriptions.test_automatic import _subscribed_order

DETAIL_INCLUDE = ",".join(
    [
        "market",
        "customer",
        "source_order",
        "source_order.billing_address",
        "source_order.shipping_address",
        "order_subscription_items",
        "order_subscription_items.sku",
        "order_subscription_items.bundle",
        "customer_payment_source.payment_source",
    ]
)
LISTABLE_STATUSES = "active,pending,inactive,cancelled"


@pytest.fixture
def app(make_api: Any, api: Api) -> Api:
    """The app's token: an application of kind ``subscriptions`` of the organization and mode of ``api``."""
    return make_api(organization=api.organization.slug, mode=api.mode, kind="subscriptions")


@pytest.fixture
def subscription(api: Api, shop: Any) -> dict[str, Any]:
    """A subscription made by a placed order (the automatic path, so it has items) that has run once: one
    recurring order, placed."""
    model = api.create(
        "subscription_models", {"name": "Subscribe & save", "frequencies": ["weekly", "monthly"]}
    )
    assert api.update("markets", shop.market.pk, relationships={"subscription_model": model}).status == 200
    order = _subscribed_order(api, shop, [("TSHIRT", 2, "weekly"), ("MUG", 1, None)])
    assert api.update("orders", order["id"], {"_create_subscriptions": True}).status == 200
    [sub] = api.get(f"orders/{order['id']}/order_subscriptions").data
    with clock.frozen(parse(sub["attributes"]["next_run_at"]) + dt.timedelta(minutes=1)):
        assert tick()["runs"] == 1
        assert run_pending_factories() == ["completed"]
    return api.get(f"order_subscriptions/{sub['id']}").data


def included(response: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["type"], o["id"]): o for o in response.json.get("included", [])}


def related(response: Any, resource: dict[str, Any], name: str) -> Any:
    """What the SDK puts in ``resource[name]``: the included document(s) its linkage names."""
    linkage = resource["relationships"][name]["data"]
    found = included(response)
    if isinstance(linkage, list):
        return [found[(d["type"], d["id"])] for d in linkage]
    return found[(linkage["type"], linkage["id"])] if linkage is not None else None


def ok(response: Any) -> Any:
    assert response.status == 200, response
    return response


def test_the_app_validates_its_token(app: Api) -> None:
    r = Client().get("/oauth/tokeninfo", headers={"authorization": f"Bearer {app.token}"})
    assert r.status_code == 200, r.content
    info = r.json()
    assert info["token"]["test"] is True  # the app's mode
    assert info["application"]["kind"] == "subscriptions"
    # canUser("read" | "update", "order_subscriptions"), canUser("read", "orders"): the pages and the actions
    assert {"read", "update"} <= set(info["permissions"]["order_subscriptions"]["actions"])
    assert "read" in info["permissions"]["orders"]["actions"]
    assert [a["kind"] for a in info["accessible_apps"]] == ["subscriptions"]


def test_the_list_page(app: Api, subscription: dict[str, Any], shop: Any) -> None:
    # the organization, which app-elements reads on every page
    assert ok(app.get("organization")).data["attributes"]["slug"] == app.organization.slug
    # the frequencies of the filters, and the markets select (its search types into name_i_cont)
    ok(app.get("subscription_models", {"page[number]": "1", "page[size]": "25"}))
    markets = {
        "fields[markets]": "id,name",
        "page[size]": "25",
        "sort": "name",
        "filter[q][disabled_at_null]": "true",
    }
    r = ok(app.get("markets", markets))
    assert [m["attributes"]["name"] for m in r.data] == [shop.market.name]
    assert set(r.data[0]["attributes"]) == {"name"}
    r = ok(app.get("markets", {**markets, "filter[q][name_i_cont]": shop.market.name[:3].lower()}))
    assert [m["id"] for m in r.data] == [shop.market.pk]
    r = ok(app.get("markets", {**markets, "filter[q][id_in]": shop.market.pk}))
    # every tab and filter the app offers, with the table's query
    table = {
        "include": "customer,source_order,source_order.billing_address",
        "sort": "-updated_at",
        "page[number]": "1",
        "page[size]": "25",
    }
    for filters in (
        {"status_in": LISTABLE_STATUSES},
        {"status_in": "active"},
        {"status_in": "active", "market_id_in": shop.market.pk},
        {"status_in": LISTABLE_STATUSES, "frequency_matches": "weekly"},
        {"status_in": LISTABLE_STATUSES, "number_or_customer_email_cont": "ada@"},
        {
            "status_in": LISTABLE_STATUSES,
            "number_or_customer_email_cont": subscription["attributes"]["number"],
        },
    ):
        r = ok(
            app.get("order_subscriptions", {**table, **{f"filter[q][{k}]": v for k, v in filters.items()}})
        )
        assert [s["id"] for s in r.data] == [subscription["id"]], filters
        assert r.json["meta"] == {"record_count": 1, "page_count": 1}
        row = r.data[0]["attributes"]
        # the columns: number, status, last run (failed badge), customer from the billing address
        assert row["number"] and row["status"] == "active"
        assert row["last_run_at"] is not None and row["succeeded_on_last_run"] is True
        address = related(r, related(r, r.data[0], "source_order"), "billing_address")
        assert address["attributes"]["full_name"] and address["attributes"]["country_code"] == "IT"
        assert related(r, r.data[0], "customer")["attributes"]["email"] == row["customer_email"]
    for tab in ("pending", "inactive", "cancelled"):
        r = ok(app.get("order_subscriptions", {**table, "filter[q][status_in]": tab}))
        assert r.data == [] and r.json["meta"]["record_count"] == 0


def test_the_detail_page(app: Api, subscription: dict[str, Any], shop: Any) -> None:
    sid = subscription["id"]
    r = ok(app.get(f"order_subscriptions/{sid}", {"include": DETAIL_INCLUDE}))
    sub = r.data
    a = sub["attributes"]
    assert a["number"] and a["status"] == "active" and a["updated_at"] and a["frequency"] == "weekly"
    assert (
        a["next_run_at"] and a["last_run_at"] and a["succeeded_on_last_run"] is True and a["customer_email"]
    )
    assert related(r, sub, "market")["attributes"]["name"] == shop.market.name
    assert related(r, sub, "customer")["id"]
    source = related(r, sub, "source_order")
    assert source["attributes"]["number"] and "requires_billing_info" in source["attributes"]
    for name in ("billing_address", "shipping_address"):
        address = related(r, source, name)["attributes"]
        assert address["full_name"] and address["line_1"] and address["city"] and address["country_code"]
    items = related(r, sub, "order_subscription_items")
    assert items and all(item["relationships"]["bundle"]["data"] is None for item in items)  # no bundles yet
    assert all(related(r, item, "sku")["attributes"]["code"] for item in items)
    wallet = related(r, sub, "customer_payment_source")
    assert related(r, wallet, "payment_source")["type"] == "wire_transfers"
    # the items section
    r = ok(
        app.get(
            "order_subscription_items",
            {"include": "sku", "page[number]": "1", "filter[q][order_subscription_id_eq]": sid},
        )
    )
    assert [i["id"] for i in r.data] == [i["id"] for i in items]
    for item in r.data:
        sku = related(r, item, "sku")["attributes"]
        assert sku["code"] and sku["name"] and "image_url" in sku
        assert item["attributes"]["quantity"] and item["attributes"]["formatted_unit_amount"]
        assert item["attributes"]["formatted_total_amount"]
    # the recurring orders section, then its "see all" page
    for size in ("5", "25"):
        r = ok(
            app.get(
                "orders",
                {
                    "filter[q][order_subscription_id_eq]": sid,
                    "filter[q][status_in]": "pending,placed,approved",
                    "sort": "-updated_at",
                    "page[number]": "1",
                    "page[size]": size,
                },
            )
        )
        assert r.json["meta"]["record_count"] == 1
        order = r.data[0]["attributes"]
        assert (
            order["status"] == "placed"
            and order["number"]
            and order["updated_at"]
            and order["payment_status"]
        )
    # the sidebar: tags (none on this subscription) and metadata
    r = ok(app.get(f"order_subscriptions/{sid}/tags", {"fields[tags]": "id,name", "page[size]": "25"}))
    assert r.data == []
    r = ok(app.get(f"order_subscriptions/{sid}", {"fields[order_subscriptions]": "metadata"}))
    assert set(r.data["attributes"]) == {"metadata"}


def test_the_actions(app: Api, subscription: dict[str, Any]) -> None:
    sid = subscription["id"]

    def trigger(name: str) -> dict[str, Any]:
        body = {"data": {"type": "order_subscriptions", "id": sid, "attributes": {name: True}}}
        r = ok(app.patch(f"order_subscriptions/{sid}?include={DETAIL_INCLUDE}", body))
        assert related(r, r.data, "source_order") is not None  # the page re-renders from this answer
        return r.data["attributes"]

    assert trigger("_deactivate")["status"] == "inactive"
    assert trigger("_activate")["status"] == "active"
    # the edit page
    next_run = (clock.now() + dt.timedelta(days=3)).replace(microsecond=0)
    body = {
        "data": {
            "type": "order_subscriptions",
            "id": sid,
            "attributes": {
                "frequency": "monthly",
                "next_run_at": next_run.isoformat().replace("+00:00", ".000Z"),
            },
        }
    }
    a = ok(app.patch(f"order_subscriptions/{sid}", body)).data["attributes"]
    assert a["frequency"] == "monthly" and parse(a["next_run_at"]) == next_run
    assert trigger("_cancel")["status"] == "cancelled"
