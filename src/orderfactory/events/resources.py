"""event_stores, events, webhooks and event_callbacks."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import models

from orderfactory.events import services
from orderfactory.events.models import Event, EventCallback, EventStore, Webhook
from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import (
    Array,
    Boolean,
    Datetime,
    Integer,
    Object,
    Payload,
    Resource,
    String,
    ToMany,
    ToOne,
)


@registry.register
class EventStoreResource(Resource):
    type = "event_stores"
    model = EventStore
    actions = ("retrieve",)
    audit_trail = False
    attributes = (
        String("resource_type", "F"),
        String("resource_id", "F"),
        String("event", "F"),
        String("ip_address", ""),
        String("user_agent", ""),
        String("uuid", ""),
        Object("payload", "F"),
        Object("who", "F"),
    )


def _webhooks_of_events(target: models.QuerySet, parent_ids: Sequence[str]) -> models.QuerySet:
    """The webhooks listening to each event's topic. A webhook listens to many events, so this relationship is
    served on its own endpoint (one event) and is not includable."""
    names = dict(Event.objects.filter(pk__in=list(parent_ids)).values_list("name", "pk"))
    whens = [models.When(topic=name, then=models.Value(pk)) for name, pk in names.items()]
    if not whens:
        return target.none().annotate(_parent_id=models.Value(""))
    return target.filter(topic__in=list(names)).annotate(
        _parent_id=models.Case(*whens, output_field=models.CharField())
    )


@registry.register
class EventResource(Resource):
    """A named event that happened to one resource; its name is the webhook topic (docs/events.md)."""

    type = "events"
    model = Event
    actions = ("list", "retrieve", "update")
    attributes = (
        String("name", "Ffs"),
        Boolean("_trigger", "U", trigger=True),
    )
    relationships = (
        ToMany("webhooks", "webhooks", "", queryset=_webhooks_of_events, includable=False),
        ToMany("last_event_callbacks", "event_callbacks", "", reverse="event_id"),
    )

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, Event)
        for column, value in payload.model_fields(cls).items():
            setattr(instance, column, value)
        instance.save()
        if payload.triggers.get("_trigger"):
            services.redeliver(instance)
        return instance


@registry.register
class WebhookResource(Resource):
    type = "webhooks"
    model = Webhook
    attributes = (
        String("name", "CUFf"),
        String("topic", "CUFf", required=True),
        String("callback_url", "CUF", required=True),
        Array("include_resources", "CUF"),
        Boolean("_disable", "CU", trigger=True),
        Boolean("_enable", "CU", trigger=True),
        Datetime("disabled_at", "Ffs"),
        String("circuit_state", "Ffs"),
        Integer("circuit_failure_count", "Ffs"),
        Boolean("_reset_circuit", "U", trigger=True),
        String("shared_secret", "F"),
        Boolean("_regenerate_shared_secret", "U", trigger=True),
    )
    relationships = (ToMany("last_event_callbacks", "event_callbacks", "", reverse="webhook_id"),)

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        columns = payload.model_fields(cls)
        if columns.get("include_resources") is None:
            columns["include_resources"] = []
        return services.save_webhook(Webhook(), columns, payload.triggers)

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, Webhook)
        columns = payload.model_fields(cls)
        if "include_resources" in columns and columns["include_resources"] is None:
            columns["include_resources"] = []
        return services.save_webhook(instance, columns, payload.triggers)


@registry.register
class EventCallbackResource(Resource):
    type = "event_callbacks"
    model = EventCallback
    actions = ("list", "retrieve")
    attributes = (
        String("callback_url", "Ff"),
        String("signature", ""),
        Object("payload", "F"),
        String("response_code", "Ffs"),
        String("response_message", "Ffs"),
    )
    relationships = (ToOne("webhook", "webhooks", "f", required=True),)
