"""Deliveries: a signed POST of the resource's document to each enabled webhook on the event's topic, made
after the commit, retried with backoff, behind a circuit breaker."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from orderfactory import worker
from orderfactory.core import clock, scope
from orderfactory.events import services
from orderfactory.events.models import EventCallback, WebhookDelivery
from tests.events.conftest import deliver_pending, delivery_of, pending, subscribe
from tests.factories.conftest import copy, run_job
from tests.orders.conftest import build_shop, new_order, place

T0 = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)


def callbacks(api, webhook_id):
    r = api.get(f"webhooks/{webhook_id}/last_event_callbacks", {"page[size]": "25"})
    assert r.status == 200, r
    return [row["attributes"] for row in r.data]


def webhook_state(api, webhook_id):
    a = api.get(f"webhooks/{webhook_id}").data["attributes"]
    return a["circuit_state"], a["circuit_failure_count"]


def run_worker():
    worker.run_standalone(concurrency=1, stop=threading.Event(), batch=True)


@pytest.mark.django_db(transaction=True)
def test_the_worker_delivers_a_signed_document_after_the_commit(api, receiver):
    webhook = subscribe(api, "shipping_categories.create", receiver.url)
    category = api.create("shipping_categories", {"name": "Default", "code": "STD"})
    run_worker()
    [hit] = receiver.received
    assert hit.path == "/hooks"
    assert hit.signed_with(webhook["attributes"]["shared_secret"])
    assert not hit.signed_with("another secret")
    assert hit.headers["content-type"] == "application/vnd.api+json"
    assert hit.headers["x-commercelayer-topic"] == "shipping_categories.create"
    body = hit.json
    assert body["data"]["type"] == "shipping_categories" and body["data"]["id"] == category["id"]
    assert body["data"]["attributes"] == api.get(f"shipping_categories/{category['id']}").data["attributes"]
    [callback] = callbacks(api, webhook["id"])
    assert callback["response_code"] == "200" and callback["response_message"] == "ok"
    assert callback["callback_url"] == receiver.url
    assert callback["payload"] == body
    assert api.get("event_callbacks").data[0]["attributes"]["response_code"] == "200"
    assert pending(api) == []


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_write_delivers_nothing(api, receiver):
    subscribe(api, "shipping_categories.destroy", receiver.url)
    category = api.create("shipping_categories", {"name": "Default"})
    api.create("skus", {"code": "MUG", "name": "Mug"}, {"shipping_category": category})
    assert api.delete(f"shipping_categories/{category['id']}").status == 423
    run_worker()
    assert receiver.received == []
    with scope.active(api.scope()):
        assert not WebhookDelivery.objects.exists()


def test_a_server_error_is_retried_with_backoff(api, receiver):
    receiver.answer((500, 0))
    webhook = subscribe(api, "customers.create", receiver.url)
    api.create("customers", {"email": "ada@example.com"})
    [delivery_id] = pending(api)
    with clock.frozen(T0) as advance:
        services.deliver(delivery_id)
        delivery = delivery_of(api, delivery_id)
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert delivery.next_attempt_at == T0 + dt.timedelta(seconds=10)
        assert webhook_state(api, webhook["id"]) == ("closed", 1)
        services.deliver(delivery_id)  # too early: the retry's own job makes the attempt
        assert len(receiver.received) == 1
        advance(dt.timedelta(seconds=10))
        services.deliver(delivery_id)
    assert delivery_of(api, delivery_id).status == "delivered"
    assert [c["response_code"] for c in callbacks(api, webhook["id"])] == ["500", "200"]
    assert callbacks(api, webhook["id"])[0]["response_message"] == "receiver says no"
    assert webhook_state(api, webhook["id"]) == ("closed", 0)
    assert receiver.received[0].body == receiver.received[1].body


def test_backoff_grows_and_attempts_end(api, receiver, monkeypatch):
    receiver.answer(*[(503, 0)] * 5)
    webhook = subscribe(api, "customers.create", receiver.url)
    api.create("customers", {"email": "ada@example.com"})
    [delivery_id] = pending(api)
    waits = []
    with clock.frozen(T0) as advance:
        for _ in range(5):
            services.deliver(delivery_id)
            delivery = delivery_of(api, delivery_id)
            if delivery.next_attempt_at is None:
                break
            waits.append((delivery.next_attempt_at - clock.now()).total_seconds())
            advance(delivery.next_attempt_at - clock.now())
    assert waits == [10, 30, 90, 270]
    assert delivery_of(api, delivery_id).status == "failed"
    assert len(receiver.received) == 5
    assert webhook_state(api, webhook["id"]) == ("closed", 5)


def test_a_timeout_is_a_failure(api, receiver):
    receiver.answer((200, 1.0))
    webhook = subscribe(api, "customers.create", receiver.url)
    api.create("customers", {"email": "ada@example.com"})
    [delivery_id] = pending(api)
    services.deliver(delivery_id, timeout_seconds=0.2)
    [callback] = callbacks(api, webhook["id"])
    assert callback["response_code"] is None
    assert "did not answer in time" in callback["response_message"]
    assert delivery_of(api, delivery_id).status == "pending"


def test_the_timeout_setting_is_read_at_each_attempt(api, receiver, monkeypatch):
    receiver.answer((200, 1.0))
    subscribe(api, "customers.create", receiver.url)
    api.create("customers", {"email": "ada@example.com"})
    monkeypatch.setenv("ORDERFACTORY_WEBHOOK_TIMEOUT", "0.2")
    [delivery_id] = pending(api)
    services.deliver(delivery_id)
    assert delivery_of(api, delivery_id).attempts == 1
    assert delivery_of(api, delivery_id).status == "pending"


def test_a_refused_connection_is_a_failure(api, refused_url):
    webhook = subscribe(api, "customers.create", refused_url)
    api.create("customers", {"email": "ada@example.com"})
    assert deliver_pending(api) == 1
    [callback] = callbacks(api, webhook["id"])
    assert callback["response_code"] is None and "refused" in callback["response_message"].lower()
    assert webhook_state(api, webhook["id"]) == ("closed", 1)


def test_the_circuit_opens_after_repeated_failures_and_reset_closes_it(
    api, receiver, refused_url, monkeypatch
):
    monkeypatch.setenv("ORDERFACTORY_WEBHOOK_CIRCUIT_THRESHOLD", "3")
    webhook = subscribe(api, "customers.create", refused_url)
    with clock.frozen(T0) as advance:
        for n in range(3):
            api.create("customers", {"email": f"c{n}@example.com"})
        queued = pending(api)
        assert len(queued) == 3
        services.deliver(queued[0])
        services.deliver(queued[1])
        assert webhook_state(api, webhook["id"]) == ("closed", 2)
        services.deliver(queued[2])
        assert webhook_state(api, webhook["id"]) == ("open", 3)
        assert delivery_of(api, queued[2]).status == "failed"
        # An open circuit fails what was waiting, without a call, and queues nothing new.
        advance(dt.timedelta(minutes=1))
        services.deliver(queued[0])
        assert delivery_of(api, queued[0]).status == "failed"
        api.create("customers", {"email": "late@example.com"})
        assert pending(api) == [queued[1]]
        assert len(callbacks(api, webhook["id"])) == 3

        r = api.update("webhooks", webhook["id"], {"_reset_circuit": True, "callback_url": receiver.url})
        assert r.status == 200, r
        assert webhook_state(api, webhook["id"]) == ("closed", 0)
        customer = api.create("customers", {"email": "after@example.com"})
        assert deliver_pending(api, webhook["id"]) == 2  # the earlier retry and the new event
    assert customer["id"] in [hit.json["data"]["id"] for hit in receiver.received]
    assert pending(api) == []
    assert webhook_state(api, webhook["id"]) == ("closed", 0)


def test_a_disabled_webhook_gets_nothing(api, receiver):
    webhook = subscribe(api, "customers.create", receiver.url)
    api.create("customers", {"email": "queued@example.com"})
    [queued] = pending(api)
    assert api.update("webhooks", webhook["id"], {"_disable": True}).status == 200
    api.create("customers", {"email": "ignored@example.com"})
    assert pending(api) == [queued]
    services.deliver(queued)
    assert receiver.received == []
    assert delivery_of(api, queued).status == "failed"
    assert callbacks(api, webhook["id"]) == []


def test_trigger_redelivers_an_event(api, receiver):
    webhook = subscribe(api, "customers.create", receiver.url)
    customer = api.create("customers", {"email": "ada@example.com"})
    assert deliver_pending(api) == 1
    [event] = api.get(f"customers/{customer['id']}/events").data
    assert api.get(f"events/{event['id']}/webhooks").data[0]["id"] == webhook["id"]
    r = api.patch(
        f"events/{event['id']}",
        {"data": {"type": "events", "id": event["id"], "attributes": {"_trigger": True}}},
    )
    assert r.status == 200, r
    assert deliver_pending(api) == 1
    assert [hit.json["data"]["id"] for hit in receiver.received] == [customer["id"], customer["id"]]
    last = api.get(f"events/{event['id']}/last_event_callbacks").data
    assert [c["attributes"]["response_code"] for c in last] == ["200", "200"]
    # Triggering records nothing in the audit trail of the event: nothing about it changed.
    assert api.get(f"events/{event['id']}/event_stores").data == []


def test_each_attempt_signs_with_the_current_secret(api, receiver):
    receiver.answer((500, 0))
    webhook = subscribe(api, "customers.create", receiver.url)
    api.create("customers", {"email": "ada@example.com"})
    [delivery_id] = pending(api)
    with clock.frozen(T0) as advance:
        services.deliver(delivery_id)
        secret = api.update("webhooks", webhook["id"], {"_regenerate_shared_secret": True}).data[
            "attributes"
        ]["shared_secret"]
        advance(dt.timedelta(minutes=1))
        services.deliver(delivery_id)
    first, second = receiver.received
    assert first.signed_with(webhook["attributes"]["shared_secret"])
    assert second.signed_with(secret)


def test_a_destroy_sends_the_identifier(api, receiver):
    subscribe(api, "customers.destroy", receiver.url)
    customer = api.create("customers", {"email": "ada@example.com"})
    assert api.delete(f"customers/{customer['id']}").status == 204
    assert deliver_pending(api) == 1
    data = receiver.received[0].json["data"]
    assert (data["type"], data["id"]) == ("customers", customer["id"])
    assert data["meta"] == {"mode": "test", "organization_id": api.organization.id}


def test_a_completed_copy_is_delivered_with_its_target_order(api, receiver):
    webhook = subscribe(api, "order_copies.complete", receiver.url, include_resources=["target_order"])
    shop = build_shop(api)
    order = new_order(api, shop, {"TSHIRT": 1})
    assert place(api, order["id"]).status == 200
    factory_id = copy(api, order["id"], attributes={"place_target_order": False}).data["id"]
    assert run_job(factory_id) == "completed"
    assert deliver_pending(api) == 1
    [hit] = receiver.received
    assert hit.signed_with(webhook["attributes"]["shared_secret"])
    body = hit.json
    assert body["data"]["type"] == "order_copies" and body["data"]["id"] == factory_id
    assert body["data"]["attributes"]["status"] == "completed"
    target = body["data"]["relationships"]["target_order"]["data"]
    assert target["type"] == "orders"
    assert [(o["type"], o["id"]) for o in body["included"]] == [("orders", target["id"])]


def test_webhooks_of_other_tenants_never_hear_of_our_events(api, other_org, live_api, receiver):
    theirs = [subscribe(them, "customers.create", receiver.url) for them in (other_org, live_api)]
    ours = subscribe(api, "customers.create", receiver.url)
    customer = api.create("customers", {"email": "ada@example.com"})
    assert deliver_pending(api) == 1
    for them in (other_org, live_api):
        assert pending(them) == []
    [hit] = receiver.received
    assert hit.signed_with(ours["attributes"]["shared_secret"])
    assert hit.json["data"]["id"] == customer["id"]
    with scope.active(api.scope()):
        assert {c.webhook_id for c in EventCallback.objects.all()} == {ours["id"]}
    [callback] = api.get("event_callbacks").data
    for them, webhook in zip((other_org, live_api), theirs, strict=True):
        assert them.get(f"event_callbacks/{callback['id']}").status == 404
        assert them.get("event_callbacks").data == []
        assert callbacks(them, webhook["id"]) == []
