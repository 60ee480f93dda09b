"""The customers resource over HTTP: emails, passwords, uniqueness per environment, filters, includes."""

from __future__ import annotations

from django.contrib.auth.hashers import check_password

from orderfactory.core import scope
from orderfactory.customers.models import Customer
from tests.catalog.build import address


def pointers(response):
    return [e["source"]["pointer"] for e in response.json["errors"]]


def test_create_a_customer(api):
    created = api.create("customers", {"email": "  Ada@Example.COM ", "reference": "CRM-1"})
    attrs = created["attributes"]
    assert attrs["email"] == "ada@example.com"
    assert attrs["status"] == "prospect"
    assert attrs["has_password"] is False
    assert attrs["total_orders_count"] == 0
    assert attrs["shopper_reference"] and attrs["profile_id"]
    assert attrs["tax_exemption_code"] is None
    assert "password" not in attrs
    assert {"customer_addresses", "customer_payment_sources", "orders", "order_subscriptions"} <= set(
        created["relationships"]
    )


def test_a_password_is_stored_hashed_and_never_shown(api):
    created = api.create("customers", {"email": "ada@example.com", "password": "s3cret-passw0rd"})
    assert created["attributes"]["has_password"] is True
    assert "password" not in created["attributes"]
    assert b"s3cret" not in api.get(f"customers/{created['id']}").body
    with scope.active(api.scope()):
        stored = Customer.objects.get().password
    assert stored != "s3cret-passw0rd" and check_password("s3cret-passw0rd", stored)

    r = api.update("customers", created["id"], {"password": None})
    assert r.data["attributes"]["has_password"] is False


def test_given_references_are_kept(api):
    created = api.create(
        "customers", {"email": "ada@example.com", "shopper_reference": "S-1", "profile_id": "P-1"}
    )
    assert (created["attributes"]["shopper_reference"], created["attributes"]["profile_id"]) == ("S-1", "P-1")


def test_email_is_required_and_must_look_like_an_address(api):
    r = api.post("customers", {"data": {"type": "customers", "attributes": {}}})
    assert r.status == 422 and pointers(r) == ["/data/attributes/email"]
    for bad in ("ada", "ada@example", "a b@example.com", "ada@@example.com"):
        r = api.post("customers", {"data": {"type": "customers", "attributes": {"email": bad}}})
        assert r.status == 422, bad
        assert r.json["errors"][0]["meta"]["error"] == "invalid"
        assert pointers(r) == ["/data/attributes/email"]


def test_an_email_is_taken_once_per_organization_and_mode(api, other_org, live_api):
    api.create("customers", {"email": "ada@example.com"})
    again = api.create("customers", {"email": "ADA@example.com"}, expect=422)
    assert again["errors"][0]["meta"] == {"error": "taken", "value": "ada@example.com"}
    assert again["errors"][0]["source"] == {"pointer": "/data/attributes/email"}
    other_org.create("customers", {"email": "ada@example.com"})
    live_api.create("customers", {"email": "ada@example.com"})


def test_changing_to_a_taken_email_is_refused(api):
    api.create("customers", {"email": "ada@example.com"})
    bob = api.create("customers", {"email": "bob@example.com"})
    r = api.update("customers", bob["id"], {"email": "ada@example.com"})
    assert r.status == 422 and r.json["errors"][0]["meta"]["error"] == "taken"
    r = api.update("customers", bob["id"], {"email": "bob@example.com", "tax_exemption_code": "EX-1"})
    assert r.status == 200 and r.data["attributes"]["tax_exemption_code"] == "EX-1"


def test_status_and_counters_are_read_only(api):
    created = api.create("customers", {"email": "ada@example.com"})
    for name, value in (("status", "repeat"), ("total_orders_count", 3), ("has_password", True)):
        r = api.update("customers", created["id"], {name: value})
        assert r.status == 400 and r.error_codes == ["PARAM_NOT_ALLOWED"], name


def test_filter_by_email(api):
    for email in ("ada@example.com", "bob@example.com", "ada@acme.org"):
        api.create("customers", {"email": email})
    r = api.get("customers", {"filter[q][email_cont]": "ada", "sort": "email"})
    assert [c["attributes"]["email"] for c in r.data] == ["ada@acme.org", "ada@example.com"]
    r = api.get("customers", {"filter[q][email_eq]": "bob@example.com"})
    assert r.json["meta"]["record_count"] == 1
    r = api.get("customers", {"filter[q][status_eq]": "prospect"})
    assert r.json["meta"]["record_count"] == 3


def test_delete_a_customer_with_its_address_book(api):
    ada = api.create("customers", {"email": "ada@example.com"})
    place = address(api)
    api.create("customer_addresses", {}, {"customer": ada, "address": place})
    assert api.delete(f"customers/{ada['id']}").status == 204
    assert api.get(f"customers/{ada['id']}").status == 404
    assert api.get("customer_addresses").json["meta"]["record_count"] == 0
    assert api.get(f"addresses/{place['id']}").status == 200  # the address itself stays


def test_include_the_address_book_with_its_addresses(api):
    ada = api.create("customers", {"email": "ada@example.com"})
    place = address(api)
    entry = api.create("customer_addresses", {}, {"customer": ada, "address": place})
    r = api.get(f"customers/{ada['id']}", {"include": "customer_addresses.address"})
    assert r.status == 200, r
    assert r.data["relationships"]["customer_addresses"]["data"] == [
        {"type": "customer_addresses", "id": entry["id"]}
    ]
    included = {(o["type"], o["id"]): o for o in r.json["included"]}
    assert included[("customer_addresses", entry["id"])]["relationships"]["address"]["data"] == {
        "type": "addresses",
        "id": place["id"],
    }
    assert ("addresses", place["id"]) in included

    listed = api.get(f"customers/{ada['id']}/customer_addresses")
    assert [e["id"] for e in listed.data] == [entry["id"]]


def test_customers_of_another_organization_are_not_found(api, other_org):
    ada = api.create("customers", {"email": "ada@example.com"})
    assert other_org.get(f"customers/{ada['id']}").status == 404
    assert other_org.get("customers").json["meta"]["record_count"] == 0
