"""The URLs of ``orderfactory serve`` under bench/api_read.py: the product's, and ``/_bench/ceiling``, the ceiling
the read benchmark measures the list endpoint against. Loaded through bench/ceiling_settings.py; never part of
a deployment.

``POST`` stores the request body; ``GET`` returns it. The benchmark stores the exact bytes of a list response,
so a GET here costs what the list endpoint costs minus the engine's work (query parsing, SQL, rendering): the
same server and the same steps before the engine and after it, as ``orderfactory.api.api_view`` takes them
(``api.preamble``: negotiation, token verification, routing, the rate-limit check, the engine's context; then
``api.finish``), for the route of the price lists, and a response of the same size. The body lives in process
memory, so it is served by the process that received the POST: run the server with one worker process (the
default) when benchmarking.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from orderfactory import api
from orderfactory.jsonapi import errors
from orderfactory.urls import handler400, handler404, handler500, urlpatterns

_ceiling = b""


@csrf_exempt
def ceiling_view(request: HttpRequest) -> HttpResponse:
    global _ceiling
    request_id = api.request_id_of(request)
    try:
        call = api.preamble(request, "price_lists", request_id)
    except errors.ApiError as exc:
        return api.finish(request, errors.render(exc), request_id, {})
    if request.method == "POST":
        _ceiling = request.body
        response = HttpResponse(status=204)
    else:
        response = HttpResponse(_ceiling, content_type=errors.JSONAPI)
    return api.finish(request, response, request_id, call.rate_headers)


urlpatterns = [path("_bench/ceiling", ceiling_view), *urlpatterns]

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]
