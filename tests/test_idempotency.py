"""``Idempotency-Key`` on POST: a retry gets the first response and does nothing else."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from orderfactory.core import clock, scope
from orderfactory.factories import services
from orderfactory.factories.models import OrderFactory
from tests.conftest import document
from tests.factories.conftest import placed
from tests.orders.conftest import build_shop

KEY = {"Idempotency-Key": "3f1c2b8e-copy-ERP-991"}


@pytest.fixture
def placed_order(api: Any) -> dict[str, Any]:
    return placed(api, build_shop(api))


def copy_body(source_id: str, **attributes: Any) -> dict[str, Any]:
    return document(
        "order_copies", {"reference": "ERP-991", **attributes}, {"source_order": ("orders", source_id)}
    )


def factories(api: Any) -> int:
    with scope.active(api.scope()):
        return OrderFactory.objects.count()


def test_a_retry_gets_the_first_response_and_does_nothing_else(api, placed_order):
    body = copy_body(placed_order["id"])
    first = api.post("order_copies", body, headers=KEY)
    assert first.status == 201, first
    assert DBTaskResult.objects.count() == 1  # the copy's job
    retry = api.post("order_copies", body, headers=KEY)
    assert retry.status == 201
    assert retry.body == first.body
    assert retry.headers["Content-Type"] == first.headers["Content-Type"]
    assert retry.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert DBTaskResult.objects.count() == 1
    assert factories(api) == 1


def test_the_same_key_with_another_request_is_a_422(api, placed_order):
    assert api.post("order_copies", copy_body(placed_order["id"]), headers=KEY).status == 201
    r = api.post("order_copies", copy_body(placed_order["id"], reference="ERP-992"), headers=KEY)
    assert r.status == 422, r
    assert r.json["errors"][0]["code"] == "VALIDATION_ERROR"
    assert r.json["errors"][0]["meta"] == {"error": "idempotency_key_reused"}
    r = api.post("shipping_categories", document("shipping_categories", {"name": "Heavy"}), headers=KEY)
    assert r.status == 422, r
    assert factories(api) == 1


def test_keys_belong_to_one_application(api, make_api, placed_order):
    colleague = make_api()  # another application of the same organization and mode
    first = api.post("order_copies", copy_body(placed_order["id"]), headers=KEY)
    second = colleague.post("order_copies", copy_body(placed_order["id"]), headers=KEY)
    assert first.status == second.status == 201
    assert first.data["id"] != second.data["id"]
    assert "Idempotent-Replayed" not in second.headers
    assert factories(api) == 2


def test_a_key_is_free_again_after_24_hours(api, placed_order):
    body = copy_body(placed_order["id"])
    with clock.frozen(clock.now()) as advance:
        first = api.post("order_copies", body, headers=KEY)
        advance(dt.timedelta(hours=23, minutes=59))
        assert api.post("order_copies", body, headers=KEY).body == first.body
        advance(dt.timedelta(minutes=2))
        later = api.post("order_copies", body, headers=KEY)
        assert later.status == 201 and later.data["id"] != first.data["id"]
        assert "Idempotent-Replayed" not in later.headers
        assert api.post("order_copies", body, headers=KEY).body == later.body
    assert factories(api) == 2


def test_an_error_response_is_replayed_too(api, placed_order):
    missing_source = document("order_copies", {"reference": "ERP-991"})
    first = api.post("order_copies", missing_source, headers=KEY)
    assert first.status == 422
    retry = api.post("order_copies", missing_source, headers=KEY)
    assert (retry.status, retry.body) == (422, first.body)
    assert retry.headers["Idempotent-Replayed"] == "true"
    # Another key is a new request.
    assert (
        api.post("order_copies", copy_body(placed_order["id"]), headers={"Idempotency-Key": "other"}).status
        == 201
    )


def test_a_server_error_is_not_stored(api, placed_order, monkeypatch):
    def broken(kind, columns):
        raise RuntimeError("the database went away")

    real = services.create_factory
    monkeypatch.setattr(services, "create_factory", broken)
    body = copy_body(placed_order["id"])
    assert api.post("order_copies", body, headers=KEY).status == 500
    monkeypatch.setattr(services, "create_factory", real)
    retry = api.post("order_copies", body, headers=KEY)
    assert retry.status == 201, retry
    assert "Idempotent-Replayed" not in retry.headers
    assert factories(api) == 1


def test_every_post_takes_a_key(api):
    body = document("shipping_categories", {"name": "Heavy"})
    first = api.post("shipping_categories", body, headers=KEY)
    assert first.status == 201
    assert api.post("shipping_categories", body, headers=KEY).body == first.body
    assert api.get("shipping_categories").json["meta"]["record_count"] == 1
    # Without a key, a POST is a new request every time.
    assert api.post("shipping_categories", body).status == 201
    assert api.get("shipping_categories").json["meta"]["record_count"] == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "with space"])
def test_a_malformed_key_is_a_400(api, key):
    r = api.post(
        "shipping_categories",
        document("shipping_categories", {"name": "Heavy"}),
        headers={"Idempotency-Key": key},
    )
    assert r.status == 400, r
    assert api.get("shipping_categories").json["meta"]["record_count"] == 0


def test_the_key_is_ignored_on_other_methods(api):
    created = api.create("shipping_categories", {"name": "Heavy"})
    patch = document("shipping_categories", {"name": "Light"}, rid=created["id"])
    assert api.patch(f"shipping_categories/{created['id']}", patch, headers=KEY).status == 200
    patch = document("shipping_categories", {"name": "Medium"}, rid=created["id"])
    r = api.patch(f"shipping_categories/{created['id']}", patch, headers=KEY)
    assert r.status == 200 and r.data["attributes"]["name"] == "Medium"


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_make_one_copy(api, placed_order):
    from tests.conftest import Api

    body = copy_body(placed_order["id"])
    callers = 4
    start = threading.Barrier(callers)
    responses: list[Any] = []

    def send() -> None:
        try:
            start.wait()
            responses.append(
                Api(api.token, api.app, api.organization).post("order_copies", body, headers=KEY)
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r.status for r in responses] == [201] * callers, responses
    assert len({r.body for r in responses}) == 1
    assert sum("Idempotent-Replayed" in r.headers for r in responses) == callers - 1
    assert factories(api) == 1
    assert DBTaskResult.objects.count() == 1


def test_keys_older_than_24_hours_are_purged(api):
    from orderfactory import idempotency

    body = document("shipping_categories", {"name": "Heavy"})
    with clock.frozen(clock.now()) as advance:
        api.post("shipping_categories", body, headers=KEY)
        advance(dt.timedelta(hours=23))
        assert idempotency.purge() == 0
        advance(dt.timedelta(hours=1, seconds=1))
        assert idempotency.purge() == 1
        assert api.post("shipping_categories", body, headers=KEY).status == 201
    assert api.get("shipping_categories").json["meta"]["record_count"] == 2
