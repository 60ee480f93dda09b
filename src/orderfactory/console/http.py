"""The console's HTTP plumbing, in one place: the middleware its views need (the API runs none), sign-in, the
(organization, mode) scope of the operator, roles, security headers and the error pages.

Every console view is a ``page`` (GET, any signed-in operator whose role may look at it) or an ``action``
(POST, CSRF-checked, the role it needs enforced here on the server, whatever the page showed). Both run in the
operator's scope exactly as an API request runs in its token's: the tenant managers filter every query by it,
so an id of another organization or mode is a 404 like any unknown id.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.utils.decorators import decorator_from_middleware
from django.views.decorators.csrf import csrf_protect

from orderfactory.auth.models import MODES
from orderfactory.console.models import Operator, role_allows
from orderfactory.core import scope as scopes

View = Callable[..., HttpResponse]

# Pages name only their own origin: scripts and styles are files of the console, charts are inline SVG, and no
# page may be framed (the console acts on orders).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Pages show customers' data and, once, a client secret: no cache keeps them.
    "Cache-Control": "no-store",
}
MODE_KEY = "console_mode"


class OperatorBackend(ModelBackend):
    """Django's model backend (hashed passwords, inactive operators refused), reading the operator's
    organization with the operator: every page needs its slug."""

    def get_user(self, user_id: Any) -> Operator | None:
        operator = Operator.objects.select_related("organization").filter(pk=user_id).first()
        return operator if operator is not None and self.user_can_authenticate(operator) else None


def with_middleware(view: View) -> View:
    """Sessions, the signed-in operator, messages and CSRF, in Django's order, around this view only."""
    wrapped: Any = csrf_protect(view)
    for middleware in (MessageMiddleware, AuthenticationMiddleware, SessionMiddleware):
        wrapped = decorator_from_middleware(middleware)(wrapped)
    return cast(View, wrapped)


def secured(response: HttpResponse) -> HttpResponse:
    for name, value in SECURITY_HEADERS.items():
        response.setdefault(name, value)
    return response


def mode_of(request: HttpRequest) -> str:
    mode = request.session.get(MODE_KEY)
    return mode if mode in MODES else "test"


def operator_scope(request: HttpRequest, operator: Operator) -> scopes.Scope:
    return scopes.Scope(
        organization_id=operator.organization_id,
        organization_slug=operator.organization.slug,
        mode=mode_of(request),
        application_id="console",
        application_kind="console",
        request_id=uuid.uuid4().hex,
        operator=(operator.pk, operator.email),
    )


def error_page(request: HttpRequest, status: int, title: str, detail: str) -> HttpResponse:
    return render(request, "console/error.html", {"title": title, "detail": detail}, status=status)


def _console_view(methods: tuple[str, ...], role: str) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return secured(HttpResponseNotAllowed(methods))
            operator = request.user
            if not isinstance(operator, Operator):
                return secured(
                    HttpResponseRedirect(f"/console/login?{urlencode({'next': request.get_full_path()})}")
                )
            with scopes.active(operator_scope(request, operator)):
                try:
                    if not role_allows(operator.role, role):
                        raise PermissionDenied(role)
                    response = view(request, *args, **kwargs)
                except Http404:
                    response = error_page(
                        request, 404, "Not found", "There is nothing here in this organization and mode."
                    )
                except PermissionDenied:
                    response = error_page(
                        request,
                        403,
                        "Not allowed",
                        f"Your role ({operator.role}) may not do this: it needs the {role} role.",
                    )
            return secured(response)

        return with_middleware(inner)

    return decorate


def page(role: str = "viewer") -> Callable[[View], View]:
    """A page (GET) that operators of ``role`` or above may see."""
    return _console_view(("GET", "HEAD"), role)


def action(role: str) -> Callable[[View], View]:
    """An action (POST, CSRF-checked) that operators of ``role`` or above may take."""
    return _console_view(("POST",), role)


def public(view: View) -> View:
    """A view for operators not signed in yet (the sign-in page), with the same middleware and headers."""

    @wraps(view)
    def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return secured(view(request, *args, **kwargs))

    return with_middleware(inner)
