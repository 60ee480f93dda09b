"""Bad input gets a JSON:API error with the right status and code: never a 5xx, never half-written."""

from __future__ import annotations

import pytest

from orderfactory.catalog.models import ShippingCategory
from tests.conftest import document


def _only_error(r, status, code):
    assert r.status == status, r
    assert r.headers["Content-Type"] == "application/vnd.api+json"
    assert r.error_codes[0] == code, r
    for e in r.json["errors"]:
        assert set(e) <= {"title", "detail", "code", "status", "source", "meta"}
        assert e["status"] == str(status)
    return r.json["errors"]


def test_no_token_is_unauthorized(api):
    r = api.get("price_lists", headers={"Authorization": ""})
    _only_error(r, 401, "UNAUTHORIZED")


def test_bad_tokens_are_invalid_token(api):
    for bad in ["garbage", "a.b.c", api.token[:-4] + "AAAA", api.token + "x"]:
        _only_error(api.get("price_lists", headers={"Authorization": f"Bearer {bad}"}), 401, "INVALID_TOKEN")


def test_malformed_json(api):
    _only_error(api.post("price_lists", None, raw=b'{"data": '), 400, "INVALID_DATA_FORMAT")


def test_invalid_utf8_body(api):
    _only_error(api.post("price_lists", None, raw=b'{"data": "\xff\xfe"}'), 400, "INVALID_DATA_FORMAT")


@pytest.mark.parametrize(
    "body,code",
    [
        ({}, "PARAM_MISSING"),
        ([], "PARAM_MISSING"),
        ("x", "PARAM_MISSING"),
        ({"data": []}, "INVALID_DATA_FORMAT"),
        ({"data": "x"}, "INVALID_DATA_FORMAT"),
        ({"data": {"type": "skus"}}, "INVALID_RESOURCE"),
        ({"data": {"type": "shipping_categories", "attributes": []}}, "INVALID_DATA_FORMAT"),
        ({"data": {"type": "shipping_categories", "attributes": "name"}}, "INVALID_DATA_FORMAT"),
        ({"data": {"type": "shipping_categories", "relationships": 3}}, "INVALID_DATA_FORMAT"),
        (
            {"data": {"type": "shipping_categories", "attributes": {"name": "x", "color": "red"}}},
            "PARAM_NOT_ALLOWED",
        ),
        (
            {
                "data": {
                    "type": "shipping_categories",
                    "attributes": {"name": "x", "created_at": "2020-01-01T00:00:00Z"},
                }
            },
            "PARAM_NOT_ALLOWED",
        ),
        (
            {"data": {"type": "shipping_categories", "id": "abcdefghij", "attributes": {"name": "x"}}},
            "PARAM_NOT_ALLOWED",
        ),
        ({"data": {"type": "shipping_categories", "attributes": {"name": 5}}}, "INVALID_FIELD_VALUE"),
        ({"data": {"type": "shipping_categories", "attributes": {"name": ["x"]}}}, "INVALID_FIELD_VALUE"),
        (
            {"data": {"type": "shipping_categories", "attributes": {"name": "x", "metadata": "x"}}},
            "INVALID_FIELD_VALUE",
        ),
        (
            {"data": {"type": "shipping_categories", "attributes": {"name": "x\u0000y"}}},
            "INVALID_FIELD_VALUE",
        ),
        ({"data": {"type": "shipping_categories", "junk": 1}}, "PARAM_NOT_ALLOWED"),
    ],
)
def test_wrong_shapes_are_400(api, body, code):
    _only_error(api.post("shipping_categories", body), 400, code)
    assert not ShippingCategory.unscoped.exists()


def test_null_attributes_or_relationships_are_none(api):
    """Valid in Commerce Layer's OpenAPI document; it was a 400 INVALID_DATA_FORMAT (#18)."""
    body = {"data": {"type": "shipping_categories", "attributes": {"name": "x"}, "relationships": None}}
    created = api.post("shipping_categories", body)
    assert created.status == 201, created
    body = {"data": {"type": "shipping_categories", "id": created.data["id"], "attributes": None}}
    assert api.patch(f"shipping_categories/{created.data['id']}", body).status == 200
    body = {"data": {"type": "shipping_categories", "attributes": None, "relationships": None}}
    r = api.post("shipping_categories", body)
    assert r.status == 422 and r.json["errors"][0]["source"] == {"pointer": "/data/attributes/name"}, r
    for bad in ([], 0, "", False):
        body = {"data": {"type": "shipping_categories", "attributes": {"name": "y"}, "relationships": bad}}
        _only_error(api.post("shipping_categories", body), 400, "INVALID_DATA_FORMAT")


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2024-02-30T00:00:00Z"]
)
def test_a_datetime_beyond_the_calendar_is_400(api, value):
    """A time whose UTC falls before year 1 or after 9999 was a 500 (Python's OverflowError)."""
    body = document("percentage_discount_promotions", {"name": "x", "percentage": 1, "starts_at": value})
    _only_error(api.post("percentage_discount_promotions", body), 400, "INVALID_FIELD_VALUE")


def test_missing_required_fields_are_422_with_pointers(api):
    errors = _only_error(
        api.post("stock_locations", document("stock_locations", {})), 422, "VALIDATION_ERROR"
    )
    pointers = {e["source"]["pointer"] for e in errors}
    assert pointers == {"/data/attributes/name", "/data/relationships/address"}
    blank = next(e for e in errors if e["source"]["pointer"] == "/data/attributes/name")
    assert blank["title"] == "can't be blank" and blank["detail"] == "name - can't be blank"
    assert blank["meta"] == {"error": "blank"}


def test_relationship_shapes(api):
    bad = document("stock_locations", {"name": "x"})
    bad["data"]["relationships"] = {"address": {"data": {"type": "addresses"}}}
    _only_error(api.post("stock_locations", bad), 400, "INVALID_DATA_FORMAT")
    bad["data"]["relationships"] = {"address": {"data": {"type": "skus", "id": "abcdefghij"}}}
    _only_error(api.post("stock_locations", bad), 400, "INVALID_RELATIONSHIP")
    bad["data"]["relationships"] = {"address": {"data": {"type": "addresses", "id": "abcdefghij"}}}
    _only_error(api.post("stock_locations", bad), 404, "RECORD_NOT_FOUND")
    bad["data"]["relationships"] = {"nope": {"data": None}}
    _only_error(api.post("stock_locations", bad), 400, "PARAM_NOT_ALLOWED")


def test_patch_id_mismatch(api):
    created = api.create("shipping_categories", {"name": "a"})
    body = document("shipping_categories", {"name": "b"}, rid="XXXXXXXXXX")
    _only_error(api.patch(f"shipping_categories/{created['id']}", body), 400, "KEY_NOT_INCLUDED_IN_URL")
    body = document("shipping_categories", {"name": "b"})
    _only_error(api.patch(f"shipping_categories/{created['id']}", body), 400, "KEY_NOT_INCLUDED_IN_URL")


def test_not_updatable_attribute(api, graph):
    location = graph["locations"][0]
    body = document("stock_locations", {"number": 3}, rid=location["id"])
    _only_error(api.patch(f"stock_locations/{location['id']}", body), 400, "PARAM_NOT_ALLOWED")


def test_content_negotiation(api):
    _only_error(api.get("price_lists", headers={"Accept": "text/html"}), 406, "NOT_ACCEPTABLE")
    assert api.get("price_lists", headers={"Accept": "*/*"}).status == 200
    assert api.get("price_lists", headers={"Accept": "application/json"}).status == 200
    r = api.post("price_lists", None, raw=b"name=x", content_type="application/x-www-form-urlencoded")
    _only_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    r = api.post("price_lists", None, raw=b"{}", content_type="text/plain")
    _only_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize(
    "params,code",
    [
        ({"filter[q][name_eq][x]": "a"}, "FILTER_NOT_ALLOWED"),
        ({"filter[q]": "a"}, "FILTER_NOT_ALLOWED"),
        ({"filter[name]": "a"}, "FILTER_NOT_ALLOWED"),
        ({"filter[q][[name_eq]]": "a"}, "PARAM_NOT_ALLOWED"),
        ({"filter[q][name_wat]": "a"}, "FILTER_NOT_ALLOWED"),
        ({"filter[q][rules_eq]": "a"}, "FILTER_NOT_ALLOWED"),
        ({"filter[q][created_at_gt]": "yesterday"}, "INVALID_FILTER_VALUE"),
        ({"filter[q][tax_included_eq]": "maybe"}, "INVALID_FILTER_VALUE"),
        ({"filter[q][metadata_jcont]": "{not json"}, "INVALID_FILTER_VALUE"),
        ({"sort": ""}, "INVALID_SORT_CRITERIA"),
        ({"sort": ","}, "INVALID_SORT_CRITERIA"),
        ({"sort": "-"}, "INVALID_SORT_CRITERIA"),
        ({"sort": "rules"}, "INVALID_SORT_CRITERIA"),
        ({"sort": "nope"}, "INVALID_SORT_CRITERIA"),
        ({"page[number]": "0"}, "INVALID_PAGE_VALUE"),
        ({"page[number]": "-1"}, "INVALID_PAGE_VALUE"),
        ({"page[number]": "1e3"}, "INVALID_PAGE_VALUE"),
        ({"page[number]": "99999999999999999999999999"}, "INVALID_PAGE_VALUE"),
        ({"page[size]": "abc"}, "INVALID_PAGE_VALUE"),
        ({"page[offset]": "1"}, "PARAM_NOT_ALLOWED"),
        ({"include": "nope"}, "INVALID_INCLUDE"),
        ({"include": ""}, "INVALID_INCLUDE"),
        ({"include": "prices..x"}, "INVALID_INCLUDE"),
        ({"fields[price_lists]": "nope"}, "INVALID_FIELD"),
        ({"fields[unicorns]": "name"}, "INVALID_RESOURCE"),
        ({"unknown": "1"}, "PARAM_NOT_ALLOWED"),
        ({"filter[q][name_eq]": "a\u0000b"}, "BAD_REQUEST"),
    ],
)
def test_bad_query_parameters_are_400(api, params, code):
    _only_error(api.get("price_lists", params), 400, code)


def test_invalid_utf8_in_query_string(api):
    r = api.client.get(
        "/api/price_lists",
        QUERY_STRING="filter%5Bq%5D%5Bname_eq%5D=%ff%fe",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert r.status_code == 400


@pytest.mark.parametrize("rid", ["XXXXXXXXXX", "x" * 300, "a%00b", "..", "a b"])
def test_odd_ids_are_404(api, rid):
    r = api.get(f"price_lists/{rid}")
    assert r.status == 404, r


def test_nested_garbage_paths_are_404(api):
    for path in [
        "/api/price_lists/a/b/c/d",
        "/api/price_lists/a/relationships",
        "/api//price_lists",
    ]:
        r = api.request("GET", path)
        assert r.status == 404, (path, r)


def test_write_that_fails_leaves_nothing(api):
    # stock location with an address that does not exist: nothing is written
    body = document("stock_locations", {"name": "x"}, {"address": ("addresses", "abcdefghij")})
    assert api.post("stock_locations", body).status == 404
    from orderfactory.inventory.models import StockLocation

    assert not StockLocation.unscoped.exists()


def test_internal_errors_say_nothing_of_internals(api, monkeypatch):
    from orderfactory.catalog.resources import ShippingCategoryResource

    def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(ShippingCategoryResource, "queryset", classmethod(boom))
    r = api.get("shipping_categories")
    assert r.status == 500
    assert b"secret" not in r.body and b"Traceback" not in r.body
    assert r.error_codes == ["INTERNAL_SERVER_ERROR"]


@pytest.mark.parametrize("metadata", [{"a": "x\u0000"}, {"a\u0000": 1}, {"a": [{"b": ["\u0000"]}]}])
def test_nul_anywhere_in_metadata_is_400(api, metadata):
    _only_error(
        api.post("shipping_categories", document("shipping_categories", {"name": "x", "metadata": metadata})),
        400,
        "INVALID_FIELD_VALUE",
    )
