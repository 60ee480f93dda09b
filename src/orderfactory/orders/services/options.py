"""Line item options: a SKU option taken by a SKU line of an editable order, at the option's price then
(frozen, as the line's). The line's ``options_amount_cents`` is the sum of its options' totals, counted in its
``total_amount_cents`` and so in the order's totals and taxes (pricing.recompute). Each entry owns its
transaction under the order's row lock (it joins the caller's, as the line items' entries do)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Sum

from orderfactory.catalog.bundles import applies_to
from orderfactory.catalog.models import SkuOption
from orderfactory.catalog.shipping import days
from orderfactory.core.errors import CommonErrorCode, DomainError, Problem, problem
from orderfactory.orders.models import LineItem, LineItemOption, Order
from orderfactory.orders.services.lines import _quantity_problems
from orderfactory.orders.services.loading import lock_order
from orderfactory.orders.services.pricing import recompute
from orderfactory.orders.services.rules import SKU, check_amounts, require_editable


def _relationship(name: str, message: str, **meta: Any) -> Problem:
    return problem(name, message, CommonErrorCode.INVALID, pointer=f"/data/relationships/{name}", **meta)


def _problems(order: Order, line: LineItem, option: SkuOption | None, row: LineItemOption) -> list[Problem]:
    found = _quantity_problems(row.quantity)
    if not isinstance(row.options, dict):
        found.append(problem("options", "must be an object", CommonErrorCode.INVALID))
    if row.unit_amount_cents is not None and row.unit_amount_cents < 0:
        found.append(
            problem(
                "unit_amount_cents",
                "must be greater than or equal to 0",
                CommonErrorCode.GREATER_THAN_OR_EQUAL_TO,
                count=0,
            )
        )
    if line.item_type != SKU:
        found.append(_relationship("line_item", "must be a SKU line item", value=line.item_type))
    if option is None:
        found.append(
            problem(
                "sku_option",
                "can't be blank",
                CommonErrorCode.BLANK,
                pointer="/data/relationships/sku_option",
            )
        )
        return found
    if line.item_type == SKU and not applies_to(option, line.sku_code):
        found.append(
            _relationship("sku_option", f"does not apply to SKU {line.sku_code}", value=option.sku_code_regex)
        )
    if option.market_id not in (None, order.market_id):
        found.append(_relationship("sku_option", "is not available in the order's market"))
    if order.currency_code and option.currency_code != order.currency_code:
        found.append(
            _relationship(
                "sku_option",
                f"must be in the order's currency ({order.currency_code})",
                value=option.currency_code,
            )
        )
    return found


def _reprice(order: Order, line: LineItem) -> None:
    """The line's options amount and the order's count of options, then the order priced again."""
    line.options_amount_cents = (
        LineItemOption.objects.filter(line_item=line).aggregate(total=Sum("total_amount_cents"))["total"] or 0
    )
    line.save(update_fields=["options_amount_cents"])
    order.line_item_options_count = LineItemOption.objects.filter(line_item__order=order).count()
    recompute(order)


def save_option(row: LineItemOption, changes: dict[str, Any]) -> LineItemOption:
    """Create (an unsaved ``row``) or update a line item option with ``changes`` (columns: ``line_item_id``,
    ``sku_option_id``, ``quantity``, ``options``, ``unit_amount_cents``, ``name``, reference fields)."""
    line_id = changes.get("line_item_id", row.line_item_id)
    if not line_id:
        raise DomainError.of(
            CommonErrorCode.BLANK, "line_item", "can't be blank", pointer="/data/relationships/line_item"
        )
    with transaction.atomic(savepoint=False):
        line = LineItem.objects.get(pk=line_id)
        order = lock_order(line.order_id)
        require_editable(order)
        line.order = order
        option_changed = "sku_option_id" in changes and changes["sku_option_id"] != row.sku_option_id
        for column, value in changes.items():
            setattr(row, column, value)
        if row.quantity is None:
            row.quantity = 1
        option = SkuOption.objects.filter(pk=row.sku_option_id).first() if row.sku_option_id else None
        found = _problems(order, line, option, row)
        if found:
            raise DomainError(found)
        assert option is not None
        if row._state.adding or option_changed:
            # The option's price, delay and name as of now; a price given (by an integration) wins.
            if "unit_amount_cents" not in changes:
                row.unit_amount_cents = option.price_amount_cents
            if "name" not in changes:
                row.name = option.name
            row.delay_hours = option.delay_hours
            row.delay_days = days(option.delay_hours) or 0
        row.currency_code = order.currency_code or option.currency_code
        row.total_amount_cents = (row.unit_amount_cents or 0) * row.quantity
        check_amounts(row.total_amount_cents)
        row.save()
        _reprice(order, line)
        return row


def delete_option(row: LineItemOption) -> None:
    with transaction.atomic(savepoint=False):
        line = LineItem.objects.get(pk=row.line_item_id)
        order = lock_order(line.order_id)
        require_editable(order)
        row.delete()
        _reprice(order, line)
