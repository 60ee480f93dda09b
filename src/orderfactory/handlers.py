"""Django's error views, for what fails outside the API's own views (an unknown URL, a body Django refuses
before the token endpoint reads it, an error nothing caught): JSON:API errors, as everywhere else."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from orderfactory.jsonapi import errors


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return errors.render(errors.refused_request(exception or Exception()))


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return errors.render(errors.not_found("The requested route was not found."))


def server_error(request: HttpRequest) -> HttpResponse:
    return errors.internal_error()
