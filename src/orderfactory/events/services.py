"""The audit trail, named events and webhook deliveries.

``record_change`` (every create, update and destroy) and ``fire`` (named domain events) run inside the
writer's transaction, so the trail and the events exist exactly when the change does. Deliveries are made
by the background worker after the commit: a signed POST of the resource's document, retried with backoff,
with a circuit that opens after repeated failures.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from django.conf import settings
from django.db import models, transaction

from orderfactory import queue
from orderfactory.core import clock, hooks, outbound
from orderfactory.core import scope as scopes
from orderfactory.core.errors import CommonErrorCode, DomainError, Problem, blank, problem
from orderfactory.core.models import new_row
from orderfactory.core.prepared import Prepared
from orderfactory.events.models import (
    Event,
    EventCallback,
    EventStore,
    Webhook,
    WebhookDelivery,
    new_shared_secret,
)
from orderfactory.jsonapi import documents, errors, registry
from orderfactory.jsonapi.resource import ToOne, format_datetime

log = logging.getLogger("orderfactory.webhooks")

SIGNATURE_HEADER = outbound.SIGNATURE_HEADER
RESPONSE_MESSAGE_LENGTH = 1024  # of the answer, kept in event_callbacks.response_message
# Standard fields the audit trail leaves out: the id is the row's resource_id, and the timestamps are the row's own.
IGNORED_ATTRIBUTES = {"id", "created_at", "updated_at"}
SECRET = re.compile(r"secret|password|(^|_)token$")
# The audit and delivery records themselves: changes to them are audited but fire no topic.
UNTOPICAL = ("event_stores", "events", "event_callbacks")
# Served views over rows that are written, and fire, as another type (a factory is an order copy or a
# recurring order copy).
VIEWS = ("order_factories",)


def _setting(name: str, default: float) -> float:
    """Read at call time, so a deployment (or a test) can change it without reloading the module."""
    return float(os.environ.get(name) or default)


def timeout() -> float:
    return _setting("ORDERFACTORY_WEBHOOK_TIMEOUT", 5)


def max_attempts() -> int:
    return int(_setting("ORDERFACTORY_WEBHOOK_MAX_ATTEMPTS", 5))


def circuit_threshold() -> int:
    return int(_setting("ORDERFACTORY_WEBHOOK_CIRCUIT_THRESHOLD", 10))


def backoff_seconds() -> float:
    return _setting("ORDERFACTORY_WEBHOOK_BACKOFF", 10)


# Named domain events beyond <type>.create / .update / .destroy (docs/events.md).
DOMAIN_EVENTS = {
    "customers": (
        "request_anonymization",
        "cancel_anonymization",
        "start_anonymization",
        "complete_anonymization",
        "fail_anonymization",
    ),
    "orders": ("place", "cancel", "approve", "archive", "unarchive", "start_fulfilling", "fulfill"),
    "shipments": ("upcoming", "on_hold", "picking", "packing", "ready_to_ship", "ship", "deliver", "cancel"),
    "order_copies": ("start", "complete", "fail", "abort"),
    "recurring_order_copies": ("start", "complete", "fail", "abort"),
    "order_copy_batches": ("complete", "fail"),
    "order_subscriptions": ("activate", "deactivate", "cancel", "renewal_alert", "run", "skip"),
}


def topics() -> set[str]:
    """Every topic a webhook may subscribe to: ``<type>.create|update|destroy`` of every resource that is
    written (it takes writes, or its services record them: ``has_events``), and the domain events."""
    found: set[str] = set()
    for type_name, resource in registry.all_resources().items():
        if resource.singleton or type_name in UNTOPICAL or type_name in VIEWS:
            continue
        if resource.has_events or set(resource.actions) & {"create", "update", "delete"}:
            found.update(f"{type_name}.{action}" for action in ("create", "update", "destroy"))
    for type_name, names in DOMAIN_EVENTS.items():
        found.update(f"{type_name}.{name}" for name in names)
    return found


# --- the audit trail --------------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def is_secret(name: str) -> bool:
    """Credentials never enter the audit trail, even those a GET shows (a webhook's ``shared_secret``)."""
    return bool(SECRET.search(name))


@functools.cache
def audited_columns(resource_type: str) -> dict[str, str]:
    """column -> the name a client knows it by: the resource's fetchable attributes and its relationships
    (by the target id). Bookkeeping columns (claims, leases, counters of attempts) and secrets stay out."""
    resource = registry.get(resource_type)
    if resource is None:
        return {}
    columns = {
        a.column: a.name
        for a in resource.all_attributes()
        if a.column and a.fetchable and a.name not in IGNORED_ATTRIBUTES and not is_secret(a.name)
    }
    columns.update(
        {
            rel.column: rel.name
            for rel in resource.all_relationships()
            if isinstance(rel, ToOne) and rel.column and not is_secret(rel.name)
        }
    )
    return columns


def snapshot(instance: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def diff(
    resource_type: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> dict[str, list[Any]]:
    """attribute -> [old, new] for every audited field that changed."""
    before = before or {}
    after = after or {}
    out = {}
    for column, name in audited_columns(resource_type).items():
        old, new = before.get(column), after.get(column)
        if old != new:
            out[name] = [_json_value(old), _json_value(new)]
    return dict(sorted(out.items()))


def _who() -> dict[str, Any]:
    """Who made the change, in Commerce Layer's shape; the worker reports itself as an application of kind
    ``worker`` so clients read ``who.application`` alike for every row."""
    s = scopes.current_or_none()
    if s is None:
        return {}
    if s.application_kind == "worker":
        return {"application": {"id": s.application_id, "kind": "worker"}}
    return s.who()


@hooks.register
def record_change(action: str, resource_type: str, instance: Any, before: dict[str, Any] | None) -> None:
    """Append the change to the audit trail and fire ``<type>.<action>``."""
    after = None if action == "destroy" else snapshot(instance)
    payload = diff(resource_type, before, after)
    if action == "update" and not payload:
        return
    s = scopes.current()
    store = new_row(
        EventStore,
        resource_type=resource_type,
        resource_id=instance.pk,
        event=action,
        payload=payload,
        who=_who(),
        uuid=s.request_id,
    )
    with held() as rows:  # written at the end of this block, or of an outer hooks.batched one
        rows.stores.append(store)
        if resource_type not in UNTOPICAL:
            record_event(f"{resource_type}.{action}", resource_type, instance, document=action != "destroy")


# --- events and webhooks ----------------------------------------------------------------------------------


@hooks.register_event
def fire(name: str, resource_type: str, instance: Any) -> None:
    """A domain event (``core.hooks.event``): record it and queue its deliveries."""
    record_event(name, resource_type, instance)


def record_event(name: str, resource_type: str, instance: Any, *, document: bool = True) -> Event:
    """Record that ``name`` happened to ``instance`` and queue a delivery to each enabled webhook on it."""
    event = new_row(Event, name=name, resource_type=resource_type, resource_id=instance.pk)
    with held() as rows:  # written at the end of this block, or of an outer hooks.batched one
        rows.events.append((event, instance.pk, document))
    return event


_LISTENING = Prepared(
    lambda topics: Webhook.objects.filter(topic__in=topics, disabled_at__isnull=True).exclude(
        circuit_state="open"
    )
)


def _webhooks(names: list[str]) -> dict[str, list[Webhook]]:
    """The enabled webhooks whose circuit is not open, of these topics, by topic."""
    found: dict[str, list[Webhook]] = {}
    for webhook in _LISTENING.all(topics=sorted(set(names))):
        found.setdefault(webhook.topic, []).append(webhook)
    return found


def _in_order(rows: list[Any]) -> list[Any]:
    """Lists show these rows by (created_at, id), and the clock counts milliseconds: rows made within one keep
    the order they happened in by lying a millisecond apart."""
    for previous, row in zip(rows, rows[1:], strict=False):
        if row.created_at <= previous.created_at:
            row.created_at = row.updated_at = previous.created_at + dt.timedelta(milliseconds=1)
    return rows


@dataclass
class _Held:
    stores: list[EventStore] = field(default_factory=list)
    events: list[tuple[Event, str, bool]] = field(default_factory=list)  # (event, resource id, document)


_held: contextvars.ContextVar[_Held | None] = contextvars.ContextVar("orderfactory_held_events", default=None)


@hooks.register_batch
@contextmanager
def held() -> Iterator[_Held]:
    """The trail rows and events added to the yielded rows are written together at the end of the block, with
    one webhook lookup for all their topics, in the order they happened; within an outer block (``hooks.batched``
    holds them across a whole step), at the end of that one."""
    outer = _held.get()
    if outer is not None:
        yield outer
        return
    rows = _Held()
    token = _held.set(rows)
    try:
        yield rows
    finally:
        _held.reset(token)
    EventStore.objects.bulk_create(_in_order(rows.stores))
    if not rows.events:
        return
    Event.objects.bulk_create(_in_order([event for event, _, _ in rows.events]))
    webhooks = _webhooks([event.name for event, _, _ in rows.events])
    for event, resource_id, document in rows.events:
        for webhook in webhooks.get(event.name, []):
            _queue_delivery(webhook, event, _payload(webhook, event.resource_type, resource_id, document))


def _payload(webhook: Webhook, resource_type: str, resource_id: str, document: bool) -> bytes:
    """The resource's document as a GET with ``include=<include_resources>`` renders it now; just its
    identifier once it is gone (a destroy, or a redelivery after one)."""
    resource = registry.get(resource_type)
    s = scopes.current()
    ctx = documents.Context(
        base_url=str(settings.ORDERFACTORY["PUBLIC_URL"] or "http://localhost"),
        meta={"mode": s.mode, "organization_id": s.organization_id},
    )
    if resource is not None and document:
        include = ",".join(webhook.include_resources or [])
        attempts = ([[("include", include)]] if include else []) + [[]]
        for items in attempts:
            try:
                return orjson.dumps(documents.document_for(ctx, resource, resource_id, items))
            except errors.ApiError:
                continue  # an include the resource no longer takes, or the resource is gone
    return orjson.dumps({"data": {"id": resource_id, "type": resource_type, "meta": ctx.meta}})


def _queue_delivery(webhook: Webhook, event: Event, body: bytes) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(webhook=webhook, event=event, body=body)
    queue.enqueue_webhook_delivery(delivery.pk)
    return delivery


def redeliver(event: Event, webhook: Webhook | None = None) -> int:
    """``_trigger`` on an event: deliver it again, as the resource is now, to every enabled webhook on its
    topic whose circuit is not open, or to that one of them only (the console redelivers one webhook's
    delivery). Returns how many deliveries were queued."""
    queued = 0
    for listening in _webhooks([event.name]).get(event.name, []):
        if webhook is None or listening.pk == webhook.pk:
            _queue_delivery(
                listening, event, _payload(listening, event.resource_type, event.resource_id, True)
            )
            queued += 1
    return queued


def _post(
    url: str, body: bytes, signature: str, topic: str, timeout_seconds: float
) -> tuple[int | None, str]:
    """(status, the start of the answer) of one attempt; the status is None when no HTTP answer came. A refused
    target (core.outbound) is not called, and a redirect is an answer that is not followed: neither stores a
    body, so the callback's record can never show what an address inside the network answers."""
    headers = {
        "Content-Type": "application/vnd.api+json",
        "User-Agent": "orderfactory-webhooks",
        SIGNATURE_HEADER: signature,
        "X-CommerceLayer-Topic": topic,
    }
    try:
        answer = outbound.post(url, body, headers, timeout=timeout_seconds, limit=RESPONSE_MESSAGE_LENGTH)
    except outbound.Refused as exc:
        return None, f"not sent: the callback URL {exc}"
    except (outbound.Unreached, outbound.Failed) as exc:
        return None, f"the callback URL {exc}"[:RESPONSE_MESSAGE_LENGTH]
    if answer.redirect:
        return answer.status, "redirect not followed"
    return answer.status, answer.body.decode("utf-8", "replace")


def deliver(delivery_id: str, *, timeout_seconds: float | None = None) -> None:
    """One delivery attempt (run by the worker). The HTTP call holds no transaction; the outcome is recorded
    in one. The body is signed with the webhook's secret of the moment, so a regenerated secret applies to
    retries too. Success closes the circuit; failure schedules a retry with exponential backoff, and the
    circuit opens after ``circuit_threshold()`` consecutive failures of the webhook, failing its deliveries
    until ``_reset_circuit``."""
    delivery = WebhookDelivery.unscoped.select_related("webhook", "event").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != "pending":
        return
    webhook = delivery.webhook
    s = scopes.Scope(
        organization_id=delivery.organization_id,
        organization_slug="",
        mode=delivery.mode,
        application_id="webhooks",
        application_kind="worker",
    )
    with scopes.active(s):
        if webhook.disabled_at is not None or webhook.circuit_state == "open":
            WebhookDelivery.objects.filter(pk=delivery.pk, status="pending").update(
                status="failed", updated_at=clock.now()
            )
            return
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > clock.now():
            return  # an early duplicate of a scheduled retry: the retry's own job makes the attempt
        body = bytes(delivery.body)
        signature = outbound.sign(body, webhook.shared_secret)
        code, message = _post(
            webhook.callback_url,
            body,
            signature,
            delivery.event.name,
            timeout() if timeout_seconds is None else timeout_seconds,
        )
        _record_attempt(delivery, webhook, signature, body, code, message)


def _record_attempt(
    delivery: WebhookDelivery, webhook: Webhook, signature: str, body: bytes, code: int | None, message: str
) -> None:
    now = clock.now()
    with transaction.atomic():
        claimed = WebhookDelivery.objects.filter(
            pk=delivery.pk, status="pending", attempts=delivery.attempts
        ).update(attempts=models.F("attempts") + 1, updated_at=now)
        if not claimed:
            return  # another worker recorded this attempt
        EventCallback.objects.create(
            webhook=webhook,
            event=delivery.event,
            callback_url=webhook.callback_url,
            signature=signature,
            payload=orjson.loads(body),
            response_code=str(code) if code is not None else None,
            response_message=message[:RESPONSE_MESSAGE_LENGTH],
        )
        if code is not None and 200 <= code < 300:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(status="delivered")
            Webhook.objects.filter(pk=webhook.pk).update(
                circuit_failure_count=0, circuit_state="closed", updated_at=now
            )
            return
        threshold = circuit_threshold()
        Webhook.objects.filter(pk=webhook.pk).update(
            circuit_failure_count=models.F("circuit_failure_count") + 1,
            circuit_state=models.Case(
                models.When(circuit_failure_count__gte=threshold - 1, then=models.Value("open")),
                default=models.F("circuit_state"),
            ),
            updated_at=now,
        )
        attempts = delivery.attempts + 1
        if attempts >= max_attempts() or Webhook.objects.filter(pk=webhook.pk, circuit_state="open").exists():
            WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", next_attempt_at=None)
            log.warning(
                "webhook %s: delivery %s failed for good (%s %s)", webhook.pk, delivery.pk, code, message[:80]
            )
            return
        retry_at = now + dt.timedelta(seconds=backoff_seconds() * (3 ** (attempts - 1)))
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=retry_at)
        queue.enqueue_webhook_delivery(delivery.pk, retry_at)


# --- webhook management -----------------------------------------------------------------------------------


def webhook_problems(webhook: Webhook) -> list[Problem]:
    found = []
    if not webhook.topic:
        found.append(blank("topic"))
    elif webhook.topic not in topics():
        found.append(
            problem("topic", "is not included in the list", CommonErrorCode.INCLUSION, value=webhook.topic)
        )
    url = webhook.callback_url or ""
    if not url:
        found.append(blank("callback_url"))
    elif why := "is invalid" if len(url) > 2048 else outbound.problem(url):
        found.append(problem("callback_url", why, CommonErrorCode.INVALID, value=url[:100]))
    include = webhook.include_resources or []
    if not isinstance(include, list) or not all(isinstance(i, str) for i in include):
        found.append(problem("include_resources", "is invalid", CommonErrorCode.INVALID))
    elif include and webhook.topic and "." in webhook.topic:
        resource = registry.get(webhook.topic.split(".", 1)[0])
        if resource is not None:
            from orderfactory.jsonapi.query import parse_include

            try:
                parse_include(resource, ",".join(include))
            except errors.ApiError:  # the include parameter the engine would refuse on a GET
                found.append(
                    problem("include_resources", "is invalid", CommonErrorCode.INVALID, value=include)
                )
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
        webhook.shared_secret = new_shared_secret()
    problems = webhook_problems(webhook)
    if problems:
        raise DomainError(problems)
    webhook.save()
    return webhook
