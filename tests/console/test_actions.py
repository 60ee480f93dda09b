"""Every console action, through Django's test client: it calls the service the API calls (same validation,
same events and audit trail), and the audit trail names the operator."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from orderfactory.auth.models import Application
from orderfactory.core import clock, scope
from orderfactory.events.models import Event, EventStore, Webhook, WebhookDelivery
from orderfactory.factories import services as factories
from orderfactory.factories.models import OrderFactory
from orderfactory.orders.models import Order
from orderfactory.subscriptions.models import OrderSubscription, SubscriptionRun
from tests.console.conftest import Console, failing_webhook, rows, set_stock
from tests.console.test_pages import text_of


def who(console: Console) -> dict[str, Any]:
    return {
        "application": {"id": "console", "kind": "console"},
        "owner": {"id": console.operator.pk, "type": "User", "email": console.operator.email},
    }


def trail(api: Any, resource_id: str) -> list[EventStore]:
    return rows(api, EventStore, resource_id=resource_id)


def one(api: Any, model: Any, pk: str) -> Any:
    with scope.active(api.scope()):
        return model.objects.get(pk=pk)


# --- copies -----------------------------------------------------------------------------------------------


def test_retry_makes_a_linked_copy_that_is_the_runs_next_attempt(api, support, renewal):
    old = renewal.failed_copy
    response = support.post(f"/console/copies/{old.pk}/retry")
    assert response.status_code == 303
    new = one(api, OrderFactory, response["Location"].rsplit("/", 1)[1])
    assert (new.retry_of_id, new.status, new.type) == (old.pk, "pending", "order_copies")
    for option in factories.RETRIED_COLUMNS:
        assert getattr(new, option) == getattr(old, option), option
    # the scheduler's planned retry is superseded: the run runs this attempt now
    [run] = rows(api, SubscriptionRun, order_subscription_id=renewal.subscription.pk)
    assert (run.status, run.attempts, run.next_attempt_at) == ("running", 2, None)
    # recorded as the API records a copy's creation, by the operator
    [created] = trail(api, new.pk)
    assert created.event == "create" and created.who == who(support)
    assert created.payload["source_order"] == [None, old.source_order_id]
    assert [e.name for e in rows(api, Event, resource_id=new.pk)] == ["order_copies.create"]
    page = text_of(support.text(f"/console/copies/{new.pk}"))
    assert f"Retry of {old.pk} (failed)" in page and "reloads itself" in page
    # the stock is back: the worker completes the retry, and the run and the subscription follow it
    set_stock(api, "TSHIRT", 10)
    assert factories.run(new.pk) == "completed"
    [run] = rows(api, SubscriptionRun, order_subscription_id=renewal.subscription.pk)
    assert run.status == "succeeded" and run.target_order_id == one(api, OrderFactory, new.pk).target_order_id
    assert one(api, OrderSubscription, renewal.subscription.pk).succeeded_on_last_run is True
    assert f"Retried as {new.pk} (completed)" in text_of(support.text(f"/console/copies/{old.pk}"))


def test_a_copy_is_retried_once_and_only_when_it_failed_or_aborted(api, support, renewal):
    old = renewal.failed_copy
    assert support.post(f"/console/copies/{old.pk}/retry").status_code == 303
    again = support.post(f"/console/copies/{old.pk}/retry")
    assert again.status_code == 422 and "status - was retried already" in text_of(again.content.decode())
    [new] = rows(api, OrderFactory, retry_of_id=old.pk)
    refused = support.post(f"/console/copies/{new.pk}/retry")
    assert refused.status_code == 422
    assert "is pending: only a failed or aborted copy can be retried" in refused.content.decode()
    assert len(rows(api, OrderFactory)) == 2


def test_an_attempt_whose_run_succeeded_is_not_retried(api, support, renewal):
    set_stock(api, "TSHIRT", 10)
    with scope.active(api.scope()):
        SubscriptionRun.objects.update(status="succeeded")
    refused = support.post(f"/console/copies/{renewal.failed_copy.pk}/retry")
    assert refused.status_code == 422 and "its subscription run is succeeded" in refused.content.decode()
    assert len(rows(api, OrderFactory)) == 1


def test_cancel_an_unplaced_target(api, support, renewal):
    copy = renewal.failed_copy
    assert one(api, Order, copy.target_order_id).status == "pending"
    assert support.post(f"/console/copies/{copy.pk}/cancel-target").status_code == 303
    target = one(api, Order, copy.target_order_id)
    assert target.status == "cancelled"
    # orders.services.cancel, as the API's _cancel: the change and orders.cancel, by the operator
    assert trail(api, target.pk)[-1].payload["status"] == ["pending", "cancelled"]
    assert trail(api, target.pk)[-1].who == who(support)
    assert "orders.cancel" in [e.name for e in rows(api, Event, resource_id=target.pk)]
    again = support.post(f"/console/copies/{copy.pk}/cancel-target")
    assert again.status_code == 422
    assert (
        "The target order is cancelled: only an unplaced target can be cancelled here."
        in again.content.decode()
    )


def test_a_placed_target_is_not_cancelled_from_the_copy(api, support, renewal):
    set_stock(api, "TSHIRT", 10)
    response = support.post(f"/console/copies/{renewal.failed_copy.pk}/retry")
    new_id = response["Location"].rsplit("/", 1)[1]
    assert factories.run(new_id) == "completed"
    target_id = one(api, OrderFactory, new_id).target_order_id
    refused = support.post(f"/console/copies/{new_id}/cancel-target")
    assert refused.status_code == 422 and "is placed" in refused.content.decode()
    assert one(api, Order, target_id).status == "placed"


# --- subscriptions ----------------------------------------------------------------------------------------


def act(console: Console, subscription: OrderSubscription, name: str, **data: Any) -> Any:
    return console.post(f"/console/subscriptions/{subscription.pk}/{name}", data)


def test_skip_and_unskip(api, support, renewal):
    sub = renewal.subscription
    assert act(support, sub, "skip").status_code == 303
    assert one(api, OrderSubscription, sub.pk).skip_runs == 1
    change = trail(api, sub.pk)[-1]
    assert change.payload == {"skip_runs": [0, 1]} and change.who == who(support)
    page = text_of(support.text(f"/console/subscriptions/{sub.pk}"))
    assert page.count("skipped €30,00") == 1 and "The next run will be skipped." in page
    assert act(support, sub, "unskip").status_code == 303
    assert one(api, OrderSubscription, sub.pk).skip_runs == 0
    assert "skipped €30,00" not in text_of(support.text(f"/console/subscriptions/{sub.pk}"))


def test_pause_until_a_date_and_resume(api, support, renewal):
    sub = renewal.subscription
    until = (clock.now() + dt.timedelta(days=3)).replace(second=0, microsecond=0)
    response = act(support, sub, "pause", until=until.strftime("%Y-%m-%dT%H:%M"))
    assert response.status_code == 303
    assert one(api, OrderSubscription, sub.pk).paused_until == until
    assert trail(api, sub.pk)[-1].who == who(support)
    page = text_of(support.text(f"/console/subscriptions/{sub.pk}"))
    assert page.count("paused €30,00") >= 2  # the runs before the date
    assert act(support, sub, "resume").status_code == 303
    assert one(api, OrderSubscription, sub.pk).paused_until is None


def test_a_pause_is_validated_as_the_api_validates_it(api, support, renewal):
    sub = renewal.subscription
    past = act(support, sub, "pause", until=(clock.now() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    assert past.status_code == 422 and "_pause_until - must be in the future" in past.content.decode()
    blank = act(support, sub, "pause", until="")
    assert blank.status_code == 422 and "Pause until (UTC): This field is required." in blank.content.decode()
    assert one(api, OrderSubscription, sub.pk).paused_until is None


def test_move_the_next_run(api, support, renewal):
    sub = renewal.subscription
    later = (clock.now() + dt.timedelta(days=2)).replace(second=0, microsecond=0)
    assert act(support, sub, "move", next_run_at=later.strftime("%Y-%m-%dT%H:%M")).status_code == 303
    assert one(api, OrderSubscription, sub.pk).next_run_at == later
    earlier = act(support, sub, "move", next_run_at="2001-01-01T00:00")
    assert earlier.status_code == 422 and "next_run_at - must be in the future" in earlier.content.decode()
    assert one(api, OrderSubscription, sub.pk).next_run_at == later


def test_deactivate_activate_and_cancel(api, support, renewal):
    sub = renewal.subscription
    assert act(support, sub, "deactivate").status_code == 303
    assert one(api, OrderSubscription, sub.pk).status == "inactive"
    assert act(support, sub, "activate").status_code == 303
    assert one(api, OrderSubscription, sub.pk).status == "active"
    twice = act(support, sub, "activate")
    assert twice.status_code == 422
    assert "status - cannot transition from active to active" in twice.content.decode()
    assert act(support, sub, "cancel").status_code == 303
    assert one(api, OrderSubscription, sub.pk).status == "cancelled"
    names = [e.name for e in rows(api, Event, resource_id=sub.pk)]
    for name in ("deactivate", "activate", "cancel"):
        assert f"order_subscriptions.{name}" in names
    assert [s.payload["status"] for s in trail(api, sub.pk) if "status" in s.payload][-3:] == [
        ["active", "inactive"],
        ["inactive", "active"],
        ["active", "cancelled"],
    ]


def test_an_unknown_subscription_action_is_a_404(api, support, renewal):
    assert act(support, renewal.subscription, "explode").status_code == 404
    assert support.get(f"/console/subscriptions/{renewal.subscription.pk}/skip").status_code == 405


# --- access: applications and webhooks --------------------------------------------------------------------


def token_for(client_id: str, secret: str) -> Any:
    body = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return Client().post("/oauth/token", data=json.dumps(body), content_type="application/json")


def api_get(path: str, token: str) -> Any:
    return Client().get(
        path, headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.api+json"}
    )


@pytest.mark.parametrize("mode", ["test", "live"])
def test_create_an_application_and_revoke_it(make_console, mode, django_capture_on_commit_callbacks):
    admin = make_console(role="admin", mode=mode)
    response = admin.post("/console/applications/create", {"name": "ERP sync", "kind": "integration"})
    assert response.status_code == 201
    app = Application.objects.get(name="ERP sync")
    assert (app.organization_id, app.mode) == (admin.operator.organization_id, mode)
    html = response.content.decode()
    secret = html.split('class="secret-value">')[1].split("<")[0]
    assert app.client_secret_hash != secret and "will not be shown again" in html
    assert secret not in admin.text("/console/applications/")  # shown once
    token = token_for(app.client_id, secret).json()["access_token"]
    assert api_get("/api/organization", token).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):  # the revocation reaches tokens after the commit
        assert admin.post(f"/console/applications/{app.pk}/revoke").status_code == 303
    assert api_get("/api/organization", token).status_code == 401
    assert token_for(app.client_id, secret).status_code == 401
    assert "revoked" in admin.text("/console/applications/")


def test_an_application_needs_a_name(admin):
    response = admin.post("/console/applications/create", {"name": "", "kind": "integration"})
    assert response.status_code == 422 and Application.objects.count() == 0


def test_reset_a_webhooks_circuit(api, admin):
    webhook, _ = failing_webhook(api)
    assert admin.post(f"/console/webhooks/{webhook.pk}/reset-circuit").status_code == 303
    webhook = one(api, Webhook, webhook.pk)
    assert (webhook.circuit_state, webhook.circuit_failure_count) == ("closed", 0)
    change = trail(api, webhook.pk)[-1]
    assert change.payload["circuit_state"] == ["open", "closed"] and change.who == who(admin)


def test_a_circuit_whose_callback_the_outbound_rules_now_refuse_stays_open_with_the_reason(api, admin):
    """A webhook saved while the operator allowed private networks, which they no longer allow: resetting its
    circuit is refused with the API's reason (not a 500), and nothing changes."""
    webhook, _ = failing_webhook(api)
    with scope.active(api.scope()):
        Webhook.objects.filter(pk=webhook.pk).update(callback_url="http://127.0.0.1:9/hooks")
    response = admin.post(f"/console/webhooks/{webhook.pk}/reset-circuit")
    assert response.status_code == 422 and "must point at a public address" in response.content.decode()
    assert one(api, Webhook, webhook.pk).circuit_state == "open"


def test_redeliver_a_failed_delivery(api, admin):
    webhook, delivery = failing_webhook(api)
    refused = admin.post(f"/console/webhooks/{webhook.pk}/redeliver", {"delivery": delivery.pk})
    assert refused.status_code == 422 and "reset its circuit first" in refused.content.decode()
    assert len(rows(api, WebhookDelivery)) == 1
    admin.post(f"/console/webhooks/{webhook.pk}/reset-circuit")
    other, _ = failing_webhook(api, name="other")  # on the same topic: not redelivered to
    with scope.active(api.scope()):
        Webhook.objects.filter(pk=other.pk).update(circuit_state="closed", circuit_failure_count=0)
    response = admin.post(f"/console/webhooks/{webhook.pk}/redeliver", {"delivery": delivery.pk})
    assert response.status_code == 303
    queued = rows(api, WebhookDelivery, status="pending")
    assert [(d.webhook_id, d.event_id) for d in queued] == [(webhook.pk, delivery.event_id)]


def test_mode_switch_shows_the_other_modes_data(api, live_api, make_console, renewal):
    console = make_console(role="support")
    assert renewal.subscription.number in console.text("/console/subscriptions/")
    assert console.post("/console/mode", {"mode": "live"}).status_code == 303
    page = console.text("/console/subscriptions/")
    assert "Mode: <strong>live</strong>" in page and renewal.subscription.number not in page
    assert "Live mode: actions change real orders." in page
    assert console.post("/console/mode", {"mode": "staging"}).status_code == 400
