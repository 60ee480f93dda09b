"""Shared fixtures: tenants (organization + mode + application + token) and a JSON:API client over HTTP."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from django.test import Client

from orderfactory.core import scope as scopes

JSONAPI = "application/vnd.api+json"
_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings: Any) -> None:
    settings.ORDERFACTORY = {**settings.ORDERFACTORY, "RATE_LIMITS_ENABLED": False}


@pytest.fixture(autouse=True)
def _steady_revocation_cache(monkeypatch: Any) -> None:
    """Token verification refreshes its revocation snapshot once a second; a refresh landing inside a measured
    request would add a query to pinned counts depending on the machine's speed. Tests of the refresh itself
    set their own interval."""
    from orderfactory.auth import tokens

    monkeypatch.setattr(tokens._revoked, "refresh_seconds", 3600.0)


@pytest.fixture
def local_network_allowed(monkeypatch: Any) -> None:
    """Outbound calls (webhooks, gateways) to loopback and private addresses are refused unless the operator
    allows them (core.outbound); tests whose receiver listens on 127.0.0.1 allow them, as an operator would."""
    monkeypatch.setenv("ORDERFACTORY_OUTBOUND_ALLOW_PRIVATE", "on")


@dataclass
class Response:
    status: int
    body: bytes
    headers: Any

    @property
    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None

    @property
    def data(self) -> Any:
        return self.json["data"]

    @property
    def error_codes(self) -> list[str]:
        return [e["code"] for e in self.json.get("errors", [])]

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.body[:400]!r}>"


class Api:
    """A caller of the API, holding one application's token."""

    def __init__(self, token: str, app: Any, organization: Any) -> None:
        self.client = Client()
        self.token = token
        self.app = app
        self.organization = organization

    @property
    def mode(self) -> str:
        return self.app.mode

    def scope(self) -> scopes.Scope:
        return scopes.Scope(
            organization_id=self.organization.id,
            organization_slug=self.organization.slug,
            mode=self.app.mode,
            application_id=self.app.id,
            application_kind=self.app.kind,
            client_id=self.app.client_id,
        )

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        content_type: str = JSONAPI,
        raw: bytes | None = None,
    ) -> Response:
        hdrs = {"Accept": JSONAPI, "Authorization": f"Bearer {self.token}"}
        hdrs.update(headers or {})
        data = raw if raw is not None else (orjson.dumps(body) if body is not None else b"")
        url = path if path.startswith("/") else f"/api/{path}"
        response = self.client.generic(
            method, url, data=data, content_type=content_type, headers=hdrs, QUERY_STRING=_qs(params)
        )
        return Response(response.status_code, response.content, response.headers)

    def get(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> Response:
        return self.request("GET", path, params=params, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Response:
        return self.request("POST", path, body, **kw)

    def patch(self, path: str, body: Any, **kw: Any) -> Response:
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.request("DELETE", path, **kw)

    def create(
        self,
        type_name: str,
        attributes: dict[str, Any] | None = None,
        relationships: dict[str, Any] | None = None,
        *,
        expect: int = 201,
    ) -> dict[str, Any]:
        """POST a resource; relationships may be given as {name: (type, id)} or {name: resource dict}."""
        response = self.post(type_name, document(type_name, attributes, relationships))
        assert response.status == expect, response
        return response.data if expect == 201 else response.json

    def update(
        self,
        type_name: str,
        rid: str,
        attributes: dict[str, Any] | None = None,
        relationships: dict[str, Any] | None = None,
    ) -> Response:
        return self.patch(f"{type_name}/{rid}", document(type_name, attributes, relationships, rid=rid))


def _qs(params: dict[str, Any] | None) -> str:
    from urllib.parse import urlencode

    return urlencode(list(params.items())) if params else ""


def linkage(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dict):
        return {"type": value["type"], "id": value["id"]}
    if isinstance(value, list):
        return [linkage(v) for v in value]
    return {"type": value[0], "id": value[1]}


def document(
    type_name: str,
    attributes: dict[str, Any] | None = None,
    relationships: dict[str, Any] | None = None,
    *,
    rid: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type_name}
    if rid is not None:
        data["id"] = rid
    if attributes is not None:
        data["attributes"] = attributes
    if relationships:
        data["relationships"] = {k: {"data": linkage(v)} for k, v in relationships.items()}
    return {"data": data}


@pytest.fixture
def make_api(db: Any) -> Callable[..., Api]:
    """Create an application (and its organization) and return an Api holding a fresh token."""
    from orderfactory.auth import services, tokens

    def factory(
        organization: str = "acme", mode: str = "test", kind: str = "integration", scope: str | None = None
    ) -> Api:
        app, _secret = services.create_application(
            name=f"app-{next(_seq)}", kind=kind, mode=mode, organization_slug=organization
        )
        token = tokens.issue_token(app, scope)["access_token"]
        return Api(token, app, app.organization)

    return factory


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    """An integration application of organization 'acme' in test mode."""
    return make_api()


@pytest.fixture
def other_org(make_api: Callable[..., Api]) -> Api:
    return make_api(organization="globex")


@pytest.fixture
def live_api(make_api: Callable[..., Api]) -> Api:
    return make_api(mode="live")


def job_taker(name: str = "w1", queues: tuple[str, ...] = ("default",)) -> Any:
    """The worker's job loop (orderfactory.worker), built to be driven by hand: no poll interval, no start-up
    delay, ``batch`` (its ``run`` returns once nothing is ready)."""
    from orderfactory import worker

    return worker._worker_class()(
        queue_names=list(queues),
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=name,
        excluded_queue_names=[],
    )
