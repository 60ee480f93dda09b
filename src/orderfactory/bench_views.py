"""Bench-only: ``/_bench/ceiling``, the ceiling bench/api_read.py measures the list endpoint against.

Routed only when ``ORDERFACTORY_BENCH=1`` (see orderfactory.urls); never part of a normal deployment.

``POST`` stores the request body; ``GET`` returns it. The benchmark stores the exact bytes of a list response,
so a GET here costs what the list endpoint costs minus the engine's work (query parsing, SQL, rendering):
the same server, negotiation, token verification and rate-limit check, and a response of the same size.
The body lives in process memory, so it is served by the process that received the POST: run the server
with one worker process (the default) when benchmarking.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from orderfactory import api
from orderfactory.auth import ratelimit, tokens
from orderfactory.jsonapi import errors

_ceiling = b""


@csrf_exempt
def ceiling_view(request: HttpRequest) -> HttpResponse:
    global _ceiling
    try:
        api.negotiate(request)
        scope = tokens.authenticate(request)
        write = request.method != "GET"
        rate_headers = ratelimit.check(request, scope, write=write, resource_type="price_lists")
    except errors.ApiError as exc:
        return errors.render(exc)
    if write:
        _ceiling = request.body
        response = HttpResponse(status=204)
    else:
        response = HttpResponse(_ceiling, content_type=errors.JSONAPI)
    for name, value in rate_headers.items():
        response[name] = value
    response["X-Request-Id"] = uuid.uuid4().hex
    return response
