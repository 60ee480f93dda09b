"""The copy policies (extensions, docs/compatibility.md), applied to the target's SKU lines before they are
priced: ``unavailable_lines`` (``fail``: copied as they were, placing refuses them, as Commerce Layer does;
``drop``: left out; ``reduce``: copied as far as stock allows) and ``prices`` (``frozen``: the source's unit
prices, as Commerce Layer does; ``current``: the market's now). Each line's facts (price then and now,
quantity available now, what became of it) are what a preview shows and what a copy made from a preview
compares. Reads nothing unless a policy or the facts need it: the default copy costs no query more."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from orderfactory.factories.error_codes import FactoryErrorCode
from orderfactory.factories.failures import LineNote, Notes
from orderfactory.orders.models import LineItem, Order


@dataclass(frozen=True)
class LineFact:
    """One SKU line of the source, as the copy takes it."""

    pointer: str
    sku_code: str | None
    bundle_code: str | None
    quantity_then: int
    quantity: int  # copied (0: dropped)
    unit_amount_cents_then: int | None
    unit_amount_cents_now: int | None  # the market's price now (None: it has none)
    unit_amount_cents: int | None  # what the copy charges
    quantity_available: int | None  # in the market's stock now (None: not tracked)
    outcome: str  # factories.models.OUTCOMES

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def apply(
    factory: Any, target: Order, copies: dict[Any, LineItem], pointers: dict[Any, str], notes: Notes
) -> dict[Any, LineItem]:
    """The lines ``copies`` (source key -> unsaved copy) the target keeps under ``factory``'s policies, their
    quantities and prices set; a line dropped or reduced is noted, pointing at its source line
    (``pointers``); ``notes.facts`` gets each line's facts when asked for."""
    unavailable, prices = factory.unavailable_lines or "fail", factory.prices or "frozen"
    want_facts = notes.facts is not None
    if unavailable == "fail" and prices == "frozen" and not want_facts:
        return copies
    current: dict[Any, Any] = (
        _current_prices(target, copies.values()) if prices == "current" or want_facts else {}
    )
    bundles_now = _current_bundle_prices(copies.values()) if prices == "current" or want_facts else {}
    stock = _available(target, copies.values()) if unavailable != "fail" or want_facts else {}
    left = dict(stock)
    kept: dict[Any, LineItem] = {}
    for key, line in copies.items():
        then, quantity = line.unit_amount_cents, line.quantity
        available = left.get(line.sku_id) if line.sku_id is not None and _tracked(line) else None
        short = available is not None and available < quantity
        copied = quantity
        if short and unavailable == "drop":
            copied = 0
        elif short and unavailable == "reduce":
            copied = max(available or 0, 0)
        if available is not None and line.sku_id is not None:
            left[line.sku_id] = max(available - copied, 0) if copied else available
        now = (
            bundles_now.get(line.bundle_id)
            if line.bundle_id is not None
            else _unit_now(current.get(line.sku_id), copied or quantity, line.frequency)
        )
        if prices == "current" and now is not None:
            line.unit_amount_cents = now
        outcome = "copied"
        if short:
            outcome = {"fail": "out_of_stock", "drop": "dropped"}.get(unavailable) or (
                "reduced" if copied else "dropped"
            )
        elif line.unit_amount_cents != then:
            outcome = "repriced"
        if outcome in ("dropped", "reduced"):
            _note(notes, line, pointers[key], outcome, quantity, copied, available or 0)
        if copied:
            line.quantity = copied
            kept[key] = line
        if notes.facts is not None:
            notes.facts.append(
                LineFact(
                    pointer=pointers[key],
                    sku_code=line.sku_code,
                    bundle_code=line.bundle_code,
                    quantity_then=quantity,
                    quantity=copied,
                    unit_amount_cents_then=then,
                    unit_amount_cents_now=now,
                    unit_amount_cents=line.unit_amount_cents if copied else None,
                    quantity_available=stock.get(line.sku_id) if available is not None else None,
                    outcome=outcome,
                )
            )
    return kept


def _note(
    notes: Notes, line: LineItem, pointer: str, outcome: str, quantity: int, copied: int, available: int
) -> None:
    code = FactoryErrorCode.LINE_REDUCED if outcome == "reduced" else FactoryErrorCode.LINE_DROPPED
    what = f"reduced from {quantity} to {copied}" if outcome == "reduced" else "dropped from the copy"
    notes.about_line(
        "line_items",
        f"{line.sku_code}: {available} available of {quantity} requested: {what}",
        LineNote(pointer, line.sku_code, code),
    )


def _tracked(line: LineItem) -> bool:
    return line.sku is not None and not line.sku.do_not_track and line.sku_id is not None


def _current_prices(target: Order, lines: Any) -> dict[str, Any]:
    """The market's prices now of the lines' SKUs (with their tiers flagged), by SKU id: one query, and one
    more when a price has tiers."""
    from orderfactory.catalog import tiers
    from orderfactory.catalog.models import Price

    market = target.market
    sku_ids = {line.sku_id for line in lines if line.sku_id}
    if market is None or not market.price_list_id or not sku_ids:
        return {}
    found = list(tiers.flagged(Price.objects.filter(price_list_id=market.price_list_id, sku_id__in=sku_ids)))
    price_tiers = tiers.tiers_of(found)
    return {price.sku_id: (price, price_tiers.get(price.pk, [])) for price in found}


def _current_bundle_prices(lines: Any) -> dict[str, int]:
    """The bundles' prices now, by bundle id: one query, none without bundle lines. (A bundle line's stock is
    its SKUs': the unavailable-lines policies judge SKU lines only, and placing checks a bundle's SKUs.)"""
    from orderfactory.catalog.models import Bundle

    ids = {line.bundle_id for line in lines if line.bundle_id}
    if not ids:
        return {}
    return dict(Bundle.objects.filter(pk__in=ids).values_list("pk", "price_amount_cents"))


def _unit_now(priced: Any, quantity: int, frequency: str | None) -> int | None:
    from orderfactory.catalog import tiers

    if priced is None:
        return None
    price, price_tiers = priced
    return tiers.unit_amount_cents(price.amount_cents, price_tiers, quantity, frequency)


def _available(target: Order, lines: Any) -> dict[str | None, int]:
    """What the market's stock locations (not on hold) hold now of the lines' tracked SKUs, by SKU id (as
    placing counts it): two queries, no lock."""
    from orderfactory.orders.services.loading import stock_on_hand

    sku_ids = {line.sku_id for line in lines if _tracked(line)}
    if not sku_ids or target.market is None:
        return {}
    held: dict[str | None, int] = defaultdict(int)
    for sku_id in sku_ids:
        held[sku_id] = 0
    for item in stock_on_hand(target, sku_ids, lock=False).items:
        held[item.sku_id] += item.quantity
    return dict(held)
