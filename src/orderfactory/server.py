"""The gunicorn worker of ``orderfactory serve``: gunicorn's threaded worker, whose own refusals (a request line
or headers too long, a request it cannot parse) are JSON:API errors like every other answer, where gunicorn
writes an HTML page. What reaches the application is answered by orderfactory.api."""

from __future__ import annotations

from datetime import datetime
from ssl import SSLError
from typing import Any

import orjson
from gunicorn import util
from gunicorn.http import errors as http
from gunicorn.http.wsgi import Response, default_environ
from gunicorn.workers import gthread

from orderfactory.jsonapi.errors import JSONAPI, ApiError

# The longest request line gunicorn reads (its own maximum): the API keeps every query string it accepts
# within it (jsonapi.query.MAX_QUERY_STRING).
LIMIT_REQUEST_LINE = 8190

_APPLICATION_FAULTS = (http.InvalidResponseHeader, http.InvalidResponseHeaderName, http.ConfigurationProblem)


def refusal(exc: BaseException) -> ApiError:
    """The error for what gunicorn could not take from the client (or, for anything else, a 500)."""
    if isinstance(exc, http.LimitRequestLine):
        return ApiError(414, "URI_TOO_LONG", "URI too long", "The request line is too long.")
    if isinstance(exc, http.LimitRequestHeaders):
        return ApiError(
            431,
            "REQUEST_HEADER_FIELDS_TOO_LARGE",
            "Request header fields too large",
            "The request has too many headers, or one too large.",
        )
    if isinstance(exc, http.UnsupportedTransferCoding):
        return ApiError(501, "NOT_IMPLEMENTED", "Not implemented", "The transfer coding is not supported.")
    if isinstance(exc, http.ExpectationFailed):
        return ApiError(417, "EXPECTATION_FAILED", "Expectation failed", "The expectation is not supported.")
    if isinstance(exc, http.ForbiddenProxyRequest):
        return ApiError(403, "FORBIDDEN", "Forbidden", "The request is forbidden.")
    if isinstance(exc, (http.ParseException, SSLError)) and not isinstance(exc, _APPLICATION_FAULTS):
        return ApiError(400, "BAD_REQUEST", "Bad request", "The request cannot be parsed as HTTP/1.1.")
    return ApiError(500, "INTERNAL_SERVER_ERROR", "Internal server error", "Something went wrong.")


class ThreadWorker(gthread.ThreadWorker):
    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        started = datetime.now()
        addr = addr or ("", -1)  # a unix socket
        error = refusal(exc)
        if error.status < 500:
            self.log.warning("Invalid request from ip=%s: %s", addr[0], exc)
        else:
            self.log.exception("Error handling request %s", getattr(req, "uri", "(no URI read)"))
        body = orjson.dumps({"errors": [error.as_dict()]})
        if req is not None:  # the access log line gunicorn writes for its own answers
            environ = default_environ(req, client, self.cfg)
            environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = addr[0], str(addr[1])
            response = Response(req, client, self.cfg)
            response.status = f"{error.status} {error.title}"
            response.response_length = len(body)
            self.log.access(response, req, environ, datetime.now() - started)
        head = (
            f"HTTP/1.1 {error.status} {error.title}\r\nConnection: close\r\nContent-Type: {JSONAPI}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except Exception:
            self.log.debug("Failed to send error message.")
