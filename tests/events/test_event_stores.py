"""The audit trail: every create, update and destroy of every resource, in the change's own transaction."""

from __future__ import annotations

import re

import pytest

from orderfactory.core import hooks, scope
from orderfactory.events.models import EventStore
from tests.factories.conftest import copy, run_job
from tests.jsonapi.conftest import ADDRESS


def trail(api, type_name, rid):
    r = api.get(f"{type_name}/{rid}/event_stores", {"page[size]": "25"})
    assert r.status == 200, r
    return [row["attributes"] for row in r.data]


def stores(api, **filters):
    with scope.active(api.scope()):
        return list(EventStore.objects.filter(**filters).order_by("created_at", "id"))


def test_create_update_and_delete_are_recorded_with_old_and_new_values(api):
    category = api.create("shipping_categories", {"name": "Default", "code": "STD"})
    r = api.update("shipping_categories", category["id"], {"name": "Standard", "reference": "ERP-7"})
    assert r.status == 200, r
    assert api.update("shipping_categories", category["id"], {"name": "Standard"}).status == 200
    rows = trail(api, "shipping_categories", category["id"])
    assert [row["event"] for row in rows] == [
        "create",
        "update",
    ]  # an update that changes nothing is not a change
    created, updated = rows
    assert created["resource_type"] == "shipping_categories"
    assert created["resource_id"] == category["id"]
    assert created["payload"]["name"] == [None, "Default"]
    assert created["payload"]["code"] == [None, "STD"]
    assert updated["payload"] == {"name": ["Default", "Standard"], "reference": [None, "ERP-7"]}

    assert api.delete(f"shipping_categories/{category['id']}").status == 204
    [destroyed] = stores(api, resource_id=category["id"], event="destroy")
    assert destroyed.resource_type == "shipping_categories"
    assert destroyed.payload["name"] == ["Standard", None]


def test_who_names_the_application_and_uuid_the_request(api):
    category = api.create("shipping_categories", {"name": "Default"})
    r = api.update("shipping_categories", category["id"], {"name": "Other"})
    [store_id] = [row["id"] for row in api.get(f"shipping_categories/{category['id']}/event_stores").data][1:]
    with scope.active(api.scope()):
        row = EventStore.objects.get(pk=store_id)
    assert row.who["application"]["id"] == api.app.id
    assert row.who["application"]["kind"] == "integration"
    assert re.fullmatch(r"[0-9a-f]{32}", row.uuid)
    # A request id the caller sends is the one recorded, so a client can find its own change.
    api.patch(
        f"shipping_categories/{category['id']}",
        {"data": {"type": "shipping_categories", "id": category["id"], "attributes": {"name": "Third"}}},
        headers={"X-Request-Id": "req-42"},
    )
    assert stores(api, resource_id=category["id"])[-1].uuid == "req-42"
    assert r.status == 200


def test_event_stores_are_retrieve_only(api):
    category = api.create("shipping_categories", {"name": "Default"})
    [row] = api.get(f"shipping_categories/{category['id']}/event_stores").data
    r = api.get(f"event_stores/{row['id']}")
    assert r.status == 200, r
    assert r.data["type"] == "event_stores"
    assert set(r.data["attributes"]) >= {"resource_type", "resource_id", "event", "payload", "who"}
    assert api.get("event_stores").status == 405
    assert api.post("event_stores", {"data": {"type": "event_stores", "attributes": {}}}).status == 405
    assert (
        api.patch(f"event_stores/{row['id']}", {"data": {"type": "event_stores", "id": row["id"]}}).status
        == 405
    )
    assert api.delete(f"event_stores/{row['id']}").status == 405


def test_a_failed_write_leaves_no_event_store(api):
    category = api.create("shipping_categories", {"name": "Default"})
    api.create("skus", {"code": "TSHIRT", "name": "T-shirt"}, {"shipping_category": category})
    before = len(stores(api))
    # The destroy is recorded before the row goes; the delete then fails (a SKU needs the category), and the
    # record goes with the rolled-back transaction.
    r = api.delete(f"shipping_categories/{category['id']}")
    assert r.status == 423, r
    # A rejected create writes nothing either.
    assert (
        api.post("shipping_categories", {"data": {"type": "shipping_categories", "attributes": {}}}).status
        == 422
    )
    assert len(stores(api)) == before
    assert [row["event"] for row in trail(api, "shipping_categories", category["id"])] == ["create"]


def test_relationships_are_recorded_by_the_target_id(api):
    first = api.create("shipping_categories", {"name": "First"})
    second = api.create("shipping_categories", {"name": "Second"})
    sku = api.create("skus", {"code": "MUG", "name": "Mug"}, {"shipping_category": first})
    assert api.update("skus", sku["id"], relationships={"shipping_category": second}).status == 200
    assert trail(api, "skus", sku["id"])[-1]["payload"] == {"shipping_category": [first["id"], second["id"]]}


def test_secrets_never_enter_the_trail(api):
    webhook = api.create("webhooks", {"topic": "skus.create", "callback_url": "https://example.com/hooks"})
    secret = webhook["attributes"]["shared_secret"]
    r = api.update("webhooks", webhook["id"], {"_regenerate_shared_secret": True})
    new_secret = r.data["attributes"]["shared_secret"]
    assert new_secret != secret
    customer = api.create("customers", {"email": "ada@example.com", "password": "correct horse battery"})
    assert api.update("customers", customer["id"], {"password": "another secret phrase"}).status == 200
    gateway = api.create(
        "external_gateways", {"name": "PSP", "authorize_url": "https://psp.example/authorize"}
    )
    gateway_secret = gateway["attributes"]["shared_secret"]
    assert api.update("external_gateways", gateway["id"], {"_regenerate_shared_secret": True}).status == 200

    rows = stores(api)
    text = repr([(row.payload, row.who) for row in rows])
    for value in (secret, new_secret, gateway_secret, "correct horse", "another secret", "pbkdf2", "sha256$"):
        assert value not in text
    for row in rows:
        assert not any(re.search("secret|password", name) for name in row.payload), row.payload
    # The changes around the secrets are still recorded.
    assert [r["event"] for r in trail(api, "webhooks", webhook["id"])] == ["create"]
    assert [r["event"] for r in trail(api, "customers", customer["id"])] == ["create"]


def test_bookkeeping_columns_stay_out_and_names_are_the_api_s(api):
    address = api.create("addresses", ADDRESS)
    [row] = trail(api, "addresses", address["id"])
    assert "organization" not in row["payload"] and "mode" not in row["payload"]
    assert "id" not in row["payload"] and "updated_at" not in row["payload"]
    assert row["payload"]["city"] == [None, "Milan"]


def test_other_tenants_cannot_see_the_trail(api, other_org, live_api):
    category = api.create("shipping_categories", {"name": "Default"})
    [row] = api.get(f"shipping_categories/{category['id']}/event_stores").data
    for them in (other_org, live_api):
        assert them.get(f"event_stores/{row['id']}").status == 404
        assert them.get(f"shipping_categories/{category['id']}/event_stores").status == 404


def test_the_history_of_an_order_copy_shows_every_status(api, placed_order):
    r = copy(api, placed_order["id"], attributes={"place_target_order": False})
    assert r.status == 201, r
    factory_id = r.data["id"]
    assert run_job(factory_id) == "completed"
    rows = trail(api, "order_copies", factory_id)
    # A copy that does not place completes in the transaction that writes its target: one update links the
    # target and completes.
    assert [row["event"] for row in rows] == ["create", "update", "update"]
    statuses = [row["payload"]["status"] for row in rows if "status" in row["payload"]]
    assert statuses == [[None, "pending"], ["pending", "in_progress"], ["in_progress", "completed"]]
    linked = [row["payload"]["target_order"] for row in rows if "target_order" in row["payload"]]
    assert len(linked) == 1 and linked[0][0] is None and linked[0][1]
    assert "target_order" in rows[2]["payload"]
    assert rows[1]["who"] == {"application": {"id": "order-factory-worker", "kind": "worker"}}
    assert rows[0]["who"]["application"]["id"] == api.app.id
    # Bookkeeping of the job (its claim and lease) is not part of the resource.
    assert not {"claimed_by", "lease_expires_at", "attempts"} & {
        name for row in rows for name in row["payload"]
    }


def test_services_record_their_writes_too(api):
    """Writes outside the HTTP views (services, the worker) go through the same hook."""
    category = api.create("shipping_categories", {"name": "Default"})
    with scope.active(api.scope()):
        from orderfactory.catalog.models import ShippingCategory

        row = ShippingCategory.objects.get(pk=category["id"])
        before = {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}
        row.name = "Renamed"
        row.save()
        hooks.on_write("update", "shipping_categories", row, before)
    assert trail(api, "shipping_categories", category["id"])[-1]["payload"] == {
        "name": ["Default", "Renamed"]
    }


@pytest.fixture
def placed_order(api):
    from tests.orders.conftest import build_shop, new_order, place

    shop = build_shop(api)
    order = new_order(api, shop, {"TSHIRT": 1})
    r = place(api, order["id"])
    assert r.status == 200, r
    return r.data
