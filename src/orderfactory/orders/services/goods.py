"""What a line of goods holds: a SKU line its SKU, a bundle line the SKUs of its bundle, each with how many
of it one unit of the line holds. Bundle lines get their parts in one query for any number of lines
(``load_parts``); stock checks, placing and shipments read them through ``goods_of``."""

from __future__ import annotations

from collections.abc import Iterable

from orderfactory.catalog.bundles import Part, bundle_parts
from orderfactory.orders.models import LineItem
from orderfactory.orders.services.rules import BUNDLE_LINE

_PARTS = "_bundle_parts"


def load_parts(lines: Iterable[LineItem]) -> None:
    """Give each bundle line of ``lines`` its bundle's parts (one query, none without bundle lines)."""
    wanted = [line for line in lines if line.item_type == BUNDLE_LINE and not hasattr(line, _PARTS)]
    if not wanted:
        return
    parts = bundle_parts(line.bundle_id for line in wanted)
    for line in wanted:
        setattr(line, _PARTS, parts.get(line.bundle_id or "", []))


def goods_of(line: LineItem) -> list[Part]:
    """The SKUs one unit of the line holds (a bundle line's after ``load_parts``)."""
    if line.item_type == BUNDLE_LINE:
        return list(getattr(line, _PARTS, []))
    return [Part(line.sku, 1)] if line.sku is not None else []


def ships(line: LineItem) -> bool:
    return any(not part.sku.do_not_ship for part in goods_of(line))


def lead_part(line: LineItem) -> Part | None:
    """The part that decides where a line ships from and its shipping category: its first shipped SKU."""
    return next((part for part in goods_of(line) if not part.sku.do_not_ship), None)
