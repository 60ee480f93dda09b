"""Named events: ``<type>.create|update|destroy`` for every resource plus the domain events, served at
/api/events and /api/<type>/<id>/events; the topics a webhook may subscribe to."""

from __future__ import annotations

import re
from pathlib import Path

from django.db import transaction

from orderfactory.catalog.models import ShippingCategory
from orderfactory.core import hooks, scope
from orderfactory.events import services
from orderfactory.events.models import Event, EventStore, WebhookDelivery
from tests.factories.conftest import copy, run_job
from tests.orders.conftest import build_shop, new_order, place

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def names(api, path, **params):
    r = api.get(path, {"page[size]": "25", **params})
    assert r.status == 200, r
    return [row["attributes"]["name"] for row in r.data]


def test_writes_fire_create_update_and_destroy(api):
    customer = api.create("customers", {"email": "ada@example.com"})
    assert api.update("customers", customer["id"], {"reference": "CRM-1"}).status == 200
    assert names(api, f"customers/{customer['id']}/events") == ["customers.create", "customers.update"]
    assert api.delete(f"customers/{customer['id']}").status == 204
    assert "customers.destroy" in names(api, "events", **{"filter[q][name_eq]": "customers.destroy"})


def test_events_list_retrieve_and_filter(api):
    api.create("shipping_categories", {"name": "One"})
    api.create("customers", {"email": "grace@example.com"})
    r = api.get("events", {"filter[q][name_start]": "customers.", "sort": "-name"})
    assert r.status == 200, r
    [event] = r.data
    assert event["type"] == "events" and event["attributes"]["name"] == "customers.create"
    one = api.get(f"events/{event['id']}")
    assert one.status == 200 and one.data["attributes"]["name"] == "customers.create"
    assert api.post("events", {"data": {"type": "events", "attributes": {"name": "x.y"}}}).status == 405
    assert api.delete(f"events/{event['id']}").status == 405
    # The name is what happened: it cannot be rewritten.
    r = api.patch(
        f"events/{event['id']}", {"data": {"type": "events", "id": event["id"], "attributes": {"name": "x"}}}
    )
    assert r.status == 400, r
    # Metadata is the client's: changing it is audited, and fires no topic (events have none).
    r = api.patch(
        f"events/{event['id']}",
        {"data": {"type": "events", "id": event["id"], "attributes": {"metadata": {"seen": True}}}},
    )
    assert r.status == 200, r
    assert [s["attributes"]["event"] for s in api.get(f"events/{event['id']}/event_stores").data] == [
        "update"
    ]
    assert api.get("events", {"filter[q][name_start]": "events."}).data == []


def test_an_order_copy_fires_its_lifecycle(api):
    shop = build_shop(api)
    order = new_order(api, shop, {"TSHIRT": 1})
    assert place(api, order["id"]).status == 200
    r = copy(api, order["id"], attributes={"place_target_order": False})
    factory_id = r.data["id"]
    assert run_job(factory_id) == "completed"
    assert names(api, f"order_copies/{factory_id}/events") == [
        "order_copies.create",
        "order_copies.update",
        "order_copies.start",
        "order_copies.update",  # the target order is linked and the copy completed, in one transaction
        "order_copies.complete",
    ]


def test_placing_cancelling_and_approving_an_order_fire_their_events(api):
    shop = build_shop(api)
    order = new_order(api, shop, {"TSHIRT": 1})
    assert place(api, order["id"]).status == 200
    assert api.update("orders", order["id"], {"_approve": True}).status == 200
    assert api.update("orders", order["id"], {"_cancel": True}).status == 200
    fired = names(api, f"orders/{order['id']}/events")
    domain = [n for n in fired if n.split(".")[1] in services.DOMAIN_EVENTS["orders"]]
    # approving starts the fulfilment of an order with goods to ship: two events of the same instant
    assert domain[0] == "orders.place" and domain[-1] == "orders.cancel"
    assert sorted(domain[1:-1]) == ["orders.approve", "orders.start_fulfilling"]


def test_other_tenants_see_no_events(api, other_org, live_api):
    customer = api.create("customers", {"email": "ada@example.com"})
    [event] = api.get(f"customers/{customer['id']}/events").data
    for them in (other_org, live_api):
        assert them.get(f"events/{event['id']}").status == 404
        assert them.get("events").data == []
        assert (
            them.patch(
                f"events/{event['id']}",
                {"data": {"type": "events", "id": event["id"], "attributes": {"_trigger": True}}},
            ).status
            == 404
        )


def test_a_webhook_topic_must_be_a_known_topic(api):
    for topic in (
        "orders.place",
        "order_copies.complete",
        "recurring_order_copies.fail",
        "skus.destroy",
        "webhooks.create",
    ):
        api.create("webhooks", {"topic": topic, "callback_url": "https://example.com/hooks"})
    for topic in (
        "orders.explode",
        "event_stores.create",
        "events.update",
        "organization.update",
        "orders",
        "",
    ):
        r = api.post(
            "webhooks",
            {
                "data": {
                    "type": "webhooks",
                    "attributes": {"topic": topic, "callback_url": "https://example.com/h"},
                }
            },
        )
        assert r.status == 422, (topic, r)
        assert r.json["errors"][0]["source"]["pointer"] == "/data/attributes/topic"


def documented_topics() -> dict[str, str]:
    """topic -> its 'when it fires' cell, from the table in docs/events.md."""
    rows = re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \| ([^|]+) \|", DOC.read_text(), flags=re.MULTILINE)
    return dict(rows)


def test_every_topic_is_documented_and_every_documented_topic_exists():
    assert set(documented_topics()) == services.topics()


def test_firing_an_event_nobody_listens_to_costs_two_queries(api, django_assert_num_queries):
    category = api.create("shipping_categories", {"name": "Default"})
    with scope.active(api.scope()):
        row = ShippingCategory.objects.get(pk=category["id"])
        with django_assert_num_queries(2):  # insert the event, look for webhooks on its topic
            hooks.event("shipping_categories.update", "shipping_categories", row)
        before = services.snapshot(row)
        row.name = "Renamed"
        with django_assert_num_queries(3):  # and the event store
            hooks.on_write("update", "shipping_categories", row, before)


def test_batched_hooks_write_their_rows_together_in_order_or_not_at_all(api, django_assert_num_queries):
    category = api.create("shipping_categories", {"name": "Default"})
    webhook = api.create(
        "webhooks",
        {"topic": "shipping_categories.update", "callback_url": "https://example.com/hooks"},
    )
    with scope.active(api.scope()):
        row = ShippingCategory.objects.get(pk=category["id"])
        before = services.snapshot(row)
        row.name = "Renamed"
        # savepoint, one INSERT of the trail row, one of both events, one webhook lookup for both topics, then
        # the one delivery (its document read, its row, its job: queued in the same transaction, so it exists
        # exactly when the delivery does), release: unbatched, each event looks up on its own
        with django_assert_num_queries(8), transaction.atomic(), hooks.batched():
            hooks.on_write("update", "shipping_categories", row, before)
            hooks.event("shipping_categories.create", "shipping_categories", row)
        deliveries = list(WebhookDelivery.objects.values_list("webhook_id", flat=True))
        assert deliveries == [webhook["id"]]
        with transaction.atomic():
            try:
                with hooks.batched():
                    hooks.event("shipping_categories.update", "shipping_categories", row)
                    raise RuntimeError("the block fails; its transaction goes on")
            except RuntimeError:
                pass
        # as the API lists them: by (created_at, id)
        fired = Event.objects.filter(resource_id=row.pk).order_by("created_at", "id")
        assert list(fired.values_list("name", flat=True)) == [
            "shipping_categories.create",
            "shipping_categories.update",  # held, and written before the next one
            "shipping_categories.create",
        ]
        trail = EventStore.objects.filter(resource_id=row.pk).order_by("created_at", "id")
        assert list(trail.values_list("event", flat=True)) == ["create", "update"]
