"""The HTTP entry of the JSON:API: content negotiation, authentication, scope, rate limits, and the one place
where every error becomes a JSON:API error document."""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from collections.abc import Callable
from typing import cast

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import DatabaseError
from django.db.models import ProtectedError, RestrictedError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from orderfactory import cache, idempotency
from orderfactory.auth import ratelimit, tokens
from orderfactory.core import database, hooks
from orderfactory.core import scope as scopes
from orderfactory.jsonapi import errors, registry, views

log = logging.getLogger("orderfactory.api")

_ACCEPTABLE = ("application/vnd.api+json", "application/json", "*/*", "application/*")
_BODY_TYPES = ("application/vnd.api+json", "application/json")
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$")
_SEGMENT = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def base_url(request: HttpRequest) -> str:
    configured = cast(str, settings.ORDERFACTORY["PUBLIC_URL"])
    if configured:
        return configured
    host = request.META.get("HTTP_HOST", "")
    if not _HOST.match(host):
        host = request.META.get("SERVER_NAME", "localhost")
        port = request.META.get("SERVER_PORT", "80")
        if port not in ("80", "443"):
            host = f"{host}:{port}"
    return f"{request.scheme}://{host}"


def negotiate(request: HttpRequest) -> None:
    accept = request.META.get("HTTP_ACCEPT", "")
    if accept:
        types = [part.split(";")[0].strip().lower() for part in accept.split(",")]
        if not any(t in _ACCEPTABLE for t in types):
            raise errors.ApiError(
                406, "NOT_ACCEPTABLE", "Not acceptable", f"{accept[:80]} is not a supported media type."
            )
    if request.method in ("POST", "PATCH"):
        content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if content_type not in _BODY_TYPES:
            raise errors.ApiError(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                "Unsupported media type",
                f"{content_type[:80] or 'no content type'} is not a supported media type.",
            )


def _route(rest: str) -> tuple[str, str | None, str | None, bool]:
    parts = rest.split("/") if rest else []
    if parts and parts[-1] == "":
        parts = parts[:-1]
    if not parts or len(parts) > 4 or not all(_SEGMENT.match(p) for p in parts):
        raise errors.ApiError(
            404, "RECORD_NOT_FOUND", "Record not found", "The requested route was not found."
        )
    if len(parts) == 4:
        if parts[2] != "relationships":
            raise errors.ApiError(
                404, "RECORD_NOT_FOUND", "Record not found", "The requested route was not found."
            )
        return parts[0], parts[1], parts[3], True
    return parts[0], parts[1] if len(parts) > 1 else None, parts[2] if len(parts) > 2 else None, False


def _rendering_errors(handle):  # type: ignore[no-untyped-def]
    """Run ``handle`` and render the errors a client caused (4xx) as responses, so they can be replayed."""
    try:
        return handle()
    except errors.HTTP_ERRORS as exc:
        return errors.render(exc)
    except (ProtectedError, RestrictedError):
        return errors.render(errors.locked())


def _cached(
    request: HttpRequest, ctx: views.Context, scope: scopes.Scope, render: Callable[[], HttpResponse]
) -> HttpResponse:
    """GETs of cacheable resources are served from orderfactory.cache while no write of the caller's
    organization and mode happened since they were rendered."""
    tenant = (scope.organization_id, scope.mode)
    cache_key = (tenant, ctx.public, ctx.base_url, request.path, request.META.get("QUERY_STRING", ""))
    versions, body = cache.lookup(cache_key, tenant)
    if body is not None:
        return HttpResponse(body, content_type=errors.JSONAPI)
    response = render()
    if response.status_code == 200:
        cache.store(cache_key, versions, response.content)
    return response


@dataclasses.dataclass(frozen=True)
class Call:
    """What the steps before the engine established about an API request (``preamble``)."""

    scope: scopes.Scope
    type_name: str
    rid: str | None
    rel: str | None
    linkage: bool
    ctx: views.Context
    rate_headers: dict[str, str]  # the X-Ratelimit-* headers of the response


def request_id_of(request: HttpRequest) -> str:
    """The client's ``X-Request-Id`` when it is a plain token of at most 64 characters, else a new one."""
    request_id = request.META.get("HTTP_X_REQUEST_ID") or uuid.uuid4().hex
    return request_id if _SEGMENT.match(request_id[:64]) else uuid.uuid4().hex


def preamble(request: HttpRequest, rest: str, request_id: str) -> Call:
    """The steps every API request takes before the engine: content negotiation, authentication, routing of
    ``rest`` (the path after ``/api/``), the rate limits and the engine's context. Raises the ApiError of the
    first step that refuses. The read benchmark's ceiling (bench/ceiling_urls.py) takes the same steps."""
    negotiate(request)
    scope = tokens.authenticate(request)
    scope = dataclasses.replace(scope, request_id=request_id)
    type_name, rid, rel, linkage = _route(rest)
    write = request.method not in ("GET", "HEAD", "OPTIONS")
    rate_headers = ratelimit.check(request, scope, write=write, resource_type=type_name)
    ctx = views.Context(
        base_url=base_url(request),
        meta={"mode": scope.mode, "organization_id": scope.organization_id},
        on_write=hooks.on_write,
        public=scope.application_kind == "sales_channel",
        count=cache.count,
    )
    return Call(scope, type_name, rid, rel, linkage, ctx, rate_headers)


def finish(
    request: HttpRequest, response: HttpResponse, request_id: str, rate_headers: dict[str, str]
) -> HttpResponse:
    """The headers every API response carries (the rate limits', X-Request-Id, Content-Length), and HEAD's
    empty body."""
    for k, v in rate_headers.items():
        response[k] = v
    response["X-Request-Id"] = request_id
    response["Content-Length"] = str(len(response.content))
    if request.method == "HEAD":  # the GET's status and headers, Content-Length included, without its body
        response.content = b""
    return response


@csrf_exempt
def api_view(request: HttpRequest, rest: str) -> HttpResponse:
    request_id = request_id_of(request)
    call: Call | None = None
    try:
        call = preamble(request, rest, request_id)
        scope, ctx = call.scope, call.ctx

        def dispatch() -> HttpResponse:
            return views.dispatch(request, ctx, call.type_name, call.rid, call.rel, call.linkage)

        with scopes.active(scope):
            # read from META: request.headers would parse every header of the request to find one
            key = request.META.get(idempotency.META_KEY) if request.method == "POST" else None
            if request.method in ("GET", "HEAD") and registry.cacheable(call.type_name) and cache.enabled():
                response = _cached(request, ctx, scope, dispatch)
            elif key is not None:
                response = idempotency.run(
                    request, scope.application_id or "", key, lambda: _rendering_errors(dispatch)
                )
            else:
                response = dispatch()
    except errors.HTTP_ERRORS as exc:
        response = errors.render(exc)
    except SuspiciousOperation as exc:  # a body too large, too many parameters: Django's own refusals
        response = errors.render(errors.refused_request(exc))
    except (ProtectedError, RestrictedError):
        response = errors.render(errors.locked())
    except DatabaseError as exc:
        response = database_error(exc, request)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        response = errors.internal_error()
    return finish(request, response, request_id, call.rate_headers if call else {})


def database_error(exc: DatabaseError, request: HttpRequest) -> HttpResponse:
    """A database error as an answer: 503 with Retry-After when retrying will work (lock contention, or a
    database that went away or is restarting: core.database), else an opaque 500."""
    if database.contention(exc):
        detail, retry_after = "The database could not complete the request; retry.", "1"
    elif database.unavailable(exc):
        detail, retry_after = "The database is not available; retry in a moment.", "2"
    else:
        log.error("database error on %s %s", request.method, request.path, exc_info=exc)
        return errors.internal_error()
    log.warning(
        "database error on %s %s (answered 503): %s", request.method, request.path, type(exc).__name__
    )
    error = errors.ApiError(503, "SERVICE_UNAVAILABLE", "Service unavailable", detail)
    error.headers["Retry-After"] = retry_after
    return errors.render(error)
