"""Errors are values with a status, a code, a title and a pointer; they are rendered in one place (render)."""

from __future__ import annotations

from typing import Any

import orjson
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpResponse

from orderfactory.core.errors import CommonErrorCode, DomainError

JSONAPI = "application/vnd.api+json"


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        *,
        pointer: str | None = None,
        parameter: str | None = None,
        meta: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail or title
        self.pointer = pointer
        self.parameter = parameter
        self.meta = meta
        self.headers = headers or {}

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "title": self.title,
            "detail": self.detail,
            "code": self.code,
            "status": str(self.status),
        }
        if self.pointer is not None:
            out["source"] = {"pointer": self.pointer}
        elif self.parameter is not None:
            out["source"] = {"parameter": self.parameter}
        if self.meta is not None:
            out["meta"] = self.meta
        return out


class ApiErrors(Exception):
    """Several errors reported at once (all share the status of the first)."""

    def __init__(self, errors: list[ApiError]) -> None:
        super().__init__("; ".join(e.detail for e in errors))
        self.errors = errors

    @property
    def status(self) -> int:
        return self.errors[0].status


# --- constructors for the codes of contract d ------------------------------------------------------------


def bad_request(detail: str, code: str = "BAD_REQUEST", title: str = "Bad request", **kw: Any) -> ApiError:
    return ApiError(400, code, title, detail, **kw)


def param_not_allowed(name: str, **kw: Any) -> ApiError:
    return ApiError(400, "PARAM_NOT_ALLOWED", "Param not allowed", f"{name} is not allowed.", **kw)


def invalid_field_value(name: str, value: Any, pointer: str | None = None) -> ApiError:
    return ApiError(
        400,
        "INVALID_FIELD_VALUE",
        "Invalid field value",
        f"{_short(value)} is not a valid value for {name}.",
        pointer=pointer,
    )


def not_found(
    detail: str = "The requested resource was not found. Please double-check the resource id.",
) -> ApiError:
    return ApiError(404, "RECORD_NOT_FOUND", "Record not found", detail)


def unauthorized(
    detail: str = "You are not authorized to perform this action.", code: str = "UNAUTHORIZED"
) -> ApiError:
    return ApiError(401, code, "Access denied" if code == "UNAUTHORIZED" else "Invalid token", detail)


def method_not_allowed(method: str) -> ApiError:
    return ApiError(
        405, "METHOD_NOT_ALLOWED", "Method not allowed", f"{method} is not allowed on this resource."
    )


def locked(detail: str = "The resource cannot be deleted because other resources depend on it.") -> ApiError:
    """423 LOCKED: a delete that the rows depending on the resource, or its own state, forbid."""
    return ApiError(423, "LOCKED", "Locked", detail)


def validation(
    attribute: str, title: str, error: str, *, pointer: str | None = None, **meta: Any
) -> ApiError:
    """A 422 VALIDATION_ERROR, worded like Rails: title "can't be blank", detail "quantity - can't be blank"."""
    return ApiError(
        422,
        "VALIDATION_ERROR",
        title,
        f"{attribute} - {title}",
        pointer=pointer if pointer is not None else f"/data/attributes/{attribute}",
        meta={"error": error, **meta},
    )


def blank(attribute: str, relationship: bool = False) -> ApiError:
    section = "relationships" if relationship else "attributes"
    return validation(attribute, "can't be blank", "blank", pointer=f"/data/{section}/{attribute}")


def payload_too_large() -> ApiError:
    return ApiError(413, "PAYLOAD_TOO_LARGE", "Payload too large", "The request body is too large.")


def refused_request(exc: Exception) -> ApiError:
    """What Django refuses before a view can read the request (its ``SuspiciousOperation``s), as an error."""
    if isinstance(exc, RequestDataTooBig):
        return payload_too_large()
    if isinstance(exc, TooManyFieldsSent):
        return bad_request("The request has more than 1000 parameters or form fields.")
    return bad_request("The request cannot be understood.")


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."


# --- rendering -------------------------------------------------------------------------------------------

# What the HTTP layer catches and renders: its own errors and the domain's.
HTTP_ERRORS = (ApiError, ApiErrors, DomainError)


def from_domain(error: DomainError) -> ApiErrors:
    """The one place a domain error becomes HTTP: Commerce Layer's 422 VALIDATION_ERROR, one entry per
    problem (``meta.error`` is the code), or a 404 / 423 when the code says the thing is missing / locked."""
    out = []
    for p in error.problems:
        if p.code is CommonErrorCode.NOT_FOUND:
            out.append(not_found(p.message) if p.message else not_found())
        elif p.code is CommonErrorCode.LOCKED:
            out.append(locked(p.message))
        else:
            out.append(validation(p.attribute, p.message, str(p.code), pointer=p.pointer, **p.meta))
    return ApiErrors(out)


def render(error: ApiError | ApiErrors | DomainError) -> HttpResponse:
    if isinstance(error, DomainError):
        error = from_domain(error)
    errors = error.errors if isinstance(error, ApiErrors) else [error]
    response = HttpResponse(
        orjson.dumps({"errors": [e.as_dict() for e in errors]}), status=errors[0].status, content_type=JSONAPI
    )
    for e in errors:
        for k, v in e.headers.items():
            response[k] = v
    return response


def internal_error() -> HttpResponse:
    return render(ApiError(500, "INTERNAL_SERVER_ERROR", "Internal server error", "Something went wrong."))
