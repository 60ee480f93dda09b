"""The customer_addresses resource: a customer's address book."""

from __future__ import annotations

from tests.catalog.build import address


def pointers(response):
    return sorted(e["source"]["pointer"] for e in response.json["errors"])


def test_an_entry_shows_its_address_name_and_customer_email(api):
    ada = api.create("customers", {"email": "ada@example.com"})
    place = address(api)
    entry = api.create("customer_addresses", {}, {"customer": ada, "address": place})
    assert entry["attributes"]["customer_email"] == "ada@example.com"
    assert entry["attributes"]["name"] == "Ada Lovelace, Via Roma 1, Milano (IT) 02 1234"
    assert entry["attributes"]["name"] == api.get(f"addresses/{place['id']}").data["attributes"]["name"]

    api.update("addresses", place["id"], {"line_1": "Corso Como 2"})
    assert (
        api.get(f"customer_addresses/{entry['id']}")
        .data["attributes"]["name"]
        .startswith("Ada Lovelace, Corso Como 2")
    )


def test_customer_and_address_are_required(api):
    r = api.post("customer_addresses", {"data": {"type": "customer_addresses"}})
    assert r.status == 422
    assert pointers(r) == ["/data/relationships/address", "/data/relationships/customer"]


def test_the_customer_may_be_named_by_email(api):
    ada = api.create("customers", {"email": "ada@example.com"})
    entry = api.create("customer_addresses", {"customer_email": "ADA@example.com"}, {"address": address(api)})
    r = api.get(f"customer_addresses/{entry['id']}", {"include": "customer"})
    assert r.data["relationships"]["customer"]["data"] == {"type": "customers", "id": ada["id"]}

    unknown = api.create(
        "customer_addresses", {"customer_email": "bob@example.com"}, {"address": address(api)}, expect=422
    )
    assert unknown["errors"][0]["source"] == {"pointer": "/data/attributes/customer_email"}


def test_customer_email_is_not_updatable(api):
    ada = api.create("customers", {"email": "ada@example.com"})
    entry = api.create("customer_addresses", {}, {"customer": ada, "address": address(api)})
    r = api.update("customer_addresses", entry["id"], {"customer_email": "bob@example.com"})
    assert r.status == 400 and r.error_codes == ["PARAM_NOT_ALLOWED"]


def test_move_an_entry_to_another_address(api):
    ada = api.create("customers", {"email": "ada@example.com"})
    entry = api.create("customer_addresses", {}, {"customer": ada, "address": address(api)})
    other = api.create(
        "addresses",
        {
            "business": True,
            "company": "Acme",
            "line_1": "Main St 1",
            "city": "Rome",
            "country_code": "IT",
            "phone": "06 1",
        },
    )
    r = api.update("customer_addresses", entry["id"], relationships={"address": other})
    assert r.status == 200 and r.data["attributes"]["name"].startswith("Acme, Main St 1")
    r = api.update("customer_addresses", entry["id"], relationships={"address": None})
    assert r.status == 422 and pointers(r) == ["/data/relationships/address"]


def test_filter_by_customer_email(api):
    ada = api.create("customers", {"email": "ada@example.com"})
    bob = api.create("customers", {"email": "bob@example.com"})
    mine = api.create("customer_addresses", {}, {"customer": ada, "address": address(api)})
    api.create("customer_addresses", {}, {"customer": bob, "address": address(api)})
    r = api.get("customer_addresses", {"filter[q][customer_email_eq]": "ada@example.com"})
    assert [e["id"] for e in r.data] == [mine["id"]]


def test_an_address_of_another_organization_is_not_found(api, other_org):
    ada = api.create("customers", {"email": "ada@example.com"})
    foreign = address(other_org)
    r = api.post(
        "customer_addresses",
        {
            "data": {
                "type": "customer_addresses",
                "relationships": {
                    "customer": {"data": {"type": "customers", "id": ada["id"]}},
                    "address": {"data": {"type": "addresses", "id": foreign["id"]}},
                },
            }
        },
    )
    assert r.status == 404 and r.error_codes == ["RECORD_NOT_FOUND"]
