"""Who may reach what: roles are enforced on the server for every action, and every page and action is scoped to
the operator's organization and mode as API tokens are (another's ids are a 404, and nothing changes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps

from orderfactory.auth.models import Application
from orderfactory.console.models import Operator
from orderfactory.core.models import TenantModel
from orderfactory.factories.models import OrderFactory
from tests.console.conftest import Console, failed_renewal, failing_webhook


def database() -> dict[str, list[dict[str, Any]]]:
    """Every row of every tenant table, and the applications: what an action may change."""
    tables = {
        model._meta.label: list(model.unscoped.order_by("pk").values())
        for model in apps.get_models()
        if issubclass(model, TenantModel)
    }
    tables["applications"] = list(Application.objects.order_by("pk").values())
    return tables


def reachable(api: Any) -> tuple[list[str], list[tuple[str, str, dict[str, Any]]]]:
    """Rows of ``api``'s organization and mode: the pages that show them, and every console action on them as
    (role needed, path, form)."""
    renewal = failed_renewal(api)
    webhook, delivery = failing_webhook(api)
    copy, sub = renewal.failed_copy.pk, renewal.subscription.pk
    pages = [
        f"/console/copies/{copy}",
        f"/console/subscriptions/{sub}",
        f"/console/orders/{renewal.order['id']}",
        f"/console/webhooks/{webhook.pk}",
    ]
    actions = [
        ("support", f"/console/copies/{copy}/retry", {}),
        ("support", f"/console/copies/{copy}/cancel-target", {}),
        *(
            ("support", f"/console/subscriptions/{sub}/{name}", {})
            for name in ("skip", "unskip", "resume", "activate", "deactivate", "cancel")
        ),
        ("support", f"/console/subscriptions/{sub}/pause", {"until": "2099-01-01T00:00"}),
        ("support", f"/console/subscriptions/{sub}/move", {"next_run_at": "2099-01-01T00:00"}),
        ("admin", "/console/applications/create", {"name": "intruder", "kind": "integration"}),
        ("admin", f"/console/applications/{api.app.pk}/revoke", {}),
        ("admin", f"/console/webhooks/{webhook.pk}/reset-circuit", {}),
        ("admin", f"/console/webhooks/{webhook.pk}/redeliver", {"delivery": delivery.pk}),
    ]
    return pages, actions


@pytest.mark.parametrize("role", ["viewer", "support"])
def test_roles_are_enforced_on_every_action(api, make_console: Callable[..., Console], role):
    console = make_console(role=role)
    _, table = reachable(api)
    before = database()
    refused = [(needed, path) for needed, path, form in table if needed == "admin" or role == "viewer"]
    for needed, path, form in table:
        response = console.post(path, form)
        if (needed, path) in refused:
            assert response.status_code == 403, path
            assert (
                f"Your role ({role}) may not do this: it needs the {needed} role."
                in response.content.decode()
            )
    if role == "viewer":
        assert database() == before  # nothing changed
    assert Application.objects.filter(name="intruder").count() == 0


def test_applications_are_for_admins_only(make_console):
    for role in ("viewer", "support"):
        assert make_console(role=role).get("/console/applications/").status_code == 403
    assert make_console(role="admin").get("/console/applications/").status_code == 200


def test_what_a_role_may_not_do_is_not_offered(api, make_console):
    renewal = failed_renewal(api)
    copy_page = f"/console/copies/{renewal.failed_copy.pk}"
    sub_page = f"/console/subscriptions/{renewal.subscription.pk}"
    viewer, support = make_console(role="viewer"), make_console(role="support")
    for html in (viewer.text(copy_page), viewer.text(sub_page)):
        assert 'method="post" action="/console/copies' not in html
        assert 'method="post" action="/console/subscriptions' not in html
        assert "Applications</a>" not in html
    assert "/retry" in support.text(copy_page) and "/skip" in support.text(sub_page)


@pytest.mark.parametrize("intruder", ["other organization", "other mode"])
def test_another_organization_or_mode_cannot_reach_pages_or_actions_by_id(
    api, make_console: Callable[..., Console], intruder
):
    console = (
        make_console(organization="globex", role="admin")
        if intruder == "other organization"
        else make_console(organization="acme", role="admin", mode="live")
    )
    pages, table = reachable(api)
    for path in pages:
        response = console.get(path)
        assert response.status_code == 404, path
        assert "There is nothing here in this organization and mode." in response.content.decode()
    before = database()
    for _, path, form in table:
        if path != "/console/applications/create":  # names no row: it creates one in the operator's own scope
            assert console.post(path, form).status_code == 404, path
    assert database() == before
    # and the lists show none of it
    for listing in ("/console/copies/", "/console/subscriptions/", "/console/orders/", "/console/webhooks/"):
        assert "0 found" in console.text(listing) or "No webhook in this mode." in console.text(listing)
    assert api.app.client_id not in console.text("/console/applications/")


def test_a_form_cannot_name_another_organizations_delivery(api, make_api, make_console):
    own_webhook, _ = failing_webhook(make_api(organization="globex"))
    _, their_delivery = failing_webhook(api)
    console = make_console(organization="globex", role="admin")
    console.post(f"/console/webhooks/{own_webhook.pk}/reset-circuit")
    before = database()
    response = console.post(f"/console/webhooks/{own_webhook.pk}/redeliver", {"delivery": their_delivery.pk})
    assert response.status_code == 404 and database() == before


def test_the_console_scope_reads_nothing_of_other_tenants(api, make_api, make_console):
    """The overview's panels and chart count only the operator's own rows."""
    failed_renewal(make_api(organization="globex"))
    failing_webhook(make_api(organization="globex"))
    page = make_console(role="viewer").text("/console/")
    assert "0 completed" in page and "0 failed" in page and "<strong>0</strong> due" in page
    assert "None: every webhook" in page and "None in the last 7 days." in page
    assert OrderFactory.unscoped.count() == 1 and Operator.objects.count() == 1
