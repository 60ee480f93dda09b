"""Every link a document gives resolves, singletons' included (#18 item 9), and HEAD answers as GET without a
body (#18 item 10)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api


def path_of(api: Api, url: str) -> str:
    assert url.startswith("http://testserver/api/"), url
    return url[len("http://testserver") :]


@pytest.mark.parametrize("singleton", ["organization", "application"])
def test_singleton_links_resolve(api: Api, singleton: str) -> None:
    """GET /api/application linked itself as /api/application/<id>, a 404; the same for organization."""
    document = api.get(singleton)
    assert document.status == 200, document
    data = document.data
    assert data["links"]["self"] == f"http://testserver/api/{singleton}"
    again = api.get(path_of(api, data["links"]["self"]))
    assert again.status == 200 and again.data["id"] == data["id"]
    for name, relationship in data["relationships"].items():
        for kind, url in relationship["links"].items():
            response = api.get(path_of(api, url))
            assert response.status == 200, (name, kind, response)
            assert isinstance(response.json["data"], list | dict | None)


def test_organization_links_to_its_audit_trail(api: Api) -> None:
    links = api.get("organization").data["relationships"]["event_stores"]["links"]
    assert links == {
        "self": "http://testserver/api/organization/relationships/event_stores",
        "related": "http://testserver/api/organization/event_stores",
    }
    for path in ("organization/nope", "organization/relationships/nope", "organization/x/relationships/y"):
        assert api.get(path).status == 404
    assert api.request("POST", "organization/event_stores", {}).status == 405


def _without_date(headers: Any) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k not in ("Date", "X-Request-Id")}


@pytest.mark.parametrize(
    "path",
    [
        "price_lists",
        "price_lists?filter[q][name_eq]=Euro&include=prices",
        "price_lists/{id}",
        "price_lists/{id}/prices",
        "price_lists/{id}/relationships/prices",
        "organization",
        "price_lists/NOPE",
        "price_lists?sort=nope",
        "unicorns",
    ],
)
def test_head_answers_as_get_without_a_body(api: Api, path: str) -> None:
    """HEAD was a 405 on every GET endpoint."""
    rid = api.create("price_lists", {"name": "Euro", "currency_code": "EUR"})["id"]
    url = path.format(id=rid)
    got = api.get(url)
    head = api.request("HEAD", url)
    assert head.status == got.status
    assert head.body == b""
    assert _without_date(head.headers) == _without_date(got.headers)
    assert head.headers["Content-Length"] == str(len(got.body))


def test_head_needs_a_token_as_get_does(api: Api) -> None:
    head = api.request("HEAD", "price_lists", headers={"Authorization": ""})
    assert head.status == 401 and head.body == b""
