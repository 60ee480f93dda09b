"""SKU and adjustment line items of an editable order: add (or add to), change, remove. Inside the caller's transaction,
which holds the order's row lock."""

from __future__ import annotations

from typing import Any

from orderfactory.adjustments.models import Adjustment
from orderfactory.catalog import tiers
from orderfactory.catalog.bundles import bundle_for
from orderfactory.catalog.models import Bundle, Price, Sku
from orderfactory.core.errors import CommonErrorCode, DomainError, Problem
from orderfactory.orders.error_codes import OrderErrorCode
from orderfactory.orders.models import LineItem, LineItemOption, Order
from orderfactory.orders.services.pricing import recompute
from orderfactory.orders.services.rules import (
    ADJUSTMENT_LINE,
    BUNDLE_LINE,
    GOODS,
    MAX_QUANTITY,
    SKU,
    check_amounts,
    require_editable,
)


def _quantity_problems(quantity: Any) -> list[Problem]:
    if quantity is None:
        return [Problem(CommonErrorCode.BLANK, "quantity", "can't be blank")]
    if quantity <= 0:
        return [
            Problem(
                CommonErrorCode.GREATER_THAN,
                "quantity",
                "must be greater than 0",
                meta={"value": quantity, "count": 0},
            )
        ]
    if quantity > MAX_QUANTITY:
        return [
            Problem(
                CommonErrorCode.LESS_THAN_OR_EQUAL_TO,
                "quantity",
                f"must be less than or equal to {MAX_QUANTITY}",
                meta={"value": quantity, "count": MAX_QUANTITY},
            )
        ]
    return []


def _frequency_problems(order: Order, frequency: str | None) -> list[Problem]:
    from orderfactory.subscriptions.frequencies import line_frequency_problems

    return line_frequency_problems(frequency, order.market_id)


def add_sku_line_item(
    order: Order,
    *,
    sku: Sku | None = None,
    sku_code: str | None = None,
    quantity: int | None,
    unit_amount_cents: int | None = None,
    name: str | None = None,
    image_url: str | None = None,
    frequency: str | None = None,
    extra: dict[str, Any] | None = None,
    merge: bool = True,
    refresh: bool = True,
) -> LineItem:
    """Add ``quantity`` of a SKU to an editable order. The price comes from the market's price list unless
    ``unit_amount_cents`` is given; either way it then stays ("frozen") until the order is refreshed."""
    require_editable(order)
    problems = _quantity_problems(quantity) + _frequency_problems(order, frequency)
    if sku is None:
        sku = Sku.objects.filter(code=sku_code).first() if sku_code else None
        if sku is None:
            problems.append(
                Problem(CommonErrorCode.BLANK, "sku_code", "can't be blank")
                if not sku_code
                else Problem(CommonErrorCode.INVALID, "sku_code", "is invalid", meta={"value": sku_code})
            )
    if problems:
        raise DomainError(problems)
    assert sku is not None and quantity is not None
    existing = _line_to_merge(order, sku, unit_amount_cents, frequency) if merge else None
    if existing is not None:
        problems = _quantity_problems(existing.quantity + quantity)
        if problems:
            raise DomainError(problems)
        # The merged line keeps its frozen price, unless it follows its price's tiers (``_follow_tiers``).
        _follow_tiers(existing, {"quantity": existing.quantity + quantity})
        existing.quantity += quantity
        existing.save(update_fields=["quantity", "unit_amount_cents"])
        line = existing
    else:
        compare_at = None
        if unit_amount_cents is None:
            assert order.market is not None
            price = tiers.flagged(
                Price.objects.filter(price_list_id=order.market.price_list_id, sku=sku)
            ).first()
            if price is None:
                raise DomainError.of(
                    OrderErrorCode.NO_PRICE,
                    "sku_code",
                    f"has no price in market {order.market.name}",
                    value=sku.code,
                )
            # The tier of the line's quantity and frequency, if the price has tiers.
            unit_amount_cents = tiers.priced(price, quantity, frequency)
            compare_at = price.compare_at_amount_cents
        check_amounts(unit_amount_cents * quantity)
        line = LineItem(
            order=order,
            item_type=SKU,
            item_id=sku.pk,
            sku=sku,
            sku_code=sku.code,
            quantity=quantity,
            currency_code=order.currency_code,
            unit_amount_cents=unit_amount_cents,
            compare_at_amount_cents=compare_at,
            total_amount_cents=unit_amount_cents * quantity,
            name=name or sku.name,
            image_url=image_url if image_url is not None else sku.image_url,
            frequency=frequency,
            **(extra or {}),
        )
        line.save()
    if refresh:
        recompute(order)
    return line


def add_bundle_line_item(
    order: Order,
    *,
    bundle: Bundle | None = None,
    bundle_code: str | None = None,
    quantity: int | None,
    unit_amount_cents: int | None = None,
    name: str | None = None,
    image_url: str | None = None,
    extra: dict[str, Any] | None = None,
    merge: bool = True,
) -> LineItem:
    """Add ``quantity`` of a bundle (``bundle`` or ``bundle_code``: the market's bundle of that code, else one
    of no market in the order's currency) at its price, frozen as a SKU line's; its SKUs are checked and
    taken from stock when the order is placed (checks, placing)."""
    require_editable(order)
    problems = _quantity_problems(quantity)
    if bundle is None and bundle_code:
        bundle = bundle_for(bundle_code, market_id=order.market_id, currency_code=order.currency_code)
    if bundle is None:
        problems.append(
            Problem(CommonErrorCode.BLANK, "bundle_code", "can't be blank")
            if not bundle_code
            else Problem(CommonErrorCode.INVALID, "bundle_code", "is invalid", meta={"value": bundle_code})
        )
    elif bundle.market_id not in (None, order.market_id) or (
        order.currency_code and bundle.currency_code != order.currency_code
    ):
        problems.append(
            Problem(
                CommonErrorCode.INVALID,
                "bundle_code",
                "is not sold in the order's market",
                meta={"value": bundle.code},
            )
        )
    if problems:
        raise DomainError(problems)
    assert bundle is not None and quantity is not None
    existing = (
        order.line_items.filter(item_type=BUNDLE_LINE, bundle=bundle).order_by("created_at").first()
        if merge
        else None
    )
    if existing is not None and unit_amount_cents in (None, existing.unit_amount_cents):
        problems = _quantity_problems(existing.quantity + quantity)
        if problems:
            raise DomainError(problems)
        existing.quantity += quantity
        existing.save(update_fields=["quantity"])
        recompute(order)
        return existing
    unit = bundle.price_amount_cents if unit_amount_cents is None else unit_amount_cents
    check_amounts(unit * quantity)
    line = LineItem(
        order=order,
        item_type=BUNDLE_LINE,
        item_id=bundle.pk,
        bundle=bundle,
        bundle_code=bundle.code,
        quantity=quantity,
        currency_code=order.currency_code,
        unit_amount_cents=unit,
        compare_at_amount_cents=bundle.compare_at_amount_cents if unit_amount_cents is None else None,
        total_amount_cents=unit * quantity,
        name=name or bundle.name,
        image_url=image_url if image_url is not None else bundle.image_url,
        **{k: v for k, v in (extra or {}).items() if k not in ("bundle_code", "compare_at_amount_cents")},
    )
    line.save()
    recompute(order)
    return line


def add_adjustment_line_item(
    order: Order, adjustment: Adjustment, *, quantity: int | None, name: str | None = None
) -> LineItem:
    """An adjustment taken by an editable order, positive or negative, at its current amount (then frozen,
    as a SKU line's price is); counted in the order's ``adjustment_amount_cents``."""
    require_editable(order)
    problems = _quantity_problems(quantity)
    if order.currency_code and adjustment.currency_code != order.currency_code:
        problems.append(
            Problem(
                CommonErrorCode.INVALID,
                "item",
                f"must be in the order's currency ({order.currency_code})",
                pointer="/data/relationships/item",
                meta={"value": adjustment.currency_code},
            )
        )
    if problems:
        raise DomainError(problems)
    assert quantity is not None
    check_amounts(adjustment.amount_cents * quantity)
    line = LineItem(
        order=order,
        item_type=ADJUSTMENT_LINE,
        item_id=adjustment.pk,
        adjustment=adjustment,
        quantity=quantity,
        currency_code=order.currency_code or adjustment.currency_code,
        unit_amount_cents=adjustment.amount_cents,
        total_amount_cents=adjustment.amount_cents * quantity,
        name=name or adjustment.name,
    )
    line.save()
    recompute(order)
    return line


def _line_to_merge(
    order: Order, sku: Sku, unit_amount_cents: int | None, frequency: str | None
) -> LineItem | None:
    """The SKU line ``_update_quantity`` adds to: same SKU and frequency, and the same price when one is given."""
    existing = (
        order.line_items.filter(item_type=SKU, sku=sku, frequency=frequency).order_by("created_at").first()
    )
    if existing is None or unit_amount_cents not in (None, existing.unit_amount_cents):
        return None
    return existing


def update_line_item(line: LineItem, changes: dict[str, Any]) -> LineItem:
    order = line.order
    require_editable(order)
    if line.item_type not in GOODS:
        raise DomainError.of(OrderErrorCode.READ_ONLY, "item_type", "cannot be changed by hand")
    problems = _quantity_problems(changes["quantity"]) if "quantity" in changes else []
    if "frequency" in changes:
        problems += _frequency_problems(order, changes["frequency"])
    if problems:
        raise DomainError(problems)
    if "unit_amount_cents" not in changes:
        _follow_tiers(line, changes)
    for column, value in changes.items():
        setattr(line, column, value)
    line.save()
    recompute(order)
    return line


def _follow_tiers(line: LineItem, changes: dict[str, Any]) -> None:
    """Before ``changes`` are set: a change of quantity or frequency moves a line to the tier of its new quantity and frequency, when its
    price is the one the market's price (and tiers) gave it before the change: a price given by hand, or
    frozen before the price changed, stays until ``_refresh``."""
    quantity = changes.get("quantity", line.quantity)
    frequency = changes.get("frequency", line.frequency)
    if (quantity, frequency) == (line.quantity, line.frequency) or line.sku_id is None:
        return
    order = line.order
    price = (
        tiers.flagged(
            Price.objects.filter(price_list_id=order.market.price_list_id, sku_id=line.sku_id)
        ).first()
        if order.market is not None
        else None
    )
    if price is None:
        return
    found = tiers.tiers_of([price]).get(price.pk, [])  # no query for a price without tiers
    if line.unit_amount_cents != tiers.unit_amount_cents(
        price.amount_cents, found, line.quantity, line.frequency
    ):
        return
    line.unit_amount_cents = tiers.unit_amount_cents(price.amount_cents, found, quantity, frequency)


def delete_line_item(line: LineItem) -> None:
    order = line.order
    require_editable(order)
    if order.line_item_options_count and LineItemOption.objects.filter(line_item=line).delete()[0]:
        order.line_item_options_count = LineItemOption.objects.filter(line_item__order=order).count()
    line.delete()
    recompute(order)
