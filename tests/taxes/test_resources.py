"""tax_calculators, manual_tax_calculators, tax_rules, external_tax_calculators, tax_categories and
markets.tax_calculator over HTTP."""

from __future__ import annotations

import pytest

from tests.catalog import build


def pointers(response) -> list[str]:
    return sorted(e["source"]["pointer"] for e in response.json["errors"])


def meta_errors(response) -> list[str]:
    return sorted(e["meta"]["error"] for e in response.json["errors"])


@pytest.fixture
def manual(api):
    return api.create("manual_tax_calculators", {"name": "EU VAT"})


@pytest.fixture
def external(api):
    return api.create(
        "external_tax_calculators", {"name": "Ours", "tax_calculator_url": "https://tax.example.com/calc"}
    )


def rule(api, calculator, **attributes):
    return api.create("tax_rules", {"name": "Fixed 22%", **attributes}, {"manual_tax_calculator": calculator})


def linked(api, type_name, rid, name):
    """The linkage of a relationship (rendered when it is included, as Commerce Layer does)."""
    return api.get(f"{type_name}/{rid}", {"include": name}).data["relationships"][name]["data"]


# --- manual calculators and their rules -------------------------------------------------------------------


def test_a_tax_rule_has_commerce_layers_defaults(api, manual):
    created = rule(api, manual, country_code_regex="IT", zip_code_regex="(?i)^JE[1-5]")
    attrs = created["attributes"]
    assert attrs["tax_rate"] == 0.0
    assert [attrs[f"{k}_taxable"] for k in ("freight", "payment_method", "gift_card", "adjustment")] == [
        False
    ] * 4
    assert (attrs["country_code_regex"], attrs["zip_code_regex"], attrs["not_zip_code_regex"]) == (
        "IT",
        "(?i)^JE[1-5]",
        None,
    )
    assert attrs["breakdown"] is None
    assert linked(api, "tax_rules", created["id"], "manual_tax_calculator") == {
        "type": "manual_tax_calculators",
        "id": manual["id"],
    }
    r = api.update("tax_rules", created["id"], {"tax_rate": 0.22, "freight_taxable": True})
    assert r.status == 200, r
    assert (r.data["attributes"]["tax_rate"], r.data["attributes"]["freight_taxable"]) == (0.22, True)


def test_a_tax_rule_reports_every_problem_at_once(api):
    r = api.post(
        "tax_rules",
        {
            "data": {
                "type": "tax_rules",
                "attributes": {
                    "name": " ",
                    "tax_rate": 1.5,
                    "country_code_regex": "(IT",
                    "zip_code_regex": "a" * 5001,
                },
            }
        },
    )
    assert r.status == 422, r
    assert pointers(r) == [
        "/data/attributes/country_code_regex",
        "/data/attributes/name",
        "/data/attributes/tax_rate",
        "/data/attributes/zip_code_regex",
        "/data/relationships/manual_tax_calculator",
    ]
    assert meta_errors(r) == ["blank", "blank", "invalid", "less_than_or_equal_to", "too_long"]


def test_a_negative_rate_is_refused(api, manual):
    r = api.post(
        "tax_rules",
        {
            "data": {
                "type": "tax_rules",
                "attributes": {"name": "x", "tax_rate": -0.1},
                "relationships": {
                    "manual_tax_calculator": {"data": {"type": manual["type"], "id": manual["id"]}}
                },
            }
        },
    )
    assert r.status == 422 and meta_errors(r) == ["greater_than_or_equal_to"]


def test_a_calculators_rules_are_included_and_filtered(api, manual):
    vat = rule(api, manual, tax_rate=0.22, country_code_regex="IT")
    rule(api, manual, name="Reduced", tax_rate=0.1)
    r = api.get(f"manual_tax_calculators/{manual['id']}", {"include": "tax_rules"})
    assert r.status == 200
    assert r.data["attributes"]["type"] == "manual_tax_calculators"
    assert sorted(i["attributes"]["name"] for i in r.json["included"]) == ["Fixed 22%", "Reduced"]
    r = api.get(
        "tax_rules", {"filter[q][manual_tax_calculator_id_eq]": manual["id"], "filter[q][tax_rate_gt]": 0.2}
    )
    assert [d["id"] for d in r.data] == [vat["id"]]
    r = api.get("manual_tax_calculators", {"filter[q][tax_rules_name_eq]": "Reduced"})
    assert [d["id"] for d in r.data] == [manual["id"]]


def test_linking_rules_to_a_calculator_moves_them(api, manual):
    moved = rule(api, manual)
    other = api.create("manual_tax_calculators", {"name": "UK"}, {"tax_rules": [("tax_rules", moved["id"])]})
    assert linked(api, "tax_rules", moved["id"], "manual_tax_calculator")["id"] == other["id"]
    trail = api.get(f"tax_rules/{moved['id']}/event_stores")
    assert [e["attributes"]["event"] for e in trail.data] == ["create", "update"], trail


def test_a_rule_belongs_to_a_manual_calculator_only(api, external):
    r = api.post(
        "tax_rules",
        {
            "data": {
                "type": "tax_rules",
                "attributes": {"name": "x"},
                "relationships": {
                    "manual_tax_calculator": {
                        "data": {"type": "manual_tax_calculators", "id": external["id"]}
                    }
                },
            }
        },
    )
    assert r.status == 404 and r.error_codes == ["RECORD_NOT_FOUND"]


def test_deleting_a_calculator_deletes_its_rules(api, manual):
    created = rule(api, manual)
    assert api.delete(f"manual_tax_calculators/{manual['id']}").status == 204
    assert api.get(f"tax_rules/{created['id']}").status == 404


# --- external calculators ---------------------------------------------------------------------------------


def test_an_external_calculator_gets_a_shared_secret_and_a_closed_circuit(api, external):
    attrs = external["attributes"]
    assert attrs["type"] == "external_tax_calculators"
    assert len(attrs["shared_secret"]) >= 32
    assert (attrs["circuit_state"], attrs["circuit_failure_count"]) == ("closed", 0)
    r = api.post(
        "external_tax_calculators",
        {"data": {"type": "external_tax_calculators", "attributes": {"name": "X", "shared_secret": "mine"}}},
    )
    assert r.status == 400 and r.error_codes == ["PARAM_NOT_ALLOWED"]
    r = api.update("external_tax_calculators", external["id"], {"_regenerate_shared_secret": True})
    assert r.status == 200
    assert r.data["attributes"]["shared_secret"] != attrs["shared_secret"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/taxes",
        "http://169.254.169.254/latest",
        "http://localhost:8000/",
        "file:///etc/passwd",
    ],
)
def test_the_url_must_pass_the_outbound_rules_at_create_and_update(api, external, url):
    r = api.post(
        "external_tax_calculators",
        {
            "data": {
                "type": "external_tax_calculators",
                "attributes": {"name": "X", "tax_calculator_url": url},
            }
        },
    )
    assert r.status == 422, r
    assert pointers(r) == ["/data/attributes/tax_calculator_url"]
    r = api.update("external_tax_calculators", external["id"], {"tax_calculator_url": url})
    assert r.status == 422 and pointers(r) == ["/data/attributes/tax_calculator_url"]


def test_the_url_is_required(api):
    r = api.post("external_tax_calculators", {"data": {"type": "external_tax_calculators", "attributes": {}}})
    assert r.status == 422
    assert pointers(r) == ["/data/attributes/name", "/data/attributes/tax_calculator_url"]


def test_reset_circuit(api, external):
    from orderfactory.core import scope
    from orderfactory.taxes.models import TaxCalculator

    with scope.active(api.scope()):
        TaxCalculator.objects.filter(pk=external["id"]).update(circuit_state="open", circuit_failure_count=30)
    r = api.update("external_tax_calculators", external["id"], {"_reset_circuit": True})
    assert (r.data["attributes"]["circuit_state"], r.data["attributes"]["circuit_failure_count"]) == (
        "closed",
        0,
    )


# --- the polymorphic list ---------------------------------------------------------------------------------


def test_tax_calculators_lists_every_type_read_only(api, manual, external):
    r = api.get("tax_calculators", {"sort": "created_at"})
    assert r.status == 200
    assert [(d["id"], d["type"], d["attributes"]["type"]) for d in r.data] == [
        (manual["id"], "tax_calculators", "manual_tax_calculators"),
        (external["id"], "tax_calculators", "external_tax_calculators"),
    ]
    assert "shared_secret" not in r.data[1]["attributes"]
    r = api.get("tax_calculators", {"filter[q][type_eq]": "external_tax_calculators"})
    assert [d["id"] for d in r.data] == [external["id"]]
    assert api.get(f"tax_calculators/{manual['id']}").status == 200
    assert (
        api.post("tax_calculators", {"data": {"type": "tax_calculators", "attributes": {"name": "x"}}}).status
        == 405
    )
    # Each typed list holds its own type only.
    assert [d["id"] for d in api.get("manual_tax_calculators").data] == [manual["id"]]
    assert api.get(f"external_tax_calculators/{manual['id']}").status == 404


# --- tax categories ---------------------------------------------------------------------------------------


@pytest.fixture
def sku(api):
    return build.sku(api, "TSHIRT", build.shipping_category(api))


def test_a_tax_category_names_its_sku_by_code_or_relationship(api, sku, external, manual):
    by_code = api.create(
        "tax_categories", {"code": "31000", "sku_code": "TSHIRT"}, {"tax_calculator": external}
    )
    assert by_code["attributes"]["sku_code"] == "TSHIRT"
    assert linked(api, "tax_categories", by_code["id"], "sku") == {"type": "skus", "id": sku["id"]}
    assert linked(api, "tax_categories", by_code["id"], "tax_calculator") == {
        "type": "external_tax_calculators",
        "id": external["id"],
    }
    by_rel = api.create("tax_categories", {"code": "20010"}, {"sku": sku, "tax_calculator": manual})
    r = api.get(
        "tax_categories", {"filter[q][tax_calculator_id_eq]": manual["id"], "include": "sku,tax_calculator"}
    )
    assert [d["id"] for d in r.data] == [by_rel["id"]]
    assert sorted(i["type"] for i in r.json["included"]) == ["manual_tax_calculators", "skus"]


def test_a_tax_category_reports_every_problem_at_once(api, sku, external):
    r = api.post(
        "tax_categories",
        {"data": {"type": "tax_categories", "attributes": {"code": "", "sku_code": "NOPE"}}},
    )
    assert r.status == 422, r
    assert pointers(r) == [
        "/data/attributes/code",
        "/data/attributes/sku_code",
        "/data/relationships/tax_calculator",
    ]
    api.create("tax_categories", {"code": "31000"}, {"sku": sku, "tax_calculator": external})
    r = api.post(
        "tax_categories",
        {
            "data": {
                "type": "tax_categories",
                "attributes": {"code": "99999"},
                "relationships": {
                    "sku": {"data": {"type": "skus", "id": sku["id"]}},
                    "tax_calculator": {"data": {"type": "external_tax_calculators", "id": external["id"]}},
                },
            }
        },
    )
    assert r.status == 422 and meta_errors(r) == ["taken"]


def test_a_tax_categorys_calculator_is_set_once(api, sku, external, manual):
    created = api.create("tax_categories", {"code": "31000"}, {"sku": sku, "tax_calculator": external})
    r = api.update("tax_categories", created["id"], None, {"tax_calculator": manual})
    assert r.status == 400 and r.error_codes == ["PARAM_NOT_ALLOWED"]


# --- markets ----------------------------------------------------------------------------------------------


def test_a_market_is_taxed_by_a_calculator(api, manual, external):
    market = build.market(api)
    r = api.update("markets", market["id"], None, {"tax_calculator": manual})
    assert r.status == 200, r
    assert linked(api, "markets", market["id"], "tax_calculator") == {
        "type": "manual_tax_calculators",
        "id": manual["id"],
    }
    r = api.get(f"markets/{market['id']}", {"include": "tax_calculator"})
    assert r.json["included"][0]["attributes"]["name"] == "EU VAT"
    r = api.get("markets", {"filter[q][tax_calculator_id_eq]": manual["id"]})
    assert [d["id"] for d in r.data] == [market["id"]]
    r = api.get(f"manual_tax_calculators/{manual['id']}/markets")
    assert [d["id"] for d in r.data] == [market["id"]]
    # A calculator a market uses is not deleted.
    r = api.delete(f"manual_tax_calculators/{manual['id']}")
    assert r.status == 423 and r.error_codes == ["LOCKED"]
    r = api.update("markets", market["id"], None, {"tax_calculator": external})
    assert linked(api, "markets", market["id"], "tax_calculator")["type"] == "external_tax_calculators"
    assert api.delete(f"manual_tax_calculators/{manual['id']}").status == 204


# --- tenants ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stranger", ["other_org", "live_api"])
def test_another_organization_or_mode_cannot_read_or_write_them(
    request, api, manual, external, sku, stranger
):
    other = request.getfixturevalue(stranger)
    created = rule(api, manual)
    category = api.create("tax_categories", {"code": "31000"}, {"sku": sku, "tax_calculator": external})
    owned = [
        ("manual_tax_calculators", manual["id"]),
        ("external_tax_calculators", external["id"]),
        ("tax_calculators", manual["id"]),
        ("tax_rules", created["id"]),
        ("tax_categories", category["id"]),
    ]
    for type_name, rid in owned:
        assert other.get(type_name).data == [], type_name
        assert other.get(f"{type_name}/{rid}").status == 404, type_name
    for type_name, rid in owned[:2] + owned[3:]:
        assert other.update(type_name, rid, {"name": "mine"}).status == 404, type_name
        assert other.delete(f"{type_name}/{rid}").status == 404, type_name
    r = other.post(
        "tax_rules",
        {
            "data": {
                "type": "tax_rules",
                "attributes": {"name": "x"},
                "relationships": {
                    "manual_tax_calculator": {"data": {"type": "manual_tax_calculators", "id": manual["id"]}}
                },
            }
        },
    )
    assert r.status == 404
    their_market = build.market(other)
    r = other.update("markets", their_market["id"], None, {"tax_calculator": manual})
    assert r.status == 404
    assert api.get(f"manual_tax_calculators/{manual['id']}").data["attributes"]["name"] == "EU VAT"


def test_third_party_calculators_are_not_served(api, manual):
    assert api.get("avalara_accounts").status == 404
    market = build.market(api)
    r = api.update("markets", market["id"], None, {"tax_calculator": ("taxjar_accounts", manual["id"])})
    assert r.status == 400 and r.error_codes == ["INVALID_RELATIONSHIP"]
