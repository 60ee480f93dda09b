"""The audit trail, named events and webhook deliveries.

``record_change`` (every create, update and destroy) and ``fire`` (named domain events) run inside the
writer's transaction, so the trail and the events exist exactly when the change does. Deliveries are made
by the background worker after the commit: a signed POST of the resource's document, retried with backoff,
with a circuit that opens after repeated failures.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import os
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any

import orjson
from django.conf import settings
from django.db import models, transaction

from orderfactory import tasks
from orderfactory.core import clock, hooks
from orderfactory.core import scope as scopes
from orderfactory.events.models import Event, EventCallback, EventStore, Webhook, WebhookDelivery
from orderfactory.jsonapi import errors, registry

log = logging.getLogger("orderfactory.webhooks")

SIGNATURE_HEADER = "X-CommerceLayer-Signature"
IGNORED_COLUMNS = {"organization_id", "mode", "updated_at"}
HIDDEN_COLUMNS = {"client_secret_hash", "password", "shared_secret", "body"}


def _setting(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


TIMEOUT = _setting("ORDERFACTORY_WEBHOOK_TIMEOUT", 5)
MAX_ATTEMPTS = int(_setting("ORDERFACTORY_WEBHOOK_MAX_ATTEMPTS", 5))
CIRCUIT_THRESHOLD = int(_setting("ORDERFACTORY_WEBHOOK_CIRCUIT_THRESHOLD", 10))
BACKOFF_SECONDS = _setting("ORDERFACTORY_WEBHOOK_BACKOFF", 10)

# Named domain events beyond <type>.create / .update / .destroy (docs/events.md).
DOMAIN_EVENTS = {
    "orders": ("place", "cancel", "approve", "archive", "unarchive"),
    "order_copies": ("start", "complete", "fail", "abort"),
    "recurring_order_copies": ("start", "complete", "fail", "abort"),
    "order_subscriptions": ("activate", "deactivate", "cancel", "renewal_alert", "run", "skip"),
}


def topics() -> set[str]:
    """Every topic a webhook may subscribe to."""
    found = set()
    for type_name, resource in registry.all_resources().items():
        if resource.singleton or type_name in ("event_stores", "events", "event_callbacks"):
            continue
        found.update(f"{type_name}.{action}" for action in ("create", "update", "destroy"))
    for type_name, names in DOMAIN_EVENTS.items():
        found.update(f"{type_name}.{name}" for name in names)
    return found


# --- the audit trail --------------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (bytes, memoryview)):
        return None
    return value


def snapshot(instance: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, list[Any]]:
    """attribute -> [old, new] for every column that changed (secrets never leave the table)."""
    before = before or {}
    after = after or {}
    out = {}
    for key in sorted(set(before) | set(after)):
        if key in IGNORED_COLUMNS or key in HIDDEN_COLUMNS:
            continue
        old, new = before.get(key), after.get(key)
        if old != new:
            out[key.removesuffix("_id") if key.endswith("_id") and key != "id" else key] = [_json_value(old), _json_value(new)]
    return out


def _who() -> dict[str, Any]:
    s = scopes.current_or_none()
    if s is None:
        return {}
    if s.application_kind == "worker":
        return {"worker": {"id": s.application_id}}
    return s.who()


@hooks.register
def record_change(action: str, resource_type: str, instance: Any, before: dict[str, Any] | None) -> None:
    """Append the change to the audit trail and fire ``<type>.<action>``."""
    after = None if action == "destroy" else snapshot(instance)
    payload = diff(before, after)
    if action == "update" and not payload:
        return
    s = scopes.current()
    EventStore.objects.create(
        resource_type=resource_type,
        resource_id=instance.pk,
        event=action,
        payload=payload,
        who=_who(),
        uuid=s.request_id,
    )
    fire(f"{resource_type}.{action}", resource_type, instance, document=action != "destroy")


# --- events and webhooks ----------------------------------------------------------------------------------


@hooks.register_event
def fire(name: str, resource_type: str, instance: Any, *, document: bool = True) -> Event:
    """Record that ``name`` happened to ``instance`` and queue a delivery to each enabled webhook on it."""
    event = Event.objects.create(name=name, resource_type=resource_type, resource_id=instance.pk)
    for webhook in Webhook.objects.filter(topic=name, disabled_at__isnull=True).exclude(circuit_state="open"):
        _queue_delivery(webhook, event, _payload(webhook, resource_type, instance.pk, document))
    return event


def _payload(webhook: Webhook, resource_type: str, resource_id: str, document: bool) -> bytes:
    from orderfactory.jsonapi import views

    resource = registry.get(resource_type)
    s = scopes.current()
    ctx = views.Context(
        base_url=settings.ORDERFACTORY["PUBLIC_URL"] or "http://localhost",
        meta={"mode": s.mode, "organization_id": s.organization_id},
    )
    body: dict[str, Any]
    if resource is not None and document:
        include = ",".join(webhook.include_resources or [])
        try:
            body = views.document_for(ctx, resource, resource_id, [("include", include)] if include else [])
        except errors.ApiError:
            body = views.document_for(ctx, resource, resource_id, [])
    else:
        body = {"data": {"id": resource_id, "type": resource_type, "meta": ctx.meta}}
    return orjson.dumps(body)


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _queue_delivery(webhook: Webhook, event: Event, body: bytes, run_after: dt.datetime | None = None) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event=event, body=body, signature=sign(body, webhook.shared_secret), next_attempt_at=run_after
    )
    tasks.enqueue_webhook_delivery(delivery.pk, run_after)
    return delivery


def redeliver(event: Event) -> None:
    """``_trigger`` on an event: deliver it again to every enabled webhook on its topic."""
    for webhook in Webhook.objects.filter(topic=event.name, disabled_at__isnull=True).exclude(circuit_state="open"):
        _queue_delivery(webhook, event, _payload(webhook, event.resource_type, event.resource_id, True))


def _post(url: str, body: bytes, signature: str, topic: str) -> tuple[int | None, str]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/vnd.api+json",
            "User-Agent": "orderfactory-webhooks",
            SIGNATURE_HEADER: signature,
            "X-CommerceLayer-Topic": topic,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 (URLs are http(s) only)
            return response.status, response.read(1024).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, (exc.read(1024) or b"").decode("utf-8", "replace") or str(exc.reason)
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        return None, str(getattr(exc, "reason", exc))[:1024]


def deliver(delivery_id: str) -> None:
    """One delivery attempt (run by the worker). The HTTP call holds no transaction; the outcome is recorded
    in one. Success closes the circuit; failure schedules a retry with exponential backoff, and the circuit
    opens after CIRCUIT_THRESHOLD consecutive failures of the webhook."""
    delivery = WebhookDelivery.unscoped.select_related("webhook", "event").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != "pending":
        return
    webhook = delivery.webhook
    s = scopes.Scope(
        organization_id=delivery.organization_id, organization_slug="", mode=delivery.mode,
        application_id="webhooks", application_kind="worker",
    )
    with scopes.active(s):
        if webhook.disabled_at is not None or webhook.circuit_state == "open":
            WebhookDelivery.objects.filter(pk=delivery.pk, status="pending").update(status="failed", updated_at=clock.now())
            return
        body = bytes(delivery.body)
        code, message = _post(webhook.callback_url, body, delivery.signature, delivery.event.name)
        ok = code is not None and 200 <= code < 300
        now = clock.now()
        with transaction.atomic():
            claimed = WebhookDelivery.objects.filter(pk=delivery.pk, status="pending", attempts=delivery.attempts).update(
                attempts=models.F("attempts") + 1, updated_at=now
            )
            if not claimed:
                return  # another worker recorded this attempt
            EventCallback.objects.create(
                webhook=webhook,
                event=delivery.event,
                callback_url=webhook.callback_url,
                signature=delivery.signature,
                payload=orjson.loads(body),
                response_code=str(code) if code is not None else None,
                response_message=message[:1024],
            )
            if ok:
                WebhookDelivery.objects.filter(pk=delivery.pk).update(status="delivered")
                Webhook.objects.filter(pk=webhook.pk).update(circuit_failure_count=0, circuit_state="closed", updated_at=now)
                return
            failures = webhook.circuit_failure_count + 1
            Webhook.objects.filter(pk=webhook.pk).update(
                circuit_failure_count=models.F("circuit_failure_count") + 1,
                circuit_state=models.Case(
                    models.When(circuit_failure_count__gte=CIRCUIT_THRESHOLD - 1, then=models.Value("open")),
                    default=models.F("circuit_state"),
                ),
                updated_at=now,
            )
            attempts = delivery.attempts + 1
            if attempts >= MAX_ATTEMPTS or failures >= CIRCUIT_THRESHOLD:
                WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed")
                log.warning("webhook %s: delivery %s failed for good (%s %s)", webhook.pk, delivery.pk, code, message[:80])
                return
            retry_at = now + dt.timedelta(seconds=BACKOFF_SECONDS * (3 ** (attempts - 1)))
            WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=retry_at)
            tasks.enqueue_webhook_delivery(delivery.pk, retry_at)


# --- webhook management -----------------------------------------------------------------------------------


def webhook_problems(webhook: Webhook) -> list[errors.ApiError]:
    found = []
    if not webhook.topic:
        found.append(errors.blank("topic"))
    elif webhook.topic not in topics():
        found.append(errors.validation("topic", "is not included in the list", "inclusion", value=webhook.topic))
    url = webhook.callback_url or ""
    if not url:
        found.append(errors.blank("callback_url"))
    elif not url.startswith(("http://", "https://")) or len(url) > 2048 or any(c.isspace() for c in url):
        found.append(errors.validation("callback_url", "is invalid", "invalid", value=url[:100]))
    include = webhook.include_resources or []
    if not isinstance(include, list) or not all(isinstance(i, str) for i in include):
        found.append(errors.validation("include_resources", "is invalid", "invalid"))
    elif include and webhook.topic and "." in webhook.topic:
        resource = registry.get(webhook.topic.split(".", 1)[0])
        if resource is not None:
            from orderfactory.jsonapi.query import parse_include

            try:
                parse_include(resource, ",".join(include))
            except errors.ApiError:
                found.append(errors.validation("include_resources", "is invalid", "invalid", value=include))
    return found


def save_webhook(webhook: Webhook, changes: dict[str, Any], triggers: dict[str, Any]) -> Webhook:
    for column, value in changes.items():
        setattr(webhook, column, value)
    if triggers.get("_disable"):
        webhook.disabled_at = webhook.disabled_at or clock.now()
    if triggers.get("_enable"):
        webhook.disabled_at = None
    if triggers.get("_reset_circuit"):
        webhook.circuit_state, webhook.circuit_failure_count = "closed", 0
    if triggers.get("_regenerate_shared_secret"):
        from orderfactory.events.models import new_shared_secret

        webhook.shared_secret = new_shared_secret()
    problems = webhook_problems(webhook)
    if problems:
        raise errors.ApiErrors(problems)
    webhook.save()
    return webhook
