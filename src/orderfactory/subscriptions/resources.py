"""subscription_models, order_subscriptions, order_subscription_items, and the extensions subscription_runs
and ``GET /api/order_subscriptions/{id}/preview`` (docs/compatibility.md)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest, HttpResponse

from orderfactory.core import money
from orderfactory.factories.models import PRICES, UNAVAILABLE_LINES
from orderfactory.jsonapi import errors, registry
from orderfactory.jsonapi.resource import (
    Array,
    Boolean,
    Datetime,
    Float,
    Integer,
    Object,
    Payload,
    Resource,
    String,
    ToMany,
    ToOne,
    format_datetime,
)
from orderfactory.subscriptions import services
from orderfactory.subscriptions.models import (
    AFTER_RETRIES,
    MISSED_RUNS_POLICIES,
    RUN_STATUSES,
    SUBSCRIPTION_STATUSES,
    OrderSubscription,
    OrderSubscriptionItem,
    SubscriptionModel,
    SubscriptionRun,
)
from orderfactory.tags.resources import tagged

MAX_PREVIEW = 24


class RunsToSkip(Integer):
    """``_skip``: a number of runs, or ``true`` for the next one (``false`` skips none)."""

    def _parse(self, value: Any, pointer: str) -> Any:
        if isinstance(value, bool):
            return int(value)
        return super()._parse(value, pointer)


def _policy_attributes() -> tuple[Any, ...]:
    """Our retry and missed-run policy (extensions)."""
    return (
        Integer("payment_retry_attempts", "CUF"),
        Integer("stock_retry_attempts", "CUF"),
        Float("retry_backoff_hours", "CUF"),
        String("after_retries", "CUF", enum=AFTER_RETRIES),
        String("missed_runs_policy", "CUF", enum=MISSED_RUNS_POLICIES),
    )


@registry.register
class SubscriptionModelResource(Resource):
    type = "subscription_models"
    model = SubscriptionModel
    attributes = (
        String("name", "CUFfs", required=True),
        String("strategy", "CUFfs", enum=None),
        Array("frequencies", "CUF", required=True),
        Boolean("auto_activate", "CUFf", default=True, nullable=False),
        Boolean("auto_cancel", "CUFf", default=False, nullable=False),
        *_policy_attributes(),
    )
    relationships = (
        ToMany("markets", "markets", "", reverse="subscription_model_id"),
        ToMany("order_subscriptions", "order_subscriptions", "", reverse="subscription_model_id"),
    )

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        payload.attributes.setdefault("strategy", "by_frequency")
        return services.save_subscription_model(SubscriptionModel(), payload.model_fields(cls))

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, SubscriptionModel)
        return services.save_subscription_model(instance, payload.model_fields(cls))


def _preview(request: HttpRequest, ctx: Any, subscription: OrderSubscription) -> HttpResponse:
    from orderfactory.jsonapi.views import respond

    raw = request.GET.get("count", "5")
    if set(request.GET) - {"count"} or not raw.isdigit() or not 1 <= int(raw) <= MAX_PREVIEW:
        raise errors.ApiError(
            400,
            "INVALID_PARAMETER",
            "Invalid parameter",
            f"count must be a number from 1 to {MAX_PREVIEW}.",
            parameter="count",
        )
    runs = services.preview(subscription, int(raw))
    data = [
        {
            "id": f"{subscription.pk}-{position}",
            "type": "order_subscription_previews",
            "attributes": {
                **run,
                "scheduled_at": format_datetime(run["scheduled_at"]),
                "subtotal_amount_float": money.to_float(run["subtotal_amount_cents"], run["currency_code"]),
                "formatted_subtotal_amount": money.format_amount(
                    run["subtotal_amount_cents"], run["currency_code"]
                ),
            },
            "meta": ctx.meta,
        }
        for position, run in enumerate(runs, start=1)
    ]
    return respond({"data": data, "meta": {"record_count": len(data), "page_count": 1}})


def _orders_of_subscriptions(target: models.QuerySet, parent_ids: Any) -> models.QuerySet:
    """The orders the subscription's runs made (the targets of its factories)."""
    return target.filter(order_factory__order_subscription_id__in=list(parent_ids)).annotate(
        _parent_id=models.F("order_factory__order_subscription_id")
    )


@registry.register
@tagged
class OrderSubscriptionResource(Resource):
    type = "order_subscriptions"
    model = OrderSubscription
    has_events = True
    endpoints = {"preview": _preview}
    attributes = (
        String("number", "Ffs"),
        String("status", "Ffs", enum=SUBSCRIPTION_STATUSES),
        String("frequency", "CUFfs", required=True),
        Boolean("activate_by_source_order", "CUF", default=True, nullable=False),
        Boolean("place_target_order", "CUF", default=True, nullable=False),
        # Extensions (docs/compatibility.md): the copy policies each run's copy takes.
        String("unavailable_lines", "CF", enum=UNAVAILABLE_LINES, default="fail", nullable=False),
        String("prices", "CF", enum=PRICES, default="frozen", nullable=False),
        Integer("renewal_alert_period", "CUF", default=1, nullable=False),
        String("customer_email", "Ff"),
        Datetime("starts_at", "CFfs"),
        Datetime("expires_at", "CUFfs"),
        Datetime("last_run_at", "Ffs"),
        Datetime("next_run_at", "UFfs"),
        Integer("occurrencies", "Ffs"),
        Integer("errors_count", "Ffs"),
        Boolean("succeeded_on_last_run", "Ffs"),
        Object("options", "CUF"),
        Boolean("_activate", "U", trigger=True),
        Boolean("_deactivate", "U", trigger=True),
        Boolean("_cancel", "U", trigger=True),
        Boolean("_convert", "U", trigger=True),
        # Extensions (docs/compatibility.md): retries, skips, pauses.
        *_policy_attributes(),
        Integer("skip_runs", "Ff"),
        Datetime("paused_until", "Ffs"),
        RunsToSkip("_skip", "U", trigger=True),
        Boolean("_unskip", "U", trigger=True),
        Datetime("_pause_until", "U", trigger=True),
        Boolean("_resume", "U", trigger=True),
    )
    relationships = (
        ToOne("market", "markets", "Cf"),
        ToOne("subscription_model", "subscription_models", "f"),
        ToOne("source_order", "orders", "Cf", required=True),
        ToOne("customer", "customers", "f"),
        ToOne("customer_payment_source", "customer_payment_sources", "Uf"),
        ToMany("order_subscription_items", "order_subscription_items", "", reverse="order_subscription_id"),
        ToMany("order_factories", "order_factories", "", reverse="order_subscription_id"),
        ToMany("order_copies", "order_copies", "", reverse="order_subscription_id"),
        ToMany("recurring_order_copies", "recurring_order_copies", "", reverse="order_subscription_id"),
        ToMany("orders", "orders", "", queryset=_orders_of_subscriptions),
        ToMany("subscription_runs", "subscription_runs", "", reverse="order_subscription_id"),
    )

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        unknown = set(payload.triggers)
        if unknown:
            raise errors.param_not_allowed(sorted(unknown)[0])
        return services.create_manual(payload.model_fields(cls))

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, OrderSubscription)
        columns = payload.model_fields(cls)
        if "customer_payment_source" in payload.relationships:
            del columns["customer_payment_source_id"]
            columns["customer_payment_source"] = payload.relationships["customer_payment_source"]
        return services.update(instance, columns, payload.triggers)


@registry.register
class OrderSubscriptionItemResource(Resource):
    type = "order_subscription_items"
    model = OrderSubscriptionItem
    attributes = (
        String("sku_code", "CUF"),
        String("bundle_code", "CUF"),
        Integer("quantity", "CUFfs", required=True),
        *money.money("unit_amount_cents", "unit_amount_float", "formatted_unit_amount", flags="CUFfs"),
        Integer(
            "total_amount_cents",
            "F",
            compute=lambda row: (row["unit_amount_cents"] or 0) * row["quantity"],
            depends=("unit_amount_cents", "quantity"),
        ),
        Float(
            "total_amount_float",
            "F",
            compute=lambda row: money.to_float(
                (row["unit_amount_cents"] or 0) * row["quantity"], row["currency_code"]
            ),
            depends=("unit_amount_cents", "quantity", "currency_code"),
        ),
        String(
            "formatted_total_amount",
            "F",
            compute=lambda row: money.format_amount(
                (row["unit_amount_cents"] or 0) * row["quantity"], row["currency_code"]
            ),
            depends=("unit_amount_cents", "quantity", "currency_code"),
        ),
    )
    relationships = (
        ToOne("order_subscription", "order_subscriptions", "Cf", required=True),
        ToOne(
            "item",
            ("skus", "bundles"),
            "C",
            resolve=lambda row: (
                ("skus", row["sku_id"])
                if row["sku_id"]
                else ("bundles", row["bundle_id"])
                if row["bundle_id"]
                else None
            ),
            depends=("sku_id", "bundle_id"),
        ),
        ToOne("sku", "skus", "Cf"),
        ToOne("bundle", "bundles", "Cf"),
        ToOne("source_line_item", "line_items", "f"),
    )

    @classmethod
    def _save(cls, item: OrderSubscriptionItem, payload: Payload) -> OrderSubscriptionItem:
        given = payload.relationships
        target = given.get("sku") or given.get("bundle") or given.get("item")
        return services.save_item(item, payload.model_fields(cls), target)

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        item = OrderSubscriptionItem(order_subscription=payload.relationships["order_subscription"])
        return cls._save(item, payload)

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, OrderSubscriptionItem)
        return cls._save(instance, payload)


@registry.register
class SubscriptionRunResource(Resource):
    """Extension: the runs of a subscription, with their attempts (docs/compatibility.md)."""

    type = "subscription_runs"
    model = SubscriptionRun
    actions = ("list", "retrieve")
    audit_trail = False
    attributes = (
        Datetime("scheduled_at", "Ffs"),
        String("status", "Ffs", enum=RUN_STATUSES),
        Integer("attempts", "Ffs"),
        Datetime("next_attempt_at", "Ffs"),
        Boolean("missed", "Ff"),
        String("missed_runs_policy", "Ff"),
        String("failure_kind", "Ff"),
    )
    relationships = (
        ToOne("order_subscription", "order_subscriptions", "f"),
        ToOne("target_order", "orders", "f"),
        ToMany(
            "order_factories",
            "order_factories",
            "",
            queryset=lambda target, ids: target.filter(
                run_attempt__subscription_run_id__in=list(ids)
            ).annotate(_parent_id=models.F("run_attempt__subscription_run_id")),
        ),
    )
