"""The reads of the orders resources' computed relationships: each returns the target rows of a page of
parents in one query, each row annotated with its parent's id (``_parent_id``)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import models

from orderfactory.orders.models import Shipment
from orderfactory.orders.services.shipments import shipping_method_applies


def available_payment_methods(target: models.QuerySet, parent_ids: Sequence[str]) -> models.QuerySet:
    return target.filter(disabled_at__isnull=True, market__orders__id__in=parent_ids).annotate(
        _parent_id=models.F("market__orders__id")
    )


def available_customer_payment_sources(target: models.QuerySet, parent_ids: Sequence[str]) -> models.QuerySet:
    return target.filter(customer__orders__id__in=parent_ids).annotate(
        _parent_id=models.F("customer__orders__id")
    )


def no_free_skus(target: models.QuerySet, parent_ids: Sequence[str]) -> models.QuerySet:
    return target.none().annotate(_parent_id=models.Value("", output_field=models.CharField()))


def available_shipping_methods(target: models.QuerySet, parent_ids: Sequence[str]) -> models.QuerySet:
    """The shipping methods that apply to each shipment (orders.services.shipments.shipping_method_applies). A method may
    apply to several shipments of a page: each (shipment, method) pair is one row of a UNION ALL, so the
    include still costs one query for the methods, whatever the number of shipments."""
    shipments = list(Shipment.objects.filter(pk__in=parent_ids).select_related("order"))
    methods = list(
        target.filter(disabled_at__isnull=True).values_list(
            "pk", "market_id", "shipping_category_id", "stock_location_id"
        )
    )
    parts = []
    for shipment in shipments:
        ids = [
            pk
            for pk, *columns in methods
            if shipping_method_applies(shipment.order.market_id, shipment, *columns)
        ]
        if ids:
            parts.append(
                target.filter(pk__in=ids).annotate(
                    _parent_id=models.Value(shipment.pk, output_field=models.CharField())
                )
            )
    if not parts:
        return target.none().annotate(_parent_id=models.Value("", output_field=models.CharField()))
    if len(parts) == 1:
        return parts[0]
    return parts[0].union(*parts[1:], all=True)
