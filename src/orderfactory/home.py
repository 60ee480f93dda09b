"""``/`` and ``/api``: what a newcomer (or a browser) finds at the server's root, with no token needed.

``/`` is a small JSON index, indented so that it reads in a browser: the service's name and version, and links
to the API root, the token endpoint, the signing keys and the documentation. ``/api`` is the API root as a
JSON:API document: a link to the collection of every resource type served.
"""

from __future__ import annotations

from importlib import metadata

import orjson
from django.http import HttpRequest, HttpResponse

from orderfactory import api
from orderfactory.jsonapi import errors, registry

DOCS = "https://docs.commercelayer.io/core/"  # the wire format; our differences: docs/compatibility.md


def _version() -> str:
    try:
        return metadata.version("orderfactory")
    except metadata.PackageNotFoundError:
        from orderfactory import __version__

        return __version__


def _answer(request: HttpRequest, document: dict[str, object], content_type: str) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        error = errors.method_not_allowed(request.method or "")
        error.headers["Allow"] = "GET, HEAD"
        return errors.render(error)
    body = orjson.dumps(document, option=orjson.OPT_INDENT_2)
    response = HttpResponse(b"" if request.method == "HEAD" else body, content_type=content_type)
    response["Content-Length"] = str(len(body))
    return response


def index_view(request: HttpRequest) -> HttpResponse:
    base = api.base_url(request)
    return _answer(
        request,
        {
            "name": "orderfactory",
            "version": _version(),
            "description": "Self-hostable order-copy and recurring-order engine speaking the Commerce Layer "
            "Core API",
            "links": {
                "api": f"{base}/api",
                "token": f"{base}/oauth/token",
                "jwks": f"{base}/.well-known/jwks.json",
                "docs": DOCS,
            },
        },
        "application/json",
    )


def api_root_view(request: HttpRequest) -> HttpResponse:
    base = api.base_url(request)
    types = sorted(registry.all_resources())
    return _answer(
        request,
        {
            "links": {"self": f"{base}/api", **{name: f"{base}/api/{name}" for name in types}},
            "meta": {"name": "orderfactory", "version": _version(), "token": f"{base}/oauth/token"},
        },
        errors.JSONAPI,
    )
