"""``GET /oauth/tokeninfo``: what a token is and may do, as Commerce Layer's dashboard apps read it.

The apps (their TokenProvider, in @commercelayer/app-elements) call it with the token as a bearer token
before anything else, and accept the token only when the answer has a ``token``; they read ``token.test``,
``permissions`` (per resource type, the ``actions`` among create, destroy, read and update), ``accessible_apps``,
``role`` and ``owner``. The shape is docs/auth.md's, "GET /oauth/tokeninfo".
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse

from orderfactory.auth import kinds, ratelimit, tokens
from orderfactory.auth.models import Application
from orderfactory.core.scope import Scope
from orderfactory.jsonapi import errors, registry

# A resource's actions (resources.json's names) as the permission actions the apps check.
_PERMISSION = {
    "list": "read",
    "retrieve": "read",
    "create": "create",
    "update": "update",
    "delete": "destroy",
}
ADMIN = {"id": "admin", "kind": "admin", "name": "Admin"}


def token_info(scope: Scope, expires_at: float) -> dict[str, Any] | None:
    """The tokeninfo document of a verified token, or None when its application no longer exists."""
    application = (
        Application.objects.filter(pk=scope.application_id, organization_id=scope.organization_id)
        .values("id", "name", "kind")
        .first()
    )
    if application is None:
        return None
    public = application["kind"] == kinds.SALES_CHANNEL
    info: dict[str, Any] = {
        "token": {
            "test": scope.mode == "test",
            "market_ids": list(scope.market_ids or ()),
            "stock_location_ids": [],
            "lifespan": max(0, int(expires_at - time.time())),
        },
        # No user owns a client-credentials token: every application acts with the role an integration has
        # (a sales channel, with none: what it may do is its resources' sales channel actions).
        "role": None if public else ADMIN,
        "application": {**application, "core": False},
        "permissions": permissions(public),
        "accessible_apps": [
            {"name": kinds.DASHBOARD_APPS[application["kind"]], "kind": application["kind"], "core": True}
        ]
        if application["kind"] in kinds.DASHBOARD_APPS
        else [],
    }
    return info


def permissions(public: bool) -> dict[str, dict[str, list[str]]]:
    """Per served resource type (singletons aside: the apps ask about listable types), the actions a token
    of a sales channel (``public``) or of any other kind may do."""
    out = {}
    for type_name, resource in sorted(registry.all_resources().items()):
        if resource.singleton:
            continue
        allowed = resource.sales_channel_actions if public else resource.actions
        actions = sorted({_PERMISSION[a] for a in allowed})
        if actions:
            out[type_name] = {"actions": actions}
    return out


def tokeninfo_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        error = errors.method_not_allowed(request.method or "")
        error.headers["Allow"] = "GET, HEAD"
        return errors.render(error)
    rate_headers: dict[str, str] = {}
    try:
        token = tokens.bearer_token(request)
        if token is None:
            raise _invalid("An access token is required: send Authorization: Bearer <access_token>.")
        scope, expires_at = tokens.verify_until(token)
        rate_headers = ratelimit.check(request, scope, write=False, resource_type="tokeninfo")
        info = token_info(scope, expires_at)
        if info is None:
            raise _invalid("The application this token was issued to no longer exists.")
    except errors.ApiError as exc:
        exc.headers = {**rate_headers, **exc.headers}
        return errors.render(exc)
    response = HttpResponse(orjson.dumps(info), content_type="application/json")
    response["Cache-Control"] = "no-store"
    for name, value in rate_headers.items():
        response[name] = value
    return response


def _invalid(detail: str) -> errors.ApiError:
    return errors.unauthorized(detail, code="INVALID_TOKEN")
