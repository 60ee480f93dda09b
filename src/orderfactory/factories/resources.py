"""order_factories (read-only, both kinds), order_copies and recurring_order_copies."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models

from orderfactory.core import clock
from orderfactory.factories import batches, previews, services
from orderfactory.factories.models import (
    COPY_OPTIONS,
    KINDS,
    PRICES,
    STATUSES,
    UNAVAILABLE_LINES,
    OrderCopyPreview,
    OrderFactory,
)
from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import (
    Array,
    Attr,
    Boolean,
    Datetime,
    Integer,
    Object,
    Payload,
    Resource,
    String,
    ToOne,
)


def _common() -> tuple[Attr, ...]:
    return (
        String("type", "Ffs", enum=KINDS),
        String("status", "Ffs", enum=STATUSES),
        Datetime("started_at", "Ffs"),
        Datetime("completed_at", "Ffs"),
        Datetime("failed_at", "Ffs"),
        Object("errors_log", "F"),
        Integer("errors_count", "Ffs"),
        # Extension (docs/compatibility.md): errors_log with stable codes and whether a retry may help.
        Array("errors_details", "F"),
        Boolean("place_target_order", "CF"),
        Boolean("reuse_wallet", "CF", default=True, nullable=False),
    )


def _policies() -> tuple[Attr, ...]:
    """The copy policies (extensions, docs/compatibility.md; factories.policies)."""
    return (
        String("unavailable_lines", "CF", enum=UNAVAILABLE_LINES, default="fail", nullable=False),
        String("prices", "CF", enum=PRICES, default="frozen", nullable=False),
    )


def _copy_options() -> tuple[Attr, ...]:
    return (
        Boolean("cancel_source_order", "CF", nullable=False),
        Boolean("apply_promotions", "CF", default=False, nullable=False),
        Boolean("skip_errors", "CF", default=False, nullable=False),
        Boolean("ignore_invalid_coupon", "CF", default=False, nullable=False),
        *_policies(),
    )


def copy_option_attributes() -> tuple[Attr, ...]:
    """The copy options (COPY_OPTIONS) as order_copies declare them: an order copy batch takes the same."""
    declared = (*_common(), *_copy_options())
    return tuple(attr for attr in declared if attr.name in COPY_OPTIONS)


class _FactoryResource(Resource):
    model = OrderFactory
    kind: ClassVar[str | None] = None
    has_events = True

    scope_only_queryset = True  # narrowed by the resource's kind only
    created_as_written = True  # services.create_factory writes the row once, of the resource's kind

    @classmethod
    def queryset(cls) -> models.QuerySet:
        qs = super().queryset()
        return qs.filter(type=cls.kind) if cls.kind else qs

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        assert cls.kind is not None
        columns: dict[str, Any] = payload.model_fields(cls)
        return services.create_factory(cls.kind, columns)


@registry.register
class OrderFactoryResource(_FactoryResource):
    type = "order_factories"
    actions = ("list", "retrieve")
    attributes = _common()
    relationships = (
        ToOne("source_order", "orders", "Cf", required=True),
        ToOne("target_order", "orders", "f"),
    )


@registry.register
class OrderCopyResource(_FactoryResource):
    type = "order_copies"
    kind = "order_copies"
    attributes = (*_common(), *_copy_options())
    relationships = (
        # The copy reads its source in the worker: the request only checks that it exists, in scope.
        ToOne("source_order", "orders", "Cf", required=True, reads=()),
        ToOne("target_order", "orders", "f"),
        ToOne("order_subscription", "order_subscriptions", ""),
        # Extension: a copy made from a preview builds what it showed, or fails (factories.previews).
        ToOne("preview", "order_copy_previews", "C", reads=()),
        # Extension (docs/compatibility.md): the batch that made the copy.
        ToOne("order_copy_batch", "order_copy_batches", "f"),
    )

    @classmethod
    def delete(cls, instance: models.Model) -> None:
        assert isinstance(instance, OrderFactory)
        batches.copy_deleted(instance)
        instance.delete()


@registry.register
class RecurringOrderCopyResource(_FactoryResource):
    type = "recurring_order_copies"
    kind = "recurring_order_copies"
    attributes = (*_common(), *_policies())
    relationships = (
        ToOne("source_order", "orders", "Cf", required=True, reads=()),
        ToOne("target_order", "orders", "f"),
        ToOne("order_subscription", "order_subscriptions", "Cf", required=True, reads=()),
    )


@registry.register
class OrderCopyPreviewResource(Resource):
    """An extension: a dry run of an order copy, kept for a day (factories.previews)."""

    type = "order_copy_previews"
    model = OrderCopyPreview
    actions = ("list", "retrieve", "create")
    attributes = (
        # the copy's options, as order_copies take them
        Boolean("place_target_order", "CF"),
        Boolean("reuse_wallet", "CF", default=True, nullable=False),
        *_copy_options(),
        # what the copy would build now
        String("status", "Ffs", enum=("completed", "failed")),
        Boolean("placeable", "Ff"),
        String("currency_code", "F"),
        Array("line_items", "F"),
        Integer("source_subtotal_amount_cents", "F"),
        Integer("source_total_amount_cents", "F"),
        Integer("source_discount_amount_cents", "F"),
        Integer("subtotal_amount_cents", "F"),
        Integer("total_amount_cents", "F"),
        Integer("discount_amount_cents", "F"),
        String("coupon_code", "F"),
        String("coupon_outcome", "F"),
        String("promotions_outcome", "F"),
        Object("errors_log", "F"),
        Array("errors_details", "F"),
        Datetime("expires_at", "Ffs"),
    )
    relationships = (ToOne("source_order", "orders", "Cf", required=True, reads=()),)

    @classmethod
    def queryset(cls) -> models.QuerySet:
        """An expired preview is gone (a copy can no longer be made from it)."""
        return super().queryset().filter(expires_at__gt=clock.now())

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        return previews.create_preview(payload.model_fields(cls))
