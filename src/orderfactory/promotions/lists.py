"""What promotions read of SKU lists: which of an order's lines a list holds, the SKU list rule, and the
discounts of the kinds that price units of a list's SKUs (free gift, buy X pay Y, fixed price) or are
restricted to them (a percentage discount or fixed amount with a ``sku_list``).

A line is in a list when its SKU code is one of a manual list's items, or matches a list by regular
expression; a bundle line when its bundle sells that very list (Commerce Layer: "the resources must share the
same SKU list"). The lists' items are read once per pricing (``ListedSkus``), for every promotion at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from orderfactory.catalog.bundles import code_matches
from orderfactory.catalog.models import Bundle, SkuList, SkuListItem
from orderfactory.promotions.models import BUY_X_PAY_Y, FIXED_PRICE, FREE_GIFT, Promotion


class Line(NamedTuple):
    """A line of goods of an order, as the discounts see it: a SKU line, or a bundle line (``bundle_id``)."""

    line_item_id: str
    sku_code: str
    total_amount_cents: int
    quantity: int = 1
    unit_amount_cents: int | None = None  # None: the total over the quantity
    bundle_id: str | None = None

    @property
    def unit_cents(self) -> int:
        if self.unit_amount_cents is not None:
            return self.unit_amount_cents
        return self.total_amount_cents // self.quantity if self.quantity else 0


class ListedSkus:
    """The SKU lists the applying promotions and their rules name, read for one order's ``lines``: their
    items in one query, the lists of the order's bundles in one more (only when it has bundle lines)."""

    def __init__(self, lines: Sequence[Line]) -> None:
        self.lines = lines
        # list id -> its items, (SKU code, quantity) in position order; manual lists only.
        self._items: dict[str, list[tuple[str, int]]] = {}
        self._bundle_lists: dict[str, str] = {}

    def prepare(self, sku_lists: Iterable[SkuList | None]) -> None:
        manual = sorted({s.pk for s in sku_lists if s is not None and s.manual} - set(self._items))
        if manual:
            for list_id in manual:
                self._items[list_id] = []
            rows = (
                SkuListItem.objects.filter(sku_list_id__in=manual)
                .order_by("position", "created_at", "id")
                .values_list("sku_list_id", "sku__code", "quantity")
            )
            for list_id, code, quantity in rows:
                self._items[list_id].append((code, quantity))
        bundles = sorted({line.bundle_id for line in self.lines if line.bundle_id} - set(self._bundle_lists))
        if bundles:
            self._bundle_lists.update(
                Bundle.objects.filter(pk__in=bundles).values_list("pk", "sku_list_id").iterator()
            )

    def items(self, sku_list: SkuList) -> list[tuple[str, int]]:
        return self._items.get(sku_list.pk, [])

    def holds(self, sku_list: SkuList, line: Line) -> bool:
        if line.bundle_id:
            return self._bundle_lists.get(line.bundle_id) == sku_list.pk
        if sku_list.manual:
            return any(code == line.sku_code for code, _ in self.items(sku_list))
        return bool(line.sku_code) and code_matches(sku_list.sku_code_regex, line.sku_code)

    def matching(self, sku_list: SkuList | None) -> list[int]:
        """The indexes of the lines ``sku_list`` holds; every line without a list."""
        if sku_list is None:
            return list(range(len(self.lines)))
        return [i for i, line in enumerate(self.lines) if self.holds(sku_list, line)]


def rule_holds(promotion: Promotion, listed: ListedSkus) -> bool:
    """The promotion's SKU list rule, if it has one: the order holds at least ``min_quantity`` units of the
    list's SKUs (when set, it overrides ``all_skus``), or every SKU of a manual list, each in at least its
    item's quantity (``all_skus``), or any of them. A list by regular expression cannot be enumerated, so
    ``all_skus`` reads as any there. A rule whose list and promotion's list are both unset holds for none."""
    rule = getattr(promotion, "sku_list_promotion_rule", None)
    if rule is None:
        return True
    sku_list = rule.sku_list or promotion.sku_list
    if sku_list is None:
        return False
    held = [listed.lines[i] for i in listed.matching(sku_list)]
    if rule.min_quantity is not None and rule.min_quantity > 0:
        return sum(line.quantity for line in held) >= rule.min_quantity
    if rule.all_skus and sku_list.manual:
        units: dict[str, int] = {}
        for line in held:
            units[line.sku_code] = units.get(line.sku_code, 0) + line.quantity
        return all(units.get(code, 0) >= quantity for code, quantity in listed.items(sku_list))
    return bool(held)


def unit_discounts(
    promotion: Promotion, listed: ListedSkus, remaining: Sequence[int], taken: set[int]
) -> dict[int, int]:
    """Line index -> the cents (positive) a free gift, buy X pay Y or fixed price promotion takes off the
    line, each at most what is ``remaining`` of it. Free gift and fixed price promotions do not overlap, as
    Commerce Layer's: a line one of them discounted (``taken``, which this extends) is left to it."""
    lines = listed.lines
    sku_list = promotion.sku_list
    held = [i for i in listed.matching(sku_list) if remaining[i] > 0]
    units: dict[int, int] = {}  # line index -> free units
    if promotion.type == FREE_GIFT and sku_list is not None:
        held = [i for i in held if i not in taken]
        budget = promotion.max_quantity or 1
        # The list's items in position order, each up to its quantity; then the bundles of the list.
        for code, quantity in listed.items(sku_list):
            for i in held:
                if budget > 0 and quantity > 0 and lines[i].sku_code == code and not lines[i].bundle_id:
                    free = min(quantity, lines[i].quantity - units.get(i, 0), budget)
                    units[i] = units.get(i, 0) + free
                    budget -= free
                    quantity -= free
        for i in held:
            if budget and lines[i].bundle_id:
                units[i] = min(lines[i].quantity, budget)
                budget -= units[i]
    elif promotion.type == BUY_X_PAY_Y and promotion.x and promotion.y is not None:
        x, y = promotion.x, promotion.y
        if promotion.cheapest_free:
            free = sum(lines[i].quantity for i in held) // x * (x - y)
            for i in sorted(held, key=lambda i: (lines[i].unit_cents, i)):
                units[i] = min(lines[i].quantity, free)
                free -= units[i]
        else:
            units = {i: lines[i].quantity // x * (x - y) for i in held}
    elif promotion.type == FIXED_PRICE:
        fixed = promotion.fixed_amount_cents or 0
        cents = {i: max(lines[i].unit_cents - fixed, 0) * lines[i].quantity for i in held if i not in taken}
        taken.update(i for i, c in cents.items() if c)
        return {i: min(c, remaining[i]) for i, c in cents.items() if c}
    cents = {i: min(n * lines[i].unit_cents, remaining[i]) for i, n in units.items() if n > 0}
    if promotion.type == FREE_GIFT:
        taken.update(i for i, c in cents.items() if c)
    return {i: c for i, c in cents.items() if c}
