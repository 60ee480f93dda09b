"""The audit trail (event stores), named events, webhooks and their deliveries."""

from __future__ import annotations

import secrets

from django.db import models

from orderfactory.core.models import TenantModel, tenant_index


def new_shared_secret() -> str:
    return secrets.token_hex(16)


class EventStore(TenantModel):
    """One create, update or destroy of one resource: append-only, written in the change's transaction."""

    resource_type = models.CharField(max_length=64)
    resource_id = models.CharField(max_length=10)
    event = models.CharField(max_length=16)  # create | update | destroy
    payload = models.JSONField(default=dict)  # attribute -> [old, new]
    who = models.JSONField(default=dict)
    ip_address = models.CharField(max_length=64, null=True, blank=True)
    user_agent = models.CharField(max_length=255, null=True, blank=True)
    uuid = models.CharField(max_length=64, null=True, blank=True)  # the request id

    class Meta(TenantModel.Meta):
        indexes = [
            tenant_index("event_store_tenant", "created_at"),
            models.Index(fields=["resource_id", "created_at"], name="event_store_resource"),
        ]


class Event(TenantModel):
    """A named event that happened to one resource (``orders.place``, ``order_copies.complete``, ...). Its name
    is the webhook topic it fires."""

    name = models.CharField(max_length=100)
    resource_type = models.CharField(max_length=64)
    resource_id = models.CharField(max_length=10)

    class Meta(TenantModel.Meta):
        indexes = [
            tenant_index("event_tenant", "created_at"),
            tenant_index("event_tenant_name", "name", "created_at"),
            models.Index(fields=["resource_id", "created_at"], name="event_resource"),
        ]


class Webhook(TenantModel):
    name = models.CharField(max_length=255, null=True, blank=True)
    topic = models.CharField(max_length=100)
    callback_url = models.CharField(max_length=2048)
    include_resources = models.JSONField(default=list)
    shared_secret = models.CharField(max_length=64, default=new_shared_secret)
    disabled_at = models.DateTimeField(null=True, blank=True)
    circuit_state = models.CharField(max_length=16, default="closed")
    circuit_failure_count = models.IntegerField(default=0)

    class Meta(TenantModel.Meta):
        indexes = [
            tenant_index("webhook_tenant", "created_at"),
            tenant_index("webhook_tenant_topic", "topic"),
        ]


class WebhookDelivery(TenantModel):
    """One event to deliver to one webhook: the body (the resource as it was when the event fired), and
    where its attempts stand. Each attempt signs it with the webhook's secret of the moment."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    body = models.BinaryField()
    status = models.CharField(max_length=16, default="pending")  # pending | delivered | failed
    attempts = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("webhook_delivery_tenant", "created_at")]


class EventCallback(TenantModel):
    """One delivery attempt: what was sent where, and the answer."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="event_callbacks")
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.CASCADE, related_name="event_callbacks"
    )
    callback_url = models.CharField(max_length=2048)
    signature = models.CharField(max_length=128, null=True, blank=True)
    payload = models.JSONField(default=dict)
    response_code = models.CharField(max_length=8, null=True, blank=True)
    response_message = models.CharField(max_length=1024, null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [tenant_index("event_callback_tenant", "created_at")]
