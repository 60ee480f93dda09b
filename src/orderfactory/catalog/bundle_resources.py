"""The sku_lists, sku_list_items, bundles and sku_options resources."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models
from django.db.models import Count, Exists, F, OuterRef, Subquery
from django.db.models.functions import Coalesce

from orderfactory.catalog import bundles
from orderfactory.catalog.models import Bundle, SkuList, SkuListItem, SkuOption
from orderfactory.catalog.resources import ServiceResource, TriggeredServiceResource
from orderfactory.core.models import InTenant
from orderfactory.core.money import money
from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import Boolean, Integer, String, ToMany, ToOne
from orderfactory.tags.resources import tagged


def _list_skus(target: Any, parent_ids: Sequence[str]) -> models.QuerySet:
    """A manual list's SKUs are its items' (a list by regular expression lists none: docs/decisions.md)."""
    return target.filter(sku_list_items__sku_list_id__in=parent_ids).annotate(
        _parent_id=F("sku_list_items__sku_list_id")
    )


@registry.register
class SkuListResource(ServiceResource):
    type = "sku_lists"
    model = SkuList
    save = staticmethod(bundles.save_sku_list)
    attributes = (
        String("name", "CUFfs", required=True),
        String("slug", "Ffs"),
        String("description", "CUFf"),
        String("image_url", "CUFf"),
        Boolean("manual", "CUFfs", nullable=False),
        String("sku_code_regex", "CUF"),
    )
    relationships = (
        ToOne("customer", "customers", "CUf"),
        ToMany("skus", "skus", "", queryset=_list_skus, lookup="sku_list_items__sku"),
        ToMany("sku_list_items", "sku_list_items", "f", reverse="sku_list_id"),
        ToMany("bundles", "bundles", "", reverse="sku_list_id"),
    )


@registry.register
class SkuListItemResource(ServiceResource):
    type = "sku_list_items"
    model = SkuListItem
    save = staticmethod(bundles.save_sku_list_item)
    attributes = (
        Integer("position", "CUFfs"),
        # Names the SKU instead of the sku relationship (the service resolves it); reads back the SKU's code.
        String("sku_code", "CUF", expression=InTenant("sku__code")),
        Integer("quantity", "CUFfs"),
    )
    relationships = (
        # Both required: the service reports them missing with every other problem of the row.
        ToOne("sku_list", "sku_lists", "Cf"),
        ToOne("sku", "skus", "Cf"),
    )


def _every_sku(flag: str) -> Any:
    """Whether every SKU of the bundle's list has ``flag`` (do_not_ship, do_not_track)."""
    return models.ExpressionWrapper(
        ~Exists(SkuListItem.unscoped.filter(sku_list_id=OuterRef("sku_list_id"), **{f"sku__{flag}": False})),
        output_field=models.BooleanField(),
    )


_SKUS_COUNT = Coalesce(
    Subquery(
        SkuListItem.unscoped.filter(sku_list_id=OuterRef("sku_list_id"))
        .order_by()
        .values("sku_list_id")
        .annotate(n=Count("id"))
        .values("n")[:1]
    ),
    0,
)


def _bundle_skus(target: Any, parent_ids: Sequence[str]) -> models.QuerySet:
    return target.filter(sku_list_items__sku_list__bundles__id__in=parent_ids).annotate(
        _parent_id=F("sku_list_items__sku_list__bundles__id")
    )


@registry.register
@tagged
class BundleResource(TriggeredServiceResource):
    type = "bundles"
    cacheable = True
    has_events = True
    sales_channel_actions = ("list", "retrieve")
    model = Bundle
    save = staticmethod(bundles.save_bundle)
    attributes = (
        String("code", "CUFfs", required=True),
        String("name", "CUFfs", required=True),
        String("currency_code", "CUFfs"),
        String("description", "CUFf"),
        String("image_url", "CUFf"),
        Boolean("do_not_ship", "Ff", expression=_every_sku("do_not_ship")),
        Boolean("do_not_track", "Ff", expression=_every_sku("do_not_track")),
        *money("price_amount_cents", "price_amount_float", "formatted_price_amount", flags="CUFfs"),
        *money(
            "compare_at_amount_cents", "compare_at_amount_float", "formatted_compare_at_amount", flags="CUFfs"
        ),
        Boolean("_compute_price_amount", "CU", trigger=True),
        Boolean("_compute_compare_at_amount", "CU", trigger=True),
        Integer("skus_count", "F", expression=_SKUS_COUNT),
    )
    relationships = (
        ToOne("market", "markets", "Cf"),
        # Required: the service reports it missing with every other problem of the row.
        ToOne("sku_list", "sku_lists", "Cf"),
        ToMany("skus", "skus", "", queryset=_bundle_skus, lookup="sku_list__sku_list_items__sku"),
    )


@registry.register
@tagged
class SkuOptionResource(ServiceResource):
    type = "sku_options"
    cacheable = True
    has_events = True
    sales_channel_actions = ("list", "retrieve")
    model = SkuOption
    save = staticmethod(bundles.save_sku_option)
    attributes = (
        String("name", "CUFfs", required=True),
        String("currency_code", "CUFfs"),
        String("description", "CUFf"),
        *money("price_amount_cents", "price_amount_float", "formatted_price_amount", flags="CUFfs"),
        Integer("delay_hours", "CUFfs"),
        Integer("delay_days", "Ffs"),
        String("sku_code_regex", "CUF"),
    )
    relationships = (ToOne("market", "markets", "CUf"),)
