"""order_copy_batches (an extension, docs/compatibility.md): many order copies made and followed as one."""

from __future__ import annotations

from typing import Any

from django.db import models

from orderfactory.core.errors import DomainError
from orderfactory.factories import batches
from orderfactory.factories.models import BATCH_STATUSES, MAX_BATCH_SOURCES, OrderCopyBatch
from orderfactory.factories.resources import copy_option_attributes
from orderfactory.jsonapi import query, registry
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
)

_PENDING = (
    models.F("total_count")
    - models.F("completed_count")
    - models.F("failed_count")
    - models.F("aborted_count")
)


# The ids of MAX_BATCH_SOURCES orders as a JSON array (ten characters, two quotes and a comma each), with room
# to spare for longer strings, which are not orders (404): beyond the 64 KiB of other JSON attributes.
SOURCE_IDS_BYTES = MAX_BATCH_SOURCES * 16


def _sources(columns: dict[str, Any]) -> list[str]:
    """The ids of the orders the batch copies, among those the caller sees: the given ones (each once, in
    their order), or those its filter matches (oldest first), parsed and refused as ``GET /api/orders``
    would (at most one past the limit, for the service to refuse)."""
    orders = registry.get("orders")
    assert orders is not None
    given, conditions = columns.get("source_order_ids"), columns.get("orders_filter")
    if conditions is not None and given is None:
        matching = query.filtered(orders, orders.queryset(), query.parse_filter(orders, conditions))
        ids = matching.order_by("created_at", "id").values_list("id", flat=True)
        return list(ids[: MAX_BATCH_SOURCES + 1])
    if given is None or conditions is not None:
        return []  # neither or both: the service says so
    problems = batches.source_problems(given)
    if problems:
        raise DomainError(problems)
    wanted = list(dict.fromkeys(given))
    visible: set[str] = set()
    for start in range(0, len(wanted), 1000):
        part = wanted[start : start + 1000]
        visible.update(orders.queryset().filter(pk__in=part).values_list("id", flat=True))
    problems = batches.unknown_sources(wanted, visible)
    if problems:
        raise DomainError(problems)
    return wanted


@registry.register
class OrderCopyBatchResource(Resource):
    type = "order_copy_batches"
    model = OrderCopyBatch
    actions = ("list", "retrieve", "create", "update")
    has_events = True
    attributes = (
        String("status", "Ffs", enum=BATCH_STATUSES),
        Datetime("started_at", "Ffs"),
        Datetime("completed_at", "Ffs"),
        Array("source_order_ids", "CF", max_bytes=SOURCE_IDS_BYTES),
        Object("orders_filter", "CF"),
        *copy_option_attributes(),
        Integer("total_count", "Ffs"),
        Integer("pending_count", "Ffs", expression=_PENDING),
        Integer("completed_count", "Ffs"),
        Integer("failed_count", "Ffs"),
        Integer("aborted_count", "Ffs"),
        Boolean("_cancel", "U", trigger=True),
    )
    relationships = (ToMany("order_copies", "order_copies", "f", reverse="order_copy_batch_id"),)

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        columns = payload.model_fields(cls)
        return batches.create_batch(columns, _sources(columns))

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, OrderCopyBatch)
        if payload.triggers.get("_cancel"):
            batches.cancel(instance)
        return instance
