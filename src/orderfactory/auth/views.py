"""``POST /oauth/token`` and ``GET /.well-known/jwks.json``.

Plain views rather than JSON:API resources: the token endpoint speaks OAuth 2.0 (RFC 6749 section 4.4, body
sent as JSON by @commercelayer/js-auth, or form-encoded by generic OAuth clients), and only its errors take the
JSON:API ``errors`` shape Commerce Layer uses.
"""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from orderfactory.auth import keys, ratelimit, services, tokens
from orderfactory.jsonapi.errors import ApiError, bad_request, method_not_allowed, render, unauthorized

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
TOKEN_FIELDS = ("grant_type", "client_id", "client_secret", "scope")


@csrf_exempt
def token_view(request: HttpRequest) -> HttpResponse:
    """Exchange client credentials for an access token."""
    if request.method != "POST":
        return render(_only("POST", request.method))
    try:
        # Counted before the body is read, so failed guesses of a secret use up the budget too.
        rate_headers = ratelimit.check_token_endpoint(request)
    except ApiError as exc:
        return render(exc)
    try:
        params = _token_params(request)
        grant_type = params.get("grant_type")
        if not grant_type:
            raise bad_request(
                "grant_type is missing.", code="PARAM_MISSING", title="Param missing", parameter="grant_type"
            )
        if grant_type != "client_credentials":
            raise ApiError(
                400,
                "UNSUPPORTED_GRANT_TYPE",
                "Unsupported grant type",
                f"{grant_type} is not a supported grant type: use client_credentials.",
                parameter="grant_type",
            )
        client_id = params.get("client_id")
        if not client_id:
            raise bad_request(
                "client_id is missing.", code="PARAM_MISSING", title="Param missing", parameter="client_id"
            )
        application = services.check_client(client_id, params.get("client_secret") or None)
        if application is None:
            raise unauthorized(
                "Invalid client credentials: unknown or revoked client_id, or wrong client_secret."
            )
        body = tokens.issue_token(application, params.get("scope"))
    except ApiError as exc:
        exc.headers = {**rate_headers, **exc.headers}
        return render(exc)
    response = HttpResponse(orjson.dumps(body), content_type="application/json")
    _no_store(response)
    for name, value in rate_headers.items():
        response[name] = value
    return response


def jwks_view(request: HttpRequest) -> HttpResponse:
    """The public key(s) tokens are signed with, for services that verify our tokens themselves."""
    if request.method not in ("GET", "HEAD"):
        return render(_only("GET, HEAD", request.method))
    response = HttpResponse(orjson.dumps(keys.jwks()), content_type="application/json")
    response["Cache-Control"] = "public, max-age=300"
    return response


def _token_params(request: HttpRequest) -> dict[str, str]:
    """The token request parameters, from a JSON or a form body; a 400 if the body is neither."""
    content_type = request.content_type or ""
    if content_type in FORM_TYPES:
        source: Any = {name: request.POST.get(name) for name in TOKEN_FIELDS}
    else:
        try:
            source = orjson.loads(request.body or b"{}")
        except orjson.JSONDecodeError:
            raise bad_request("The request body must be a JSON object or a form-encoded body.") from None
        if not isinstance(source, dict):
            raise bad_request("The request body must be a JSON object.")
    params: dict[str, str] = {}
    for name in TOKEN_FIELDS:
        value = source.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise bad_request(f"{name} must be a string.", parameter=name)
        if "\x00" in value:  # PostgreSQL cannot compare text holding a NUL
            raise bad_request(f"{name} contains invalid characters.", parameter=name)
        params[name] = value
    return params


def _only(allowed: str, method: str | None) -> ApiError:
    error = method_not_allowed(method or "")
    error.headers["Allow"] = allowed
    return error


def _no_store(response: HttpResponse) -> None:
    # RFC 6749 section 5.1: token responses must not be cached.
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
