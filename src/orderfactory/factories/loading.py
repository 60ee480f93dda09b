"""What a copy reads, in one place (as Saleor's ``checkout/fetch.py``): the factory claimed and locked, the
columns of its source the copy works on, the source's lines and chosen shipping methods. Each query is
built once (core.prepared); the steps in factories.services and factories.building act on what these return.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.db import models

from orderfactory.core import locks
from orderfactory.core.prepared import Prepared
from orderfactory.factories.models import OrderFactory
from orderfactory.orders.models import LineItem, LineItemOption, Order, Shipment

# What the copy reads of its source, brought along with the factory's row: the columns build_target and
# orders.recompute read, and no others (every column of these six tables was 222 columns, and this one query
# cost a fifth of the worker's time in SQL compiling and model building). A column left out here and read
# anyway would cost a query of its own: tests/factories/test_loading.py fails on such a read.
SOURCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "source_order": (
        "organization",
        "mode",
        "status",
        "market",
        "customer",
        "customer_email",
        "language_code",
        "currency_code",
        "tax_included",
        "guest",
        "country_code",
        "coupon_code",
        "gift_card_code",
        "payment_method",
        "freight_taxable",
        "payment_method_taxable",
        "adjustment_taxable",
        "gift_card_taxable",
        "billing_address",
        "shipping_address",
        "archived_at",
        "payment_source_type",
        "payment_source_id",
        # whether the source's options are read at all
        "line_item_options_count",
    ),
    "source_order__market": (
        "organization",
        "mode",
        "inventory_model",
        "price_list",  # the current prices of a copy that takes them (factories.policies)
        "default_shipping_method",
        "tax_calculator",
        "tax_calculator_type",
        "customer_group",  # a private market's (customers.groups.outside_group)
    ),
    "source_order__market__default_shipping_method": (
        "organization",
        "mode",
        "disabled_at",
        "market",
        "shipping_category",
        "stock_location",
        "free_over_amount_cents",
        "price_amount_cents",
        # the shipping rules (catalog.shipping_rules)
        "scheme",
        "shipping_zone",
        "min_weight",
        "max_weight",
        "unit_of_weight",
    ),
    "source_order__payment_method": ("organization", "mode", "name", "price_amount_cents"),
    # the addresses are copied whole
    "source_order__billing_address": ("*",),
    "source_order__shipping_address": ("*",),
}


@functools.cache
def _source_columns() -> list[str]:
    from orderfactory.addresses.models import Address

    columns = [f.name for f in OrderFactory._meta.concrete_fields]
    for path, names in SOURCE_COLUMNS.items():
        if names == ("*",):
            names = tuple(f.name for f in Address._meta.concrete_fields)
        columns += [f"{path}__{name}" for name in names]
    return columns


_CLAIMABLE = Prepared(
    lambda factory_id, token: locks.for_update(
        OrderFactory.unscoped.filter(
            models.Q(status="pending") | models.Q(status="in_progress", claimed_by=token), pk=factory_id
        )
    )[:1]
)


def claimable(factory_id: str, token: str) -> OrderFactory | None:
    """The factory, locked, when it is pending or already claimed under ``token``; read in no scope (the job
    knows only the id: the row tells its scope)."""
    return _CLAIMABLE.first(factory_id=factory_id, token=token)


_LOCKED = Prepared(lambda factory_id: locks.for_update(OrderFactory.objects.filter(pk=factory_id)))
# ``of=self`` (locks.for_update): PostgreSQL cannot lock the nullable side of the join that brings the source
# order along.
_LOCKED_WITH_SOURCE = Prepared(
    lambda factory_id: locks.for_update(
        OrderFactory.objects.select_related(*SOURCE_COLUMNS).only(*_source_columns()).filter(pk=factory_id)
    )
)


def locked(factory_id: str, *, with_source: bool = False) -> OrderFactory:
    """The factory, locked; ``with_source``: with the columns of SOURCE_COLUMNS of its source order, its
    market, the market's default shipping method, its payment method and its addresses."""
    return (_LOCKED_WITH_SOURCE if with_source else _LOCKED).get(factory_id=factory_id)


_LINES = Prepared(
    lambda order_id: (
        LineItem.objects.filter(order_id=order_id)
        .select_related("sku", "adjustment")
        .order_by("created_at", "id")
    )
)


def source_lines(order_id: str) -> list[LineItem]:
    """The source's line items with their SKUs and adjustments (whether one distributes its discount is read
    when the target is taxed), in the order the source shows them."""
    return _LINES.all(order_id=order_id)


_CHOSEN_METHODS = Prepared(
    lambda order_id: Shipment.objects.filter(order_id=order_id, shipping_method__isnull=False).select_related(
        "shipping_method"
    )
)


def chosen_methods(order_id: str) -> list[Shipment]:
    """The source's shipments that chose a shipping method, with it."""
    return _CHOSEN_METHODS.all(order_id=order_id)


_OPTIONS = Prepared(
    lambda order_id: LineItemOption.objects.filter(line_item__order_id=order_id).order_by("created_at", "id")
)


def source_options(order_id: str) -> list[LineItemOption]:
    """The source's line item options, in the order they were added."""
    return _OPTIONS.all(order_id=order_id)


@dataclass(frozen=True)
class CopySource:
    """What the copy works on, read here and nowhere else: the source order with the columns of
    SOURCE_COLUMNS (its market, the market's default shipping method, its payment method and addresses, as
    ``locked(..., with_source=True)`` brought them), its line items with their SKUs in the order the source
    shows them, its shipments that chose a shipping method, with it, and its line item options."""

    order: Order
    lines: list[LineItem]
    chosen_methods: list[Shipment]
    options: list[LineItemOption]


def claim_group(factory_ids: list[str]) -> list[OrderFactory]:
    """The factories of ``factory_ids`` still pending, locked, with what their copies read of their sources
    (SOURCE_COLUMNS), in primary-key order; those another transaction holds are left out (``SKIP LOCKED``):
    a group's claim (factories/groups.py). Read in no scope: the job knows only the ids."""
    queryset = (
        OrderFactory.unscoped.select_related(*SOURCE_COLUMNS)
        .only(*_source_columns())
        .filter(pk__in=factory_ids, status="pending")
    )
    return list(locks.for_update(queryset, skip_locked=True))


def read_ahead(factories: list[OrderFactory]) -> None:
    """Inside ``core.prepared.ahead()``: the lines, chosen shipping methods and line item options of the
    sources of ``factories``, read set-wise (three queries whatever their number), so that each copy's
    ``copy_source`` reads nothing more."""
    sources = [f.source_order for f in factories if f.source_order is not None]
    ids = sorted({order.pk for order in sources})
    if not ids:
        return
    lines: dict[str, list[LineItem]] = {pk: [] for pk in ids}
    for line in (
        LineItem.objects.filter(order_id__in=ids)
        .select_related("sku", "adjustment")
        .order_by("created_at", "id")
    ):
        lines[line.order_id].append(line)
    _LINES.fill(({"order_id": pk}, rows) for pk, rows in lines.items())
    methods: dict[str, list[Shipment]] = {pk: [] for pk in ids}
    for shipment in Shipment.objects.filter(order_id__in=ids, shipping_method__isnull=False).select_related(
        "shipping_method"
    ):
        methods[shipment.order_id].append(shipment)
    _CHOSEN_METHODS.fill(({"order_id": pk}, rows) for pk, rows in methods.items())
    with_options = sorted({order.pk for order in sources if order.line_item_options_count})
    if with_options:
        options: dict[str, list[LineItemOption]] = {pk: [] for pk in with_options}
        for option in (
            LineItemOption.objects.filter(line_item__order_id__in=with_options)
            .annotate(source_order_id=models.F("line_item__order_id"))
            .order_by("created_at", "id")
        ):
            options[option.source_order_id].append(option)  # type: ignore[attr-defined]
        _OPTIONS.fill(({"order_id": pk}, rows) for pk, rows in options.items())


def copy_source(factory: OrderFactory) -> CopySource:
    """The source of ``factory``, locked ``with_source``, and its lines and chosen methods (two queries), and
    its line item options (a third, only when it has some)."""
    order = factory.source_order
    assert order is not None  # the copy aborts without one
    options = source_options(order.pk) if order.line_item_options_count else []
    return CopySource(order, source_lines(order.pk), chosen_methods(order.pk), options)
