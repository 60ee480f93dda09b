"""Cross-origin requests (CORS) for apps served from another origin than the API, such as Commerce Layer's
dashboard apps: ``ORDERFACTORY_CORS_ORIGINS`` lists the origins allowed (none by default).

Requests carry the token in ``Authorization``, never in a cookie, so no response allows credentials, and an
allowed origin is echoed rather than answered with ``*`` (unless ``*`` itself is configured). A preflight
(``OPTIONS`` with ``Access-Control-Request-Method``) is answered here, before authentication, which it cannot
pass: it carries no token.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

METHODS = "GET, POST, PATCH, DELETE"
# What the SDK and js-auth send, and the idempotency key a client may add.
HEADERS = "Authorization, Content-Type, Accept, X-CL-SDK, Idempotency-Key"
# What a client may read beside the simple headers: the rate limit it is under and the request's id.
EXPOSED = "X-Ratelimit-Limit, X-Ratelimit-Interval, X-Ratelimit-Remaining, Retry-After, X-Request-Id"
MAX_AGE = "600"

View = Callable[..., HttpResponse]


def allow(view: View) -> View:
    """The view, answering preflights and marking responses readable by the configured origins."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        origins = cast(frozenset[str], settings.ORDERFACTORY["CORS_ORIGINS"])
        if not origins:
            return view(request, *args, **kwargs)
        origin = request.headers.get("Origin")
        allowed = _allowed(origin, origins)
        if request.method == "OPTIONS" and origin and "Access-Control-Request-Method" in request.headers:
            response = HttpResponse(status=204)
            if allowed is not None:
                response["Access-Control-Allow-Methods"] = METHODS
                response["Access-Control-Allow-Headers"] = HEADERS
                response["Access-Control-Max-Age"] = MAX_AGE
        else:
            response = view(request, *args, **kwargs)
            if allowed is not None:
                response["Access-Control-Expose-Headers"] = EXPOSED
        if allowed is not None:
            response["Access-Control-Allow-Origin"] = allowed
        patch_vary_headers(response, ["Origin"])  # the answer depends on Origin: caches must keep them apart
        return response

    return wrapped


def _allowed(origin: str | None, origins: frozenset[str]) -> str | None:
    """The ``Access-Control-Allow-Origin`` value for a request from ``origin``, or None if it is not allowed."""
    if not origin:
        return None
    if "*" in origins:
        return "*"
    return origin if origin.lower() in origins else None
