"""A customer's anonymization: requested, cancellable during the grace period, then erased by a job of the
database queue (docs/decisions.md, "Customer anonymization")."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from orderfactory import queue, worker
from orderfactory.core import clock, scope
from orderfactory.customers import anonymization
from orderfactory.customers.models import Customer
from orderfactory.orders.models import Order
from tests.conftest import Api, document
from tests.orders.conftest import build_shop, new_order, place, problems

EMAIL = "ada@example.com"
# PATCH /api/customers/<id> {_request_anonymization: true}: read and lock the customer, write its request,
# queue its job, the customers.request_anonymization event and its webhook lookup, the audit row with
# customers.update and its webhook lookup, render; and the savepoint pair of the engine's transaction inside
# the test's.
REQUEST_QUERIES = 11


def trigger(api: Api, customer_id: str, name: str, value: Any = True) -> Any:
    return api.patch(f"customers/{customer_id}", document("customers", {name: value}, rid=customer_id))


def attributes(api: Api, customer_id: str) -> dict[str, Any]:
    a: dict[str, Any] = api.get(f"customers/{customer_id}").data["attributes"]
    return a


def jobs(customer_id: str) -> Any:
    return DBTaskResult.objects.filter(task_path=queue.ANONYMIZE_CUSTOMER, args_kwargs__args__0=customer_id)


def names(api: Api, customer_id: str) -> list[str]:
    events = api.get(f"customers/{customer_id}/events", {"page[size]": "25"}).data
    return [e["attributes"]["name"] for e in events if "anonymization" in e["attributes"]["name"]]


def run_now(customer_id: str) -> None:
    """The grace period is over: the job may run now."""
    jobs(customer_id).update(run_after=clock.now() - dt.timedelta(seconds=1))


def run_worker() -> None:
    worker.run_standalone(concurrency=1, stop=threading.Event(), batch=True)


def customer_with_history(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """A customer with an address book entry, a wallet entry and a placed order."""
    shop = build_shop(api)
    order = new_order(api, shop, {"TSHIRT": 1}, email=EMAIL)
    body = document("orders", {"_save_payment_source_to_customer_wallet": True}, rid=order["id"])
    assert api.patch(f"orders/{order['id']}", body).status == 200
    assert place(api, order["id"]).status == 200
    customer = api.get(f"orders/{order['id']}/customer").data
    address = api.create(
        "addresses",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "line_1": "Via Roma 1",
            "city": "Milano",
            "zip_code": "20100",
            "country_code": "IT",
            "phone": "+39 02 1234",
        },
    )
    api.create("customer_addresses", {"customer_email": EMAIL}, {"address": address})
    assert len(api.get(f"customers/{customer['id']}/customer_payment_sources").data) == 1
    api.create("gift_card_recipients", {"email": EMAIL, "first_name": "Ada"}, {"customer": customer})
    return customer, order


@pytest.mark.django_db(transaction=True)
def test_a_request_is_erased_by_the_worker_after_the_grace_period(api: Api) -> None:
    customer, order = customer_with_history(api)
    cid = customer["id"]
    r = trigger(api, cid, "_request_anonymization")
    assert r.status == 200, r
    a = r.data["attributes"]
    assert a["anonymization_status"] == "requested"
    info = a["anonymization_info"]
    assert info["status"] == "requested" and info["requested_at"] is not None
    assert info["requester"] == {"id": api.app.pk, "first_name": None, "last_name": None, "email": None}
    assert info["started_at"] is info["completed_at"] is info["cancelled_at"] is None
    [job] = jobs(cid)
    requested_at = dt.datetime.fromisoformat(info["requested_at"].replace("Z", "+00:00"))
    assert job.run_after == requested_at + anonymization.DELAY == requested_at + dt.timedelta(hours=24)

    run_worker()  # the grace period is not over: the job waits
    assert attributes(api, cid)["anonymization_status"] == "requested"
    assert attributes(api, cid)["email"] == EMAIL

    run_now(cid)
    run_worker()
    a = attributes(api, cid)
    assert a["anonymization_status"] == "completed", a
    assert a["anonymization_info"]["started_at"] is not None
    assert a["anonymization_info"]["completed_at"] is not None
    assert a["email"].startswith("anonymized-") and a["email"].endswith("@anonymized.invalid")
    assert a["has_password"] is False
    assert api.get(f"customers/{cid}/customer_payment_sources").data == []
    [entry] = api.get(f"customers/{cid}/customer_addresses", {"include": "address"}).json["included"]
    erased = entry["attributes"]
    assert (erased["first_name"], erased["last_name"], erased["line_1"], erased["phone"]) == ("***",) * 4
    assert (erased["city"], erased["zip_code"], erased["country_code"]) == ("Milano", "20100", "IT")
    o = api.get(f"orders/{order['id']}", {"include": "billing_address"}).json
    assert o["data"]["attributes"]["customer_email"] == a["email"]
    assert o["included"][0]["attributes"]["first_name"] == "***"
    [recipient] = api.get("gift_card_recipients").data
    assert (recipient["attributes"]["email"], recipient["attributes"]["first_name"]) == (a["email"], "***")
    trail = api.get(f"customers/{cid}/event_stores", {"page[size]": "25"}).data
    assert EMAIL not in str([e["attributes"]["payload"] for e in trail])
    fired = names(api, cid)  # the job's two may share an instant
    assert fired[0] == "customers.request_anonymization"
    assert sorted(fired[1:]) == ["customers.complete_anonymization", "customers.start_anonymization"]
    assert [j.status for j in jobs(cid)] == ["SUCCESSFUL"]


def test_a_cancelled_request_erases_nothing_and_a_new_one_is_its_own(api: Api) -> None:
    customer, _ = customer_with_history(api)
    cid = customer["id"]
    assert trigger(api, cid, "_request_anonymization").status == 200
    r = trigger(api, cid, "_cancel_anonymization")
    assert r.status == 200, r
    info = r.data["attributes"]["anonymization_info"]
    assert (r.data["attributes"]["anonymization_status"], info["status"]) == ("cancelled", "cancelled")
    assert info["cancelled_at"] is not None and info["cancellation_requester"]["id"] == api.app.pk
    [first] = jobs(cid)
    assert trigger(api, cid, "_request_anonymization").status == 200
    with scope.active(api.scope()):
        request_id = Customer.objects.get(pk=cid).anonymization_request_id
    anonymization.run(cid, first.args_kwargs["args"][1])  # the cancelled request's job
    assert attributes(api, cid)["anonymization_status"] == "requested"
    assert attributes(api, cid)["email"] == EMAIL
    anonymization.run(cid, request_id)
    assert attributes(api, cid)["anonymization_status"] == "completed"
    anonymization.run(cid, request_id)  # the same job again does nothing
    assert names(api, cid).count("customers.complete_anonymization") == 1


def test_wrong_transitions_are_422(api: Api) -> None:
    customer = api.create("customers", {"email": EMAIL})
    cid = customer["id"]
    r = trigger(api, cid, "_cancel_anonymization")
    assert r.status == 422 and r.error_codes == ["VALIDATION_ERROR"], r
    assert problems(r)["/data/attributes/anonymization_status"] == [
        "cannot transition from none to cancelled"
    ]
    body = document("customers", {"_request_anonymization": True, "_cancel_anonymization": True}, rid=cid)
    r = api.patch(f"customers/{cid}", body)
    assert r.status == 422 and list(problems(r)) == ["/data/attributes/_cancel_anonymization"], r
    assert attributes(api, cid)["anonymization_status"] is None
    assert trigger(api, cid, "_request_anonymization").status == 200
    assert trigger(api, cid, "_request_anonymization").status == 200  # the request stands: one job
    assert jobs(cid).count() == 1
    assert trigger(api, cid, "_request_anonymization", False).status == 200
    with scope.active(api.scope()):
        request_id = Customer.objects.get(pk=cid).anonymization_request_id
        assert anonymization._start(cid, request_id)
    r = trigger(api, cid, "_cancel_anonymization")
    assert problems(r)["/data/attributes/anonymization_status"] == [
        "cannot transition from in_progress to cancelled"
    ]
    assert request_id is not None
    anonymization.run(cid, request_id)  # a run cut off after starting goes on from there
    assert attributes(api, cid)["anonymization_status"] == "completed"
    r = trigger(api, cid, "_request_anonymization")
    assert problems(r)["/data/attributes/anonymization_status"] == [
        "cannot transition from completed to requested"
    ]
    r = trigger(api, cid, "_cancel_anonymization")
    assert problems(r)["/data/attributes/anonymization_status"] == [
        "cannot transition from completed to cancelled"
    ]


def test_an_order_being_placed_fails_the_erasure_and_it_may_be_requested_again(api: Api) -> None:
    customer, order = customer_with_history(api)
    cid = customer["id"]
    assert trigger(api, cid, "_request_anonymization").status == 200
    with scope.active(api.scope()):
        Order.objects.filter(pk=order["id"]).update(status="placing")
        request_id = Customer.objects.get(pk=cid).anonymization_request_id
    assert request_id is not None
    anonymization.run(cid, request_id)
    a = attributes(api, cid)
    assert (a["anonymization_status"], a["email"]) == ("failed", EMAIL)
    assert (
        a["anonymization_info"]["failed_at"] is not None and a["anonymization_info"]["completed_at"] is None
    )
    assert names(api, cid).count("customers.fail_anonymization") == 1
    with scope.active(api.scope()):
        Order.objects.filter(pk=order["id"]).update(status="placed")
    assert (
        trigger(api, cid, "_request_anonymization").data["attributes"]["anonymization_status"] == "requested"
    )


def test_anonymization_status_filters_and_sorts(api: Api) -> None:
    waiting = api.create("customers", {"email": "ada@example.com"})
    api.create("customers", {"email": "bob@example.com"})
    assert trigger(api, waiting["id"], "_request_anonymization").status == 200
    r = api.get("customers", {"filter[q][anonymization_status_eq]": "requested"})
    assert [c["id"] for c in r.data] == [waiting["id"]]
    r = api.get("customers", {"sort": "anonymization_status"})
    assert r.status == 200 and len(r.data) == 2


def test_other_tenants_modes_and_sales_channels_cannot_request_it(
    api: Api, other_org: Api, live_api: Api, make_api: Any
) -> None:
    customer = api.create("customers", {"email": EMAIL})
    for stranger in (other_org, live_api):
        assert trigger(stranger, customer["id"], "_request_anonymization").status == 404
    shop = build_shop(api)
    channel = make_api(kind="sales_channel", scope=f"market:code:{shop.market.code}")
    assert trigger(channel, customer["id"], "_request_anonymization").status in (401, 403, 404)
    assert attributes(api, customer["id"])["anonymization_status"] is None
    assert jobs(customer["id"]).count() == 0


def test_a_request_costs_a_pinned_number_of_queries(api: Api) -> None:
    counts = []
    for email in ("ada@example.com", "bob@example.com"):
        customer = api.create("customers", {"email": email})
        with CaptureQueriesContext(connection) as captured:
            r = trigger(api, customer["id"], "_request_anonymization")
        assert r.status == 200, r
        counts.append(len(captured.captured_queries))
    assert counts == [REQUEST_QUERIES] * 2
