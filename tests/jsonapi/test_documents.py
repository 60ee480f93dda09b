"""Documents as a Commerce Layer client sees them: shape, links, includes, sparse fields, paging, sorting."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from tests.conftest import document

ID = re.compile(r"^[A-Za-z0-9]{10}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_created_resource_document(api):
    r = api.post(
        "price_lists",
        document(
            "price_lists", {"name": "Euro", "code": "EUR", "currency_code": "EUR", "metadata": {"a": 1}}
        ),
    )
    assert r.status == 201, r
    assert r.headers["Content-Type"] == "application/vnd.api+json"
    data = r.data
    assert ID.match(data["id"])
    assert data["type"] == "price_lists"
    assert data["links"] == {"self": f"http://testserver/api/price_lists/{data['id']}"}
    attrs = data["attributes"]
    assert attrs["name"] == "Euro" and attrs["currency_code"] == "EUR" and attrs["metadata"] == {"a": 1}
    assert attrs["reference"] is None and attrs["reference_origin"] is None
    assert TIMESTAMP.match(attrs["created_at"]) and TIMESTAMP.match(attrs["updated_at"])
    assert "id" not in attrs
    assert data["meta"] == {"mode": "test", "organization_id": api.organization.id}


def test_every_relationship_has_links_and_data_only_when_included(api, graph):
    link = graph["links"][0]
    r = api.get(f"inventory_stock_locations/{link['id']}")
    rels = r.data["relationships"]
    base = f"http://testserver/api/inventory_stock_locations/{link['id']}"
    assert rels["stock_location"] == {
        "links": {"self": f"{base}/relationships/stock_location", "related": f"{base}/stock_location"}
    }
    assert "data" not in rels["inventory_model"]
    assert "included" not in r.json


def test_public_url_is_the_base_of_links(api, settings):
    settings.ORDERFACTORY = {**settings.ORDERFACTORY, "PUBLIC_URL": "https://orders.example.com"}
    created = api.create("shipping_categories", {"name": "Default"})
    assert created["links"]["self"] == f"https://orders.example.com/api/shipping_categories/{created['id']}"


def test_update_and_delete(api):
    created = api.create("shipping_categories", {"name": "Default", "reference": "ERP-1"})
    r = api.update("shipping_categories", created["id"], {"name": "Heavy", "metadata": {"k": "v"}})
    assert r.status == 200, r
    assert r.data["attributes"]["name"] == "Heavy"
    assert r.data["attributes"]["reference"] == "ERP-1"
    assert r.data["attributes"]["metadata"] == {"k": "v"}
    assert r.data["attributes"]["updated_at"] >= created["attributes"]["updated_at"]
    r = api.delete(f"shipping_categories/{created['id']}")
    assert r.status == 204 and r.body == b""
    assert api.get(f"shipping_categories/{created['id']}").status == 404


def test_include_to_one_and_to_many_and_nested(api, graph):
    model = graph["model"]
    r = api.get(
        f"inventory_models/{model['id']}", {"include": "inventory_stock_locations.stock_location.address"}
    )
    assert r.status == 200, r
    links = r.data["relationships"]["inventory_stock_locations"]["data"]
    assert {x["id"] for x in links} == {x["id"] for x in graph["links"]}
    included = {(o["type"], o["id"]): o for o in r.json["included"]}
    assert sum(1 for t, _ in included if t == "inventory_stock_locations") == 3
    assert sum(1 for t, _ in included if t == "stock_locations") == 3
    assert sum(1 for t, _ in included if t == "addresses") == 3
    first = included[("inventory_stock_locations", graph["links"][0]["id"])]
    assert first["relationships"]["stock_location"]["data"] == {
        "type": "stock_locations",
        "id": graph["locations"][0]["id"],
    }
    location = included[("stock_locations", graph["locations"][0]["id"])]
    assert location["relationships"]["address"]["data"]["type"] == "addresses"


def test_include_on_lists(api, graph):
    r = api.get(
        "inventory_stock_locations", {"include": "stock_location,inventory_model", "sort": "priority"}
    )
    assert [d["attributes"]["priority"] for d in r.data] == [1, 2, 3]
    types = sorted({o["type"] for o in r.json["included"]})
    assert types == ["inventory_models", "stock_locations"]
    # the shared inventory model is included once
    assert sum(1 for o in r.json["included"] if o["type"] == "inventory_models") == 1


def test_sparse_fieldsets(api, graph):
    r = api.get(
        "stock_locations",
        {"fields[stock_locations]": "name,address", "include": "address", "fields[addresses]": "city"},
    )
    assert r.status == 200, r
    for item in r.data:
        assert set(item["attributes"]) == {"name"}
        assert set(item["relationships"]) == {"address"}
    for inc in r.json["included"]:
        assert set(inc["attributes"]) == {"city"}


def test_sort_several_fields_and_descending(api):
    for name, ref in [("b", "2"), ("a", "2"), ("c", "1")]:
        api.create("shipping_categories", {"name": name, "reference": ref})
    r = api.get("shipping_categories", {"sort": "reference,-name"})
    assert [d["attributes"]["name"] for d in r.data] == ["c", "b", "a"]
    r = api.get("shipping_categories", {"sort": "-name"})
    assert [d["attributes"]["name"] for d in r.data] == ["c", "b", "a"]


def test_paging_meta_and_links_repeat_every_parameter(api):
    for i in range(23):
        api.create("shipping_categories", {"name": f"cat-{i:02d}"})
    r = api.get(
        "shipping_categories",
        {"filter[q][name_start]": "cat", "sort": "name", "page[size]": "5", "page[number]": "2"},
    )
    assert r.json["meta"] == {"record_count": 23, "page_count": 5}
    assert [d["attributes"]["name"] for d in r.data] == [f"cat-{i:02d}" for i in range(5, 10)]
    links = r.json["links"]
    assert set(links) == {"first", "prev", "next", "last"}
    for name, number in [("first", "1"), ("prev", "1"), ("next", "3"), ("last", "5")]:
        parts = urlsplit(links[name])
        assert parts.path == "/api/shipping_categories"
        params = dict(parse_qsl(parts.query))
        assert params == {
            "filter[q][name_start]": "cat",
            "sort": "name",
            "page[number]": number,
            "page[size]": "5",
        }


def test_default_page_size_is_10_and_max_25(api):
    for i in range(12):
        api.create("shipping_categories", {"name": f"c{i}"})
    r = api.get("shipping_categories")
    assert len(r.data) == 10 and r.json["meta"] == {"record_count": 12, "page_count": 2}
    assert "prev" not in r.json["links"] and "next" in r.json["links"]
    assert api.get("shipping_categories", {"page[size]": "25"}).status == 200
    assert api.get("shipping_categories", {"page[size]": "26"}).error_codes == ["INVALID_PAGE_VALUE"]


def test_page_past_the_end_is_empty(api):
    api.create("shipping_categories", {"name": "x"})
    r = api.get("shipping_categories", {"page[number]": "999999999"})
    assert r.status == 200 and r.data == [] and r.json["meta"] == {"record_count": 1, "page_count": 1}


def test_relationship_endpoints(api, graph):
    model = graph["model"]
    r = api.get(
        f"inventory_models/{model['id']}/inventory_stock_locations",
        {"sort": "-priority", "include": "stock_location"},
    )
    assert r.status == 200, r
    assert [d["attributes"]["priority"] for d in r.data] == [3, 2, 1]
    assert r.json["meta"]["record_count"] == 3
    assert len(r.json["included"]) == 3
    link = graph["links"][0]
    r = api.get(f"inventory_stock_locations/{link['id']}/stock_location")
    assert r.data["id"] == graph["locations"][0]["id"] and r.data["type"] == "stock_locations"
    r = api.get(f"inventory_stock_locations/{link['id']}/relationships/stock_location")
    assert r.data == {"type": "stock_locations", "id": graph["locations"][0]["id"]}
    r = api.get(f"inventory_models/{model['id']}/relationships/inventory_stock_locations")
    assert sorted(x["id"] for x in r.data) == sorted(x["id"] for x in graph["links"])
    assert api.get(f"inventory_models/{model['id']}/nope").status == 404
    assert api.get("inventory_models/XXXXXXXXXX/inventory_stock_locations").status == 404


def test_singletons(api):
    r = api.get("organization")
    assert r.status == 200, r
    assert r.data["type"] == "organization" and r.data["id"] == api.organization.id
    assert r.data["attributes"]["slug"] == "acme"
    assert r.data["attributes"]["coupons_min_code_length"] == 8
    r = api.get("application")
    assert r.data["id"] == api.app.id and r.data["attributes"]["kind"] == "integration"
    assert "secret" not in r.data["attributes"]
    assert api.post("organization", {"data": {"type": "organization"}}).status == 405
    assert api.get("organization/whatever").status == 404


def test_both_content_types_on_every_method(api):
    created = api.post(
        "shipping_categories",
        document("shipping_categories", {"name": "json"}),
        content_type="application/json",
    )
    assert created.status == 201, created
    rid = created.data["id"]
    assert api.get(f"shipping_categories/{rid}", content_type="application/json").status == 200
    assert api.get(f"shipping_categories/{rid}", content_type="application/vnd.api+json").status == 200
    assert api.delete(f"shipping_categories/{rid}", content_type="application/vnd.api+json").status == 204


def test_actions_not_allowed_are_405(api):
    assert api.patch("organization", {"data": {}}).status == 405
    assert api.delete("application").status == 405
    r = api.request("PUT", "shipping_categories")
    assert r.status == 405 and r.error_codes == ["METHOD_NOT_ALLOWED"]


def test_unknown_type_is_404(api):
    r = api.get("unicorns")
    assert r.status == 404 and r.error_codes == ["RECORD_NOT_FOUND"]
