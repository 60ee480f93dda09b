"""Relationships Commerce Layer has but orderfactory does not serve yet (their target resources are not served):
an include through one is accepted and includes nothing, its relationship endpoints answer that nothing is
related, and a name Commerce Layer does not have stays an error (docs/decisions.md)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.jsonapi.conftest import ADDRESS


@pytest.fixture
def address(api: Any) -> dict[str, Any]:
    return api.create("addresses", ADDRESS)


def test_an_include_through_an_unserved_relationship_includes_nothing(api, address) -> None:
    # versions (to-many) and geocoder (to-one) are Commerce Layer's, to resources not served
    r = api.get(f"addresses/{address['id']}", {"include": "versions,geocoder"})
    assert r.status == 200, r
    rels = r.data["relationships"]
    assert rels["versions"]["data"] == [] and rels["geocoder"]["data"] is None
    assert rels["versions"]["links"]["related"].endswith(f"/api/addresses/{address['id']}/versions")
    assert "included" not in r.json
    # beside a served one, which includes what it has
    r = api.get(f"addresses/{address['id']}", {"include": "versions,events"})
    assert r.data["relationships"]["versions"]["data"] == []
    assert [o["type"] for o in r.json["included"]] == ["events"] * len(
        r.data["relationships"]["events"]["data"]
    )
    listed = api.get("addresses", {"include": "versions,geocoder"})
    assert listed.status == 200 and listed.data[0]["relationships"]["versions"]["data"] == []


def test_the_rest_of_the_path_must_be_commerce_layers(api, address) -> None:
    # versions -> event_stores exist in Commerce Layer; versions have no "nope"
    assert api.get(f"addresses/{address['id']}", {"include": "versions.event_stores"}).status == 200
    for include in ("nope", "versions.nope", "geocoder.tags.nope", "nope.tags"):
        r = api.get(f"addresses/{address['id']}", {"include": include})
        assert r.error_codes == ["INVALID_INCLUDE"], (include, r)


def test_a_served_relationship_that_is_not_includable_stays_refused(api, address) -> None:
    r = api.get(f"addresses/{address['id']}", {"include": "event_stores"})
    assert r.error_codes == ["INVALID_INCLUDE"]


def test_relationship_endpoints_of_an_unserved_relationship(api, address) -> None:
    base = f"addresses/{address['id']}"
    r = api.get(f"{base}/versions", {"fields[versions]": "id,name", "page[size]": "25"})
    assert r.status == 200, r
    assert r.json == {"data": [], "meta": {"record_count": 0, "page_count": 0}}
    assert api.get(f"{base}/relationships/versions").json == {"data": []}
    assert api.get(f"{base}/geocoder").json == {"data": None}
    assert api.get(f"{base}/relationships/geocoder").json == {"data": None}
    assert api.get(f"{base}/nope").error_codes == ["RECORD_NOT_FOUND"]


def test_an_unserved_relationship_of_a_row_the_caller_cannot_see_is_404(
    api, other_org, live_api, address
) -> None:
    for caller in (other_org, live_api):
        assert caller.get(f"addresses/{address['id']}/versions").error_codes == ["RECORD_NOT_FOUND"]
        assert caller.get(f"addresses/{address['id']}/relationships/geocoder").status == 404
    assert api.get("addresses/XAyRWNUzyN/versions").status == 404
