"""The console's views: read a selector and render a template, or check a form and call the domain service
the API calls for the same thing (same validation, same events and audit trail, the operator as ``who``).

Actions answer 303 to the page they act on, with a message; refused input re-renders that page with 422 and
the service's own error messages.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.db import models, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from orderfactory.auth import ratelimit
from orderfactory.auth import services as applications
from orderfactory.auth.models import MODES
from orderfactory.console import forms, selectors
from orderfactory.console.http import MODE_KEY, action, page, public, secured
from orderfactory.core import hooks
from orderfactory.core import scope as scopes
from orderfactory.core.errors import DomainError
from orderfactory.events import services as events
from orderfactory.events.models import Webhook, WebhookDelivery
from orderfactory.factories import services as factories
from orderfactory.factories.models import OrderFactory
from orderfactory.jsonapi import errors
from orderfactory.orders import services as orders
from orderfactory.subscriptions import services as subscriptions
from orderfactory.subscriptions.models import OrderSubscription


def _done(request: HttpRequest, url: str, message: str) -> HttpResponse:
    messages.success(request, message)
    return HttpResponseRedirect(url, status=303)


def _problems(exc: Exception) -> list[str]:
    if isinstance(exc, DomainError):
        exc = errors.from_domain(exc)
    assert isinstance(exc, (errors.ApiError, errors.ApiErrors))
    found = exc.errors if isinstance(exc, errors.ApiErrors) else [exc]
    return [e.detail for e in found]


def _updated(qs: models.QuerySet, pk: str, resource_type: str, change: Callable[[Any], object]) -> None:
    """An update as the API's PATCH makes it (jsonapi.views.update): in one transaction, the row locked, the
    service's change, then the audit trail and ``<type>.update`` from the row before and after."""
    with transaction.atomic():
        instance = selectors.one(qs.select_for_update(), pk)
        before = {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}
        change(instance)
        hooks.on_write("update", resource_type, instance, before)


# --- signing in -------------------------------------------------------------------------------------------


@public
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next") or request.GET.get("next") or "/console/"
    if not target.startswith("/console/") or not url_has_allowed_host_and_scheme(target, None):
        target = "/console/"
    form = forms.SignInForm(request.POST if request.method == "POST" else None)
    status, problem = 200, None
    if request.method == "POST":
        try:
            ratelimit.check_console_sign_in(request, request.POST.get("email", ""))
        except errors.ApiError as exc:
            status, problem = 429, f"Too many sign-in attempts: {exc.detail} Wait a minute and try again."
        else:
            if form.is_valid():
                operator = authenticate(
                    request, username=form.cleaned_data["email"], password=form.cleaned_data["password"]
                )
                if operator is not None:
                    login(request, operator)
                    request.session[MODE_KEY] = "test"
                    return HttpResponseRedirect(target, status=303)
            status, problem = 200, "The email or the password is wrong."
    return render(
        request, "console/sign_in.html", {"form": form, "next": target, "problem": problem}, status=status
    )


@public
@require_http_methods(["POST"])
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponseRedirect("/console/login", status=303)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return secured(
        render(
            request,
            "console/error.html",
            {
                "title": "Form expired",
                "detail": "This form was not sent from a console page of this session. Reload the page and try again.",
            },
            status=403,
        )
    )


@action("viewer")
def switch_mode(request: HttpRequest) -> HttpResponse:
    mode = request.POST.get("mode")
    if mode not in MODES:
        return render(
            request, "console/error.html", {"title": "Unknown mode", "detail": "test or live"}, status=400
        )
    request.session[MODE_KEY] = mode
    return _done(request, "/console/", f"You now see {mode} data.")


# --- the overview -----------------------------------------------------------------------------------------


@page()
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "console/overview.html", {"overview": selectors.overview(), "section": "overview"})


# --- copies -----------------------------------------------------------------------------------------------


def _query(request: HttpRequest, **changes: str) -> str:
    params = QueryDict(mutable=True)
    params.update({k: str(v) for k, v in request.GET.items() if v and k != "page"})
    params.update(changes)
    return urlencode(sorted(params.items()))


def _list(
    request: HttpRequest, template: str, section: str, form: Any, found: models.QuerySet, **context: Any
) -> HttpResponse:
    """A list page: its filter form, the page of rows asked for, and the filters again for the page links
    (400 when a filter is not valid: the list is then unfiltered)."""
    context.update(
        form=form,
        page=selectors.paginate(found, request.GET.get("page")),
        query=_query(request),
        section=section,
    )
    status = 200 if form.is_valid() or not request.GET else 400
    return render(request, f"console/{template}.html", context, status=status)


@page()
def copy_list(request: HttpRequest) -> HttpResponse:
    form = forms.CopyFilter(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else dict.fromkeys(forms.CopyFilter.base_fields)
    return _list(request, "copies", "copies", form, selectors.copies(**filters), kinds=forms.KIND_NAME)


def _page(
    request: HttpRequest, template: str, section: str, problems: list[str] | None = None, **context: Any
) -> HttpResponse:
    """A page of one row, with the problems of a refused action on it (422) or none."""
    context.update(problems=problems, section=section)
    return render(request, f"console/{template}.html", context, status=422 if problems else 200)


def _copy(request: HttpRequest, copy_id: str, problems: list[str] | None = None) -> HttpResponse:
    return _page(
        request, "copy", "copies", problems, page=selectors.copy_page(copy_id), kinds=forms.KIND_NAME
    )


@page()
def copy_detail(request: HttpRequest, copy_id: str) -> HttpResponse:
    return _copy(request, copy_id)


@action("support")
def copy_retry(request: HttpRequest, copy_id: str) -> HttpResponse:
    selectors.one(OrderFactory.objects.all(), copy_id)
    try:
        retry = factories.retry(copy_id)
    except errors.HTTP_ERRORS as exc:
        return _copy(request, copy_id, _problems(exc))
    return _done(request, f"/console/copies/{retry.pk}", f"Retry of {copy_id} queued as {retry.pk}.")


@action("support")
def copy_cancel_target(request: HttpRequest, copy_id: str) -> HttpResponse:
    copy = selectors.one(OrderFactory.objects.select_related("target_order"), copy_id)
    target = copy.target_order
    if target is None or target.status not in selectors.UNPLACED_CANCELLABLE:
        state = f"is {target.status}" if target is not None else "does not exist"
        return _copy(
            request, copy_id, [f"The target order {state}: only an unplaced target can be cancelled here."]
        )
    try:
        orders.cancel(target.pk)
    except errors.HTTP_ERRORS as exc:
        return _copy(request, copy_id, _problems(exc))
    return _done(request, f"/console/copies/{copy_id}", f"Target order {target.pk} cancelled.")


# --- subscriptions ----------------------------------------------------------------------------------------


@page()
def subscription_list(request: HttpRequest) -> HttpResponse:
    form = forms.SubscriptionSearch(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    found = selectors.subscriptions_found(filters.get("q"), filters.get("status"))
    return _list(request, "subscriptions", "subscriptions", form, found)


def _subscription(
    request: HttpRequest, subscription_id: str, problems: list[str] | None = None, **forms_given: Any
) -> HttpResponse:
    return _page(
        request,
        "subscription",
        "subscriptions",
        problems,
        page=selectors.subscription_page(subscription_id),
        pause_form=forms_given.get("pause") or forms.PauseForm(),
        move_form=forms_given.get("move") or forms.MoveForm(),
    )


@page()
def subscription_detail(request: HttpRequest, subscription_id: str) -> HttpResponse:
    return _subscription(request, subscription_id)


# action -> (form, what it changes: (columns, triggers) from the form's data, what the message says)
SUBSCRIPTION_ACTIONS: dict[
    str, tuple[type[forms.forms.Form] | None, Callable[[dict[str, Any]], Any], str]
] = {
    "skip": (None, lambda d: ({}, {"_skip": 1}), "The next run will be skipped."),
    "unskip": (None, lambda d: ({}, {"_unskip": True}), "No run will be skipped."),
    "pause": (forms.PauseForm, lambda d: ({}, {"_pause_until": d["until"]}), "Paused."),
    "resume": (None, lambda d: ({}, {"_resume": True}), "Resumed."),
    "activate": (None, lambda d: ({}, {"_activate": True}), "Activated."),
    "deactivate": (None, lambda d: ({}, {"_deactivate": True}), "Deactivated."),
    "cancel": (None, lambda d: ({}, {"_cancel": True}), "Cancelled."),
    "move": (forms.MoveForm, lambda d: ({"next_run_at": d["next_run_at"]}, {}), "Next run moved."),
}


@action("support")
def subscription_act(request: HttpRequest, subscription_id: str, name: str) -> HttpResponse:
    if name not in SUBSCRIPTION_ACTIONS:
        raise Http404(name)
    selectors.one(OrderSubscription.objects.all(), subscription_id)
    form_class, change, said = SUBSCRIPTION_ACTIONS[name]
    data: dict[str, Any] = {}
    if form_class is not None:
        form = form_class(request.POST)
        if not form.is_valid():
            problems = [f"{form.fields[f].label}: {m}" for f, ms in form.errors.items() for m in ms]
            return _subscription(request, subscription_id, problems, **{name: form})
        data = form.cleaned_data
    columns, triggers = change(data)
    try:
        _updated(
            OrderSubscription.objects.all(),
            subscription_id,
            "order_subscriptions",
            lambda s: subscriptions.update(s, columns, triggers),
        )
    except errors.HTTP_ERRORS as exc:
        return _subscription(request, subscription_id, _problems(exc))
    return _done(request, f"/console/subscriptions/{subscription_id}", said)


# --- orders -----------------------------------------------------------------------------------------------


@page()
def order_list(request: HttpRequest) -> HttpResponse:
    form = forms.OrderSearch(request.GET or None)
    found = selectors.orders_found(form.cleaned_data.get("q") if form.is_valid() else None)
    return _list(request, "orders", "orders", form, found)


@page()
def order_detail(request: HttpRequest, order_id: str) -> HttpResponse:
    return render(
        request,
        "console/order.html",
        {"page": selectors.order_page(order_id), "kinds": forms.KIND_NAME, "section": "orders"},
    )


# --- access: API applications ---------------------------------------------------------------------------


def _applications(
    request: HttpRequest, form: forms.ApplicationForm | None = None, created: Any = None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "console/applications.html",
        {
            "applications": list(selectors.applications()),
            "form": form or forms.ApplicationForm(),
            "created": created,
            "section": "applications",
        },
        status=status,
    )


@page("admin")
def application_list(request: HttpRequest) -> HttpResponse:
    return _applications(request)


@action("admin")
def application_create(request: HttpRequest) -> HttpResponse:
    form = forms.ApplicationForm(request.POST)
    if not form.is_valid():
        return _applications(request, form, status=422)
    s = scopes.current()
    try:
        application, secret = applications.create_application(
            name=form.cleaned_data["name"],
            kind=form.cleaned_data["kind"],
            mode=s.mode,
            organization_slug=s.organization_slug,
        )
    except ValueError as exc:
        form.add_error(None, str(exc))
        return _applications(request, form, status=422)
    # Rendered, not redirected to: the secret is shown in this answer only (never stored, never cached).
    return _applications(request, created=(application, secret), status=201)


@action("admin")
def application_revoke(request: HttpRequest, application_id: str) -> HttpResponse:
    application = selectors.one(selectors.applications(), application_id)
    applications.revoke_application(application.client_id)
    return _done(
        request, "/console/applications/", f"{application.name} is revoked: its tokens stop working."
    )


# --- access: webhooks -------------------------------------------------------------------------------------


@page()
def webhook_list(request: HttpRequest) -> HttpResponse:
    return render(request, "console/webhooks.html", {"rows": selectors.webhooks(), "section": "webhooks"})


def _webhook(request: HttpRequest, webhook_id: str, problems: list[str] | None = None) -> HttpResponse:
    status = request.GET.get("status")
    found = selectors.webhook_page(
        webhook_id, status if status in ("pending", "delivered", "failed") else None, request.GET.get("page")
    )
    return _page(request, "webhook", "webhooks", problems, page=found, query=_query(request))


@page()
def webhook_detail(request: HttpRequest, webhook_id: str) -> HttpResponse:
    return _webhook(request, webhook_id)


@action("admin")
def webhook_reset_circuit(request: HttpRequest, webhook_id: str) -> HttpResponse:
    try:
        _updated(
            Webhook.objects.all(),
            webhook_id,
            "webhooks",
            lambda w: events.save_webhook(w, {}, {"_reset_circuit": True}),
        )
    except errors.HTTP_ERRORS as exc:  # e.g. a callback URL the outbound rules refuse now
        return _webhook(request, webhook_id, _problems(exc))
    return _done(request, f"/console/webhooks/{webhook_id}", "Circuit closed: deliveries start again.")


@action("admin")
def webhook_redeliver(request: HttpRequest, webhook_id: str) -> HttpResponse:
    webhook = selectors.one(Webhook.objects.all(), webhook_id)
    form = forms.RedeliverForm(request.POST)
    if not form.is_valid():
        raise Http404("delivery")
    delivery = selectors.one(
        WebhookDelivery.objects.filter(webhook=webhook).select_related("event"), form.cleaned_data["delivery"]
    )
    with transaction.atomic():
        queued = events.redeliver(delivery.event, webhook)
    if not queued:
        return _webhook(
            request,
            webhook_id,
            ["The webhook is disabled or its circuit is open: enable it or reset its circuit first."],
        )
    return _done(
        request, f"/console/webhooks/{webhook_id}", f"{delivery.event.name} queued for delivery again."
    )


# --- the console's own files ------------------------------------------------------------------------------

STATIC = ("console.css", "console.js")


@cache
def _static(name: str) -> bytes:
    """A file of the console's static folder; only those of STATIC exist (KeyError otherwise)."""
    known = {n: n for n in STATIC}[name]  # the plain string: a template may give a SafeString
    return resources.files("orderfactory.console").joinpath("static", "console", known).read_bytes()


def static_file(request: HttpRequest, name: str) -> HttpResponse:
    if name not in STATIC:
        raise Http404(name)
    response = HttpResponse(_static(name), content_type=mimetypes.guess_type(name)[0])
    # Pages link each file with its content's hash (templatetags.console.asset): a new file is a new URL.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    return response
