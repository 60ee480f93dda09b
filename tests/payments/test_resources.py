"""external_gateways, payment_methods, wire_transfers and external_payments over HTTP."""

from __future__ import annotations

import pytest

from tests.catalog import build


def pointers(response):
    return sorted(e["source"]["pointer"] for e in response.json["errors"])


@pytest.fixture
def manual(api):
    return api.create("manual_gateways", {"name": "Manual"})


@pytest.fixture
def external(api):
    return api.create(
        "external_gateways",
        {
            "name": "PSP",
            "authorize_url": "https://psp.example.com/authorize",
            "void_url": "https://psp.example.com/void",
        },
    )


def method_document(gateway, **attributes):
    return {
        "data": {
            "type": "payment_methods",
            "attributes": attributes,
            "relationships": {"payment_gateway": {"data": {"type": gateway["type"], "id": gateway["id"]}}},
        }
    }


# --- external gateways ---------------------------------------------------------------------------------


def test_an_external_gateway_gets_a_shared_secret_and_a_closed_circuit(api, external):
    attrs = external["attributes"]
    assert len(attrs["shared_secret"]) >= 32
    assert (attrs["circuit_state"], attrs["circuit_failure_count"]) == ("closed", 0)
    assert attrs["authorize_url"] == "https://psp.example.com/authorize"
    other = api.create("external_gateways", {"name": "Other"})
    assert other["attributes"]["shared_secret"] != attrs["shared_secret"]


def test_the_shared_secret_is_generated_not_given(api, external):
    r = api.post(
        "external_gateways",
        {"data": {"type": "external_gateways", "attributes": {"name": "X", "shared_secret": "mine"}}},
    )
    assert r.status == 400 and r.error_codes == ["PARAM_NOT_ALLOWED"]
    r = api.update("external_gateways", external["id"], {"_regenerate_shared_secret": True})
    assert r.status == 200
    assert r.data["attributes"]["shared_secret"] != external["attributes"]["shared_secret"]


def test_gateway_urls_must_be_http(api):
    r = api.post(
        "external_gateways",
        {
            "data": {
                "type": "external_gateways",
                "attributes": {"name": "X", "authorize_url": "file:///etc/passwd", "void_url": "nope"},
            }
        },
    )
    assert r.status == 422
    assert pointers(r) == ["/data/attributes/authorize_url", "/data/attributes/void_url"]


def test_reset_circuit_and_disable(api, external):
    from orderfactory.core import scope
    from orderfactory.payments.models import ExternalGateway

    with scope.active(api.scope()):
        ExternalGateway.objects.filter(pk=external["id"]).update(
            circuit_state="open", circuit_failure_count=30
        )
    r = api.update("external_gateways", external["id"], {"_reset_circuit": True, "_disable": True})
    assert (r.data["attributes"]["circuit_state"], r.data["attributes"]["circuit_failure_count"]) == (
        "closed",
        0,
    )
    assert r.data["attributes"]["disabled_at"] is not None
    r = api.update("external_gateways", external["id"], {"_enable": True})
    assert r.data["attributes"]["disabled_at"] is None


# --- payment methods -----------------------------------------------------------------------------------


def test_create_a_payment_method_on_a_manual_gateway(api, manual):
    r = api.post(
        "payment_methods?include=payment_gateway",
        method_document(
            manual, payment_source_type="wire_transfers", currency_code="EUR", price_amount_cents=150
        ),
    )
    assert r.status == 201, r
    attrs = r.data["attributes"]
    assert attrs["name"] == "Wire Transfer"  # the titleized source type
    assert (attrs["moto"], attrs["require_capture"], attrs["auto_place"], attrs["auto_capture"]) == (
        False,
        True,
        False,
        False,
    )
    assert (attrs["price_amount_cents"], attrs["price_amount_float"], attrs["formatted_price_amount"]) == (
        150,
        1.5,
        "€1,50",
    )
    assert (
        attrs["auto_capture_max_amount_cents"] is None and attrs["formatted_auto_capture_max_amount"] is None
    )
    assert r.data["relationships"]["payment_gateway"]["data"] == {
        "type": "manual_gateways",
        "id": manual["id"],
    }
    assert r.json["included"][0]["id"] == manual["id"]


def test_required_fields_are_reported_at_once(api):
    r = api.post("payment_methods", {"data": {"type": "payment_methods", "attributes": {}}})
    assert r.status == 422
    assert pointers(r) == [
        "/data/attributes/payment_source_type",
        "/data/attributes/price_amount_cents",
        "/data/relationships/payment_gateway",
    ]


def test_currency_is_required_unless_the_market_gives_it(api, manual):
    r = api.post(
        "payment_methods", method_document(manual, payment_source_type="wire_transfers", price_amount_cents=0)
    )
    assert r.status == 422 and pointers(r) == ["/data/attributes/currency_code"]

    market = build.market(api, prices=build.price_list(api, currency_code="USD"))
    document = method_document(manual, payment_source_type="wire_transfers", price_amount_cents=0)
    document["data"]["relationships"]["market"] = {"data": {"type": "markets", "id": market["id"]}}
    r = api.post("payment_methods", document)
    assert r.status == 201, r
    assert r.data["attributes"]["currency_code"] == "USD"


def test_the_source_type_must_be_one_the_gateway_processes(api, manual, external):
    r = api.post(
        "payment_methods",
        method_document(
            manual, payment_source_type="stripe_payments", currency_code="EUR", price_amount_cents=0
        ),
    )
    assert r.status == 422 and pointers(r) == ["/data/attributes/payment_source_type"]
    r = api.post(
        "payment_methods",
        method_document(
            external, payment_source_type="wire_transfers", currency_code="EUR", price_amount_cents=0
        ),
    )
    assert r.status == 422 and pointers(r) == ["/data/attributes/payment_source_type"]
    r = api.post(
        "payment_methods",
        method_document(external, payment_source_type="cash", currency_code="EUR", price_amount_cents=0),
    )
    assert r.status == 422 and r.json["errors"][0]["meta"]["error"] == "inclusion"


def test_a_gateway_lists_its_payment_methods(api, manual, external):
    wire = api.post(
        "payment_methods",
        method_document(
            manual, payment_source_type="wire_transfers", currency_code="EUR", price_amount_cents=0
        ),
    ).data
    card = api.post(
        "payment_methods",
        method_document(
            external, payment_source_type="external_payments", currency_code="EUR", price_amount_cents=0
        ),
    ).data
    assert [m["id"] for m in api.get(f"manual_gateways/{manual['id']}/payment_methods").data] == [wire["id"]]
    r = api.get(f"external_gateways/{external['id']}", {"include": "payment_methods"})
    assert r.data["relationships"]["payment_methods"]["data"] == [
        {"type": "payment_methods", "id": card["id"]}
    ]
    r = api.get("payment_methods", {"filter[q][payment_gateway_type_eq]": "external_gateways"})
    assert [m["id"] for m in r.data] == [card["id"]]

    # and gateways are filtered by their payment methods, which point at them through a polymorphic pair
    def gateways(type_name: str, key: str, value: str) -> list[str]:
        r = api.get(type_name, {f"filter[q][{key}]": value})
        assert r.status == 200, r
        return [g["id"] for g in r.data]

    assert gateways("manual_gateways", "payment_methods_id_eq", wire["id"]) == [manual["id"]]
    assert gateways("manual_gateways", "payment_methods_id_eq", card["id"]) == []
    assert gateways("external_gateways", "payment_methods_payment_source_type_eq", "external_payments") == [
        external["id"]
    ]
    other = api.create("manual_gateways", {"name": "Unused"})
    assert gateways("manual_gateways", "payment_methods_id_null", "true") == [other["id"]]


def test_disable_and_enable_a_payment_method(api, manual):
    method = api.post(
        "payment_methods",
        method_document(
            manual, payment_source_type="wire_transfers", currency_code="EUR", price_amount_cents=0
        ),
    ).data
    r = api.update("payment_methods", method["id"], {"_disable": True})
    assert r.data["attributes"]["disabled_at"] is not None
    r = api.update("payment_methods", method["id"], {"_enable": True})
    assert r.data["attributes"]["disabled_at"] is None


def test_a_market_lists_its_payment_methods_by_filter(api, manual):
    market = build.market(api)
    document = method_document(
        manual, payment_source_type="wire_transfers", currency_code="EUR", price_amount_cents=0
    )
    document["data"]["relationships"]["market"] = {"data": {"type": "markets", "id": market["id"]}}
    method = api.post("payment_methods", document).data
    api.post(
        "payment_methods",
        method_document(
            manual, payment_source_type="wire_transfers", currency_code="EUR", price_amount_cents=0
        ),
    )
    r = api.get("payment_methods", {"filter[q][market_code_eq]": "europe"})
    assert [m["id"] for m in r.data] == [method["id"]]


# --- payment sources -----------------------------------------------------------------------------------


def test_wire_transfer_crud(api):
    transfer = api.create("wire_transfers", {"reference": "W-1"})
    assert transfer["attributes"]["payment_instrument"] is None
    r = api.update("wire_transfers", transfer["id"], {"metadata": {"iban": "IT60X"}})
    assert r.status == 200 and r.data["attributes"]["metadata"] == {"iban": "IT60X"}
    assert api.get("wire_transfers").json["meta"]["record_count"] == 1
    assert api.delete(f"wire_transfers/{transfer['id']}").status == 204


def test_an_external_payment_needs_a_token_that_is_not_updatable(api):
    r = api.post(
        "external_payments", {"data": {"type": "external_payments", "attributes": {"options": {"a": 1}}}}
    )
    assert r.status == 422 and pointers(r) == ["/data/attributes/payment_source_token"]
    payment = api.create("external_payments", {"payment_source_token": "tok_1", "options": {"3ds": True}})
    assert payment["attributes"]["options"] == {"3ds": True}
    r = api.update("external_payments", payment["id"], {"payment_source_token": "tok_2"})
    assert r.status == 400 and r.error_codes == ["PARAM_NOT_ALLOWED"]
    r = api.update("external_payments", payment["id"], {"options": {"3ds": False}})
    assert r.status == 200 and r.data["attributes"]["options"] == {"3ds": False}
    r = api.get("external_payments", {"filter[q][payment_source_token_eq]": "tok_1"})
    assert r.json["meta"]["record_count"] == 1


def test_a_sales_channel_reads_the_payment_methods_of_its_market(api, make_api, manual):
    europe = build.market(api, code="europe")
    usa = build.market(api, code="usa")
    ids = {}
    for name, market in (("europe", europe), ("usa", usa), ("anywhere", None)):
        document = method_document(
            manual, payment_source_type="wire_transfers", currency_code="EUR", price_amount_cents=0
        )
        if market is not None:
            document["data"]["relationships"]["market"] = {"data": {"type": "markets", "id": market["id"]}}
        ids[name] = api.post("payment_methods", document).data["id"]
    sales_channel = make_api(kind="sales_channel", scope="market:code:europe")
    r = sales_channel.get("payment_methods")
    assert r.status == 200, r
    assert sorted(m["id"] for m in r.data) == sorted([ids["europe"], ids["anywhere"]])
    assert sales_channel.get(f"payment_methods/{ids['usa']}").status == 404
    assert sales_channel.get("customers").status == 401
    assert sales_channel.post("payment_methods", {"data": {"type": "payment_methods"}}).status == 401
    assert api.get("payment_methods").json["meta"]["record_count"] == 3
