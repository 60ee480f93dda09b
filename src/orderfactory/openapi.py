"""``GET /openapi.json``: the OpenAPI 3.1 document of what this server serves (jsonapi.openapi), with the
endpoints outside the engine (the token endpoint, the published keys, the document itself). Public, as
Commerce Layer's own document is: it describes the API, not anyone's data."""

from __future__ import annotations

import functools
from importlib.metadata import version
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse

from orderfactory.jsonapi import errors
from orderfactory.jsonapi import openapi as generator


def _errors(*codes: int) -> dict[str, Any]:
    return {
        str(code): {
            "description": generator.REASONS.get(code, "Error"),
            "content": {errors.JSONAPI: {"schema": {"$ref": "#/components/schemas/Errors"}}},
        }
        for code in codes
    }


_TOKEN_FIELDS = {
    "type": "object",
    "required": ["grant_type", "client_id"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
        "scope": {"type": "string"},
    },
}

EXTRA_PATHS: dict[str, Any] = {
    "/oauth/token": {
        "post": {
            "operationId": "create_token",
            "tags": ["oauth"],
            "security": [],
            "description": "OAuth 2.0 client credentials (RFC 6749 section 4.4), as JSON or a form.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": _TOKEN_FIELDS},
                    "application/x-www-form-urlencoded": {"schema": _TOKEN_FIELDS},
                },
            },
            "responses": {
                "200": {
                    "description": "A token",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": [
                                    "access_token",
                                    "token_type",
                                    "expires_in",
                                    "scope",
                                    "created_at",
                                ],
                                "properties": {
                                    "access_token": {"type": "string"},
                                    "token_type": {"const": "bearer"},
                                    "expires_in": {"type": "integer"},
                                    "scope": {"type": "string"},
                                    "created_at": {"type": "integer"},
                                },
                                "additionalProperties": False,
                            }
                        }
                    },
                },
                **_errors(400, 401, 413, 429, 503),
            },
        }
    },
    "/.well-known/jwks.json": {
        "get": {
            "operationId": "jwks",
            "tags": ["oauth"],
            "security": [],
            "responses": {
                "200": {
                    "description": "The keys tokens are signed with",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["keys"],
                                "properties": {"keys": {"type": "array", "items": {"type": "object"}}},
                            }
                        }
                    },
                }
            },
        }
    },
    "/openapi.json": {
        "get": {
            "operationId": "openapi",
            "tags": ["openapi"],
            "security": [],
            "responses": {
                "200": {
                    "description": "This document",
                    "content": {
                        "application/json": {"schema": {"type": "object", "required": ["openapi", "paths"]}}
                    },
                }
            },
        }
    },
}


@functools.cache
def _rendered() -> bytes:
    # The server is where the document itself was fetched from ("/"), so one document serves every host.
    return orjson.dumps(
        generator.document(
            title="orderfactory (Commerce Layer Core API)",
            version=version("orderfactory"),
            server="/",
            extra_paths=EXTRA_PATHS,
        )
    )


def openapi_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        error = errors.method_not_allowed(request.method or "")
        error.headers["Allow"] = "GET, HEAD"
        return errors.render(error)
    body = _rendered()
    response = HttpResponse(body, content_type="application/json")
    response["Content-Length"] = str(len(body))
    if request.method == "HEAD":
        response.content = b""
    return response
