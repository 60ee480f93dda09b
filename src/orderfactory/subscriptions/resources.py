"""order_subscriptions: served read-only until the subscriptions issue adds its writes and triggers (the
order-copy engine needs the resource to take ``order_subscription`` relationships)."""

from __future__ import annotations

from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import Boolean, Datetime, Integer, Object, Resource, String, ToMany, ToOne
from orderfactory.subscriptions.models import SUBSCRIPTION_STATUSES, OrderSubscription


@registry.register
class OrderSubscriptionResource(Resource):
    type = "order_subscriptions"
    model = OrderSubscription
    actions = ("list", "retrieve")
    has_events = True
    attributes = (
        String("number", "Ffs"),
        String("status", "Ffs", enum=SUBSCRIPTION_STATUSES),
        String("frequency", "CUFfs", required=True),
        Boolean("activate_by_source_order", "CUF", default=True),
        Boolean("place_target_order", "CUF", default=True),
        Integer("renewal_alert_period", "CUF", default=1),
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
        String("_add_tags", "U", trigger=True),
        String("_remove_tags", "U", trigger=True),
    )
    relationships = (
        ToOne("market", "markets", "Cf"),
        ToOne("source_order", "orders", "Cf", required=True),
        ToOne("customer", "customers", "f"),
        ToOne("customer_payment_source", "customer_payment_sources", "Uf"),
        ToMany("order_factories", "order_factories", "", reverse="order_subscription_id"),
        ToMany("order_copies", "order_copies", "", reverse="order_subscription_id"),
        ToMany("recurring_order_copies", "recurring_order_copies", "", reverse="order_subscription_id"),
    )
