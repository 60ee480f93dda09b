"""The customer_payment_sources resource: a customer's wallet, holding wire transfers or external payments."""

from __future__ import annotations

import pytest

from orderfactory.core import scope
from orderfactory.payments.models import ExternalPayment, WireTransfer


@pytest.fixture
def ada(api):
    return api.create("customers", {"email": "ada@example.com"})


@pytest.fixture
def card(api):
    gateway = api.create(
        "external_gateways", {"name": "PSP", "authorize_url": "https://psp.example.com/auth"}
    )
    method = api.create(
        "payment_methods",
        {
            "payment_source_type": "external_payments",
            "currency_code": "EUR",
            "price_amount_cents": 0,
            "name": "Card",
        },
        {"payment_gateway": gateway},
    )
    payment = api.create("external_payments", {"payment_source_token": "tok_4242"})
    return method, payment


def entry_document(customer, source=None, method=None, **attributes):
    relationships = {"customer": {"data": {"type": "customers", "id": customer["id"]}}}
    if source is not None:
        relationships["payment_source"] = {"data": {"type": source["type"], "id": source["id"]}}
    if method is not None:
        relationships["payment_method"] = {"data": {"type": "payment_methods", "id": method["id"]}}
    return {
        "data": {"type": "customer_payment_sources", "attributes": attributes, "relationships": relationships}
    }


def test_save_an_external_payment_with_its_method(api, ada, card):
    method, payment = card
    r = api.post(
        "customer_payment_sources?include=payment_source,payment_method", entry_document(ada, payment, method)
    )
    assert r.status == 201, r
    entry = r.data
    assert entry["attributes"]["name"] == "Card"
    assert entry["attributes"]["payment_source_token"] == "tok_4242"
    assert entry["relationships"]["payment_source"]["data"] == {
        "type": "external_payments",
        "id": payment["id"],
    }
    included = {(o["type"], o["id"]) for o in r.json["included"]}
    assert included == {("external_payments", payment["id"]), ("payment_methods", method["id"])}

    # The payment source knows the wallet entry holding it.
    r = api.get(f"external_payments/{payment['id']}", {"include": "wallet"})
    assert r.data["relationships"]["wallet"]["data"] == {
        "type": "customer_payment_sources",
        "id": entry["id"],
    }


def test_save_a_wire_transfer(api, ada):
    transfer = api.create("wire_transfers", {})
    r = api.post("customer_payment_sources", entry_document(ada, transfer, customer_token="cus_1"))
    assert r.status == 201, r
    assert r.data["attributes"] == {
        **r.data["attributes"],
        "name": "Wire transfer",
        "customer_token": "cus_1",
        "payment_source_token": None,
    }
    r = api.get(f"customers/{ada['id']}", {"include": "customer_payment_sources.payment_source"})
    included = {(o["type"], o["id"]) for o in r.json["included"]}
    assert ("wire_transfers", transfer["id"]) in included


def test_customer_is_required(api, card):
    _method, payment = card
    r = api.post(
        "customer_payment_sources",
        {
            "data": {
                "type": "customer_payment_sources",
                "relationships": {
                    "payment_source": {"data": {"type": "external_payments", "id": payment["id"]}}
                },
            }
        },
    )
    assert r.status == 422
    assert [e["source"]["pointer"] for e in r.json["errors"]] == ["/data/relationships/customer"]


def test_only_served_payment_source_types_are_taken(api, ada):
    document = entry_document(ada)
    document["data"]["relationships"]["payment_source"] = {
        "data": {"type": "stripe_payments", "id": "abcdefghij"}
    }
    r = api.post("customer_payment_sources", document)
    assert r.status == 400 and r.error_codes == ["INVALID_RELATIONSHIP"]


def test_a_payment_source_is_in_one_wallet_only(api, ada, card):
    _method, payment = card
    bob = api.create("customers", {"email": "bob@example.com"})
    assert api.post("customer_payment_sources", entry_document(ada, payment)).status == 201
    r = api.post("customer_payment_sources", entry_document(bob, payment))
    assert r.status == 422
    assert r.json["errors"][0]["source"] == {"pointer": "/data/relationships/payment_source"}
    assert r.json["errors"][0]["meta"]["error"] == "taken"


def test_filter_the_wallets_by_customer_email(api, ada, card):
    _method, payment = card
    bob = api.create("customers", {"email": "bob@example.com"})
    mine = api.post("customer_payment_sources", entry_document(ada, payment)).data
    api.post("customer_payment_sources", entry_document(bob, api.create("wire_transfers", {})))
    r = api.get("customer_payment_sources", {"filter[q][customer_email_eq]": "ada@example.com"})
    assert [e["id"] for e in r.data] == [mine["id"]]
    r = api.get("customer_payment_sources", {"filter[q][payment_source_token_eq]": "tok_4242"})
    assert [e["id"] for e in r.data] == [mine["id"]]
    r = api.get(f"customers/{bob['id']}/customer_payment_sources")
    assert r.json["meta"]["record_count"] == 1


def test_replacing_or_removing_the_source_updates_the_sources(api, ada, card):
    _method, payment = card
    entry = api.post("customer_payment_sources", entry_document(ada, payment)).data
    transfer = api.create("wire_transfers", {})
    r = api.update("customer_payment_sources", entry["id"], relationships={"payment_source": transfer})
    assert r.status == 200, r
    assert r.data["attributes"]["name"] == "Wire transfer"
    with scope.active(api.scope()):
        assert ExternalPayment.objects.get(pk=payment["id"]).customer_payment_source_id is None
        assert WireTransfer.objects.get(pk=transfer["id"]).customer_payment_source_id == entry["id"]

    assert api.delete(f"customer_payment_sources/{entry['id']}").status == 204
    with scope.active(api.scope()):
        assert WireTransfer.objects.get(pk=transfer["id"]).customer_payment_source_id is None


def test_deleting_a_payment_source_empties_its_wallet_entry(api, ada, card):
    _method, payment = card
    entry = api.post("customer_payment_sources", entry_document(ada, payment)).data
    assert api.delete(f"external_payments/{payment['id']}").status == 204
    assert api.get(f"customer_payment_sources/{entry['id']}").status == 404
