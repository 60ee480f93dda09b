"""An order's taxes, from its market's tax calculator: the facts taxes.calculation reads (line kinds, amounts
and discounts, the shipping address's codes, ``tax_included``) built from the order, and its answer stored on
the lines (``tax_amount_cents``, ``tax_rate``, ``tax_breakdown``) and the order (its tax and taxable totals,
``tax_rate``, ``tax_calculations_count``, ``taxes_calculator_id``).

- ``apply``: inside pricing.recompute (the caller's transaction). A manual calculator's rules are read
  (one query) and applied at once; an external calculator is never called here (no request may hold a
  lock while it waits on the network): the order's taxes are cleared until ``update_taxes`` calls it.
- ``update_taxes``: ``_update_taxes``. A manual calculator: computed again in one transaction. An external
  one: the order's facts and document read in a first transaction, the calculator called with none open,
  the answer stored in a second one if the order did not change meanwhile (as placing's remote
  authorization does).
- ``require_taxes``: what placing checks: an order whose market has a calculator carries its taxes.
- ``called_outside``: whether the order's taxes come from an external calculator, which only
  ``update_taxes`` calls (the copy calls it after its transaction).

An external calculator is not called, as Commerce Layer does not call it, for an order that is archived, has
neither a shipping nor a billing address, has no positive total or has no SKU line (``skipped_call``): there
is nothing to tax, and its taxes are stored as zero, calculated by the calculator (so it places), without
counting a calculation.

The totals are sums of the lines' rounded taxes (taxes.calculation), so they add up to the cent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction

from orderfactory.adjustments.models import Adjustment
from orderfactory.core import hooks
from orderfactory.core import scope as scopes
from orderfactory.core.errors import DomainError, Problems
from orderfactory.jsonapi import documents, registry
from orderfactory.orders.error_codes import OrderErrorCode
from orderfactory.orders.models import LineItem, Order
from orderfactory.orders.services.loading import lock_order
from orderfactory.orders.services.rules import ADJUSTMENT_LINE, GOODS, pointer, require_editable
from orderfactory.taxes import calculation, external
from orderfactory.taxes.models import EXTERNAL, MANUAL, TaxCalculator, TaxRule

LINE_COLUMNS = ("tax_amount_cents", "tax_rate", "tax_breakdown")
# The order's totals, each a property of taxes.calculation.Taxes of the same name.
TOTALS = (
    "total_tax_amount_cents",
    "subtotal_tax_amount_cents",
    "shipping_tax_amount_cents",
    "payment_method_tax_amount_cents",
    "adjustment_tax_amount_cents",
    "total_taxable_amount_cents",
    "subtotal_taxable_amount_cents",
    "shipping_taxable_amount_cents",
    "payment_method_taxable_amount_cents",
    "adjustment_taxable_amount_cents",
)
ORDER_COLUMNS = ("tax_rate", *TOTALS, "tax_calculations_count", "taxes_calculator_id")
# What an external calculator receives: the order with its line items and their items, as Commerce Layer
# sends it.
DOCUMENT_INCLUDE = "line_items,line_items.item"


def _kind(item_type: str) -> calculation.LineKind | None:
    """A line's kind for taxes; None for the kinds no tax applies to (e.g. discount engine items)."""
    try:
        return calculation.LineKind.of(item_type)
    except ValueError:
        return None


def _redemption(kind: calculation.LineKind, line: LineItem) -> bool:
    """The line of a gift card the order redeems (negative): a payment, never taxed (docs/decisions.md, "Gift
    cards"); a card the order sells is a positive line, taxed by ``gift_card_taxable``."""
    return kind is calculation.LineKind.GIFT_CARD and line.total_amount_cents < 0


def _address(order: Order) -> calculation.Address:
    if not order.shipping_address_id:
        return calculation.Address()
    address = order.shipping_address  # already loaded by a copy; one query otherwise
    assert address is not None
    return calculation.Address(address.country_code, address.state_code, address.zip_code)


def _distributing(lines: Sequence[LineItem]) -> dict[str, bool]:
    """``distribute_discount`` of the adjustments of the negative adjustment lines, by adjustment id: read with
    the lines where they were (pricing and the copy read them so), else in one query for them all. A line
    whose adjustment is gone distributes, as Commerce Layer's default."""
    negative = [
        line
        for line in lines
        if line.item_type == ADJUSTMENT_LINE and line.adjustment_id and line.total_amount_cents < 0
    ]
    flags: dict[str, bool] = {
        str(line.adjustment_id): line.adjustment.distribute_discount
        for line in negative
        if LineItem.adjustment.is_cached(line) and line.adjustment is not None  # type: ignore[attr-defined]
    }
    unread = {str(line.adjustment_id) for line in negative} - flags.keys()
    if unread:
        flags.update(Adjustment.objects.filter(pk__in=unread).values_list("pk", "distribute_discount"))
    return flags


def facts(order: Order, lines: Sequence[LineItem], *, untaxed: bool = False) -> calculation.Order:
    """What the order's taxes depend on, as taxes.calculation reads it (``untaxed``: no rule will read the
    shipping address, which is left unread, nor the adjustments' ``distribute_discount``)."""
    distributing = {} if untaxed else _distributing(lines)
    return calculation.Order(
        currency_code=order.currency_code or "",
        tax_included=order.tax_included,
        shipping_address=calculation.Address() if untaxed else _address(order),
        lines=[
            calculation.Line(
                line.pk,
                kind,
                line.total_amount_cents,
                line.discount_cents or 0,
                distribute_discount=distributing.get(line.adjustment_id or "", True),
            )
            for line in lines
            if (kind := _kind(line.item_type)) is not None and not _redemption(kind, line)
        ],
    )


def _calculator(order: Order) -> tuple[str | None, str | None]:
    """The id and type of the order's market's tax calculator (read with the market: no query)."""
    market = order.market if order.market_id else None
    if market is None or not market.tax_calculator_id:
        return None, None
    return market.tax_calculator_id, market.tax_calculator_type


def _manual_taxes(order: Order, calculator_id: str, lines: Sequence[LineItem]) -> calculation.Taxes:
    rules = TaxRule.objects.filter(tax_calculator_id=calculator_id).order_by("created_at", "id")
    return calculation.compute(facts(order, lines), [calculation.Rule.from_row(rule) for rule in rules])


def apply(order: Order, lines: Sequence[LineItem], *, fresh: bool) -> None:
    """Tax ``lines`` (every line of the order, priced) and set the order's tax columns (saved by the caller).
    ``fresh``: the lines are not written yet (they are inserted with their taxes); otherwise the written
    lines whose taxes changed are updated here, in one statement."""
    calculator_id, calculator_type = _calculator(order)
    if calculator_type == MANUAL:
        assert calculator_id is not None
        store(order, lines, _manual_taxes(order, calculator_id, lines), calculator_id, fresh=fresh)
    else:
        # No calculator, or an external one that only update_taxes calls: no taxes until then.
        untaxed = calculation.compute(facts(order, lines, untaxed=True), [])
        store(order, lines, untaxed, None, fresh=fresh)
        order.tax_rate = None


def store(
    order: Order,
    lines: Sequence[LineItem],
    taxes: calculation.Taxes,
    calculator_id: str | None,
    *,
    fresh: bool,
    counted: bool = True,
) -> None:
    """Set ``taxes`` on ``lines`` (updating the written ones whose taxes changed, unless ``fresh``) and on
    the order, as calculated by ``calculator_id`` (None: no calculator did; ``counted``: a calculation
    that counts in ``tax_calculations_count``, not a skipped call)."""
    by_id = {line.id: line for line in taxes.lines}
    changed = []
    for line in lines:
        tax = by_id.get(line.pk)
        values = (
            (tax.tax_amount_cents, float(tax.tax_rate), tax.tax_breakdown)
            if tax is not None
            else (0, 0.0, {})
        )
        if tuple(getattr(line, column) for column in LINE_COLUMNS) != values:
            for column, value in zip(LINE_COLUMNS, values, strict=True):
                setattr(line, column, value)
            changed.append(line)
    if changed and not fresh:
        LineItem.objects.bulk_update(changed, list(LINE_COLUMNS))
    order.tax_rate = float(taxes.tax_rate)
    for name in TOTALS:
        setattr(order, name, getattr(taxes, name))
    if calculator_id is not None and counted:
        order.tax_calculations_count += 1
    order.taxes_calculator_id = calculator_id


def require_taxes(order: Order, problems: Problems) -> None:
    """Placing's check: where the market has a tax calculator, the order carries its taxes."""
    calculator_id, _ = _calculator(order)
    if calculator_id is not None and order.taxes_calculator_id != calculator_id:
        problems.add(
            "tax_calculator",
            "the order's taxes are not calculated: send _update_taxes",
            OrderErrorCode.TAXES_NOT_CALCULATED,
            pointer=pointer("tax_calculator"),
        )


def called_outside(order: Order) -> bool:
    """Whether the order's market has an external calculator (read with the market: no query)."""
    return _calculator(order)[1] == EXTERNAL


def skipped_call(order: Order, lines: Sequence[LineItem]) -> str | None:
    """Why Commerce Layer would not call an external calculator for the order, or None when it would (its
    documentation of external tax calculators: not archived, a shipping or a billing address, a positive
    total, at least one SKU line)."""
    if order.archived_at is not None:
        return "the order is archived"
    if not order.shipping_address_id and not order.billing_address_id:
        return "the order has no address"
    if order.total_amount_cents <= 0:
        return "the order's total is not positive"
    if not any(line.item_type in GOODS for line in lines):  # a bundle is SKUs
        return "the order has no SKU"
    return None


def _lines(order: Order) -> list[LineItem]:
    return list(LineItem.objects.filter(order=order).order_by("created_at", "id"))


def update_taxes(order_id: str) -> Order:
    """``_update_taxes``: the order's taxes computed again by its market's calculator."""
    with transaction.atomic():
        order = lock_order(order_id)
        calculator_id, calculator_type = _calculator(order)
        if calculator_id is None:
            return order  # nothing calculates its taxes (Commerce Layer: the market must have a calculator)
        require_editable(order)
        lines = _lines(order)
        if calculator_type != EXTERNAL:
            with hooks.recording("orders", order, only_if_changed=True):
                store(order, lines, _manual_taxes(order, calculator_id, lines), calculator_id, fresh=False)
                order.save(update_fields=[*ORDER_COLUMNS, "updated_at"])
            return order
        if skipped_call(order, lines) is not None:
            # Nothing to tax: no call, and the order's taxes are zero, as the calculator's.
            with hooks.recording("orders", order, only_if_changed=True):
                untaxed = calculation.compute(facts(order, lines, untaxed=True), [])
                store(order, lines, untaxed, calculator_id, fresh=False, counted=False)
                order.tax_rate = None
                order.save(update_fields=[*ORDER_COLUMNS, "updated_at"])
            return order
        calculator = TaxCalculator.objects.get(pk=calculator_id)
        order_facts = facts(order, lines)
        sent = document(order_id)
        seen = order.updated_at
    taxes = external.calculate(calculator, sent, order_facts)
    with transaction.atomic():
        order = lock_order(order_id)
        if order.updated_at != seen:
            raise DomainError.of(
                OrderErrorCode.CHANGED_MEANWHILE,
                "_update_taxes",
                "the order changed while its taxes were calculated: send _update_taxes again",
            )
        with hooks.recording("orders", order, only_if_changed=True):
            store(order, _lines(order), taxes, calculator_id, fresh=False)
            order.save(update_fields=[*ORDER_COLUMNS, "updated_at"])
        return order


def document(order_id: str, include: str = DOCUMENT_INCLUDE) -> dict[str, Any]:
    """The order's document, as ``GET /api/orders/<id>?include=<include>`` renders it (what an external
    service is sent)."""
    s = scopes.current()
    ctx = documents.Context(
        base_url=str(settings.ORDERFACTORY["PUBLIC_URL"] or "http://localhost"),
        meta={"mode": s.mode, "organization_id": s.organization_id},
    )
    resource = registry.get("orders")
    assert resource is not None
    return documents.document_for(ctx, resource, order_id, [("include", include)])
