"""Django's error views, for what fails outside the API's own views (an unknown URL, a body Django refuses
before the token endpoint reads it, an error nothing caught): JSON:API errors, as everywhere else."""

from __future__ import annotations

import sys

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

from orderfactory import api
from orderfactory.jsonapi import errors


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return errors.render(errors.refused_request(exception or Exception()))


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return errors.render(errors.not_found("The requested route was not found."))


def server_error(request: HttpRequest) -> HttpResponse:
    """An error nothing caught (outside the API's views: the token endpoint, say): a database that went away is
    the API's 503 with Retry-After, anything else a JSON:API 500."""
    exc = sys.exc_info()[1]
    return api.database_error(exc, request) if isinstance(exc, DatabaseError) else errors.internal_error()
