"""What a subscription's next runs would cost at current prices, and what they would lack today (an
extension: docs/compatibility.md)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from orderfactory.subscriptions import schedule
from orderfactory.subscriptions.models import OrderSubscription, OrderSubscriptionItem


@dataclass(frozen=True)
class Projection:
    """What a subscription's next run would cost at current prices, and what it would lack today."""

    subtotal_amount_cents: int
    currency_code: str | None
    unpriced_skus: list[str]
    out_of_stock_skus: list[str]


def projections(subscriptions: list[OrderSubscription]) -> dict[str, Projection]:
    """Each subscription's projection by id: its items (automatic) or its source order's SKU lines (manual) at
    its market's current prices, against the stock of its market's inventory model. At most six queries
    whatever the number of subscriptions (the console's overview projects every renewal due in a day)."""
    from orderfactory.catalog.models import Market, Price
    from orderfactory.inventory.models import InventoryStockLocation, StockItem
    from orderfactory.orders.models import LineItem

    lines: dict[str, list[tuple[str | None, str | None, int]]] = {s.pk: [] for s in subscriptions}
    automatic = [s.pk for s in subscriptions if s.automatic]
    if automatic:
        # SKU items, as a manual subscription's SKU lines below (a bundle item's SKUs are not projected).
        for item in OrderSubscriptionItem.objects.filter(
            order_subscription_id__in=automatic, sku__isnull=False
        ).order_by("created_at", "id"):
            lines[item.order_subscription_id].append((item.sku_id, item.sku_code, item.quantity))
    by_source: dict[str, list[str]] = defaultdict(list)
    for s in subscriptions:
        if not s.automatic and s.source_order_id:
            by_source[s.source_order_id].append(s.pk)
    if by_source:
        for line in LineItem.objects.filter(order_id__in=list(by_source), item_type="skus").order_by(
            "created_at", "id"
        ):
            for subscription_id in by_source[line.order_id]:
                lines[subscription_id].append((line.sku_id, line.sku_code, line.quantity))
    markets = {
        m.pk: m
        for m in Market.objects.filter(pk__in={s.market_id for s in subscriptions if s.market_id})
        .select_related("price_list")
        .only("price_list", "inventory_model", "price_list__currency_code")
    }
    skus = {sku for rows in lines.values() for sku, _, _ in rows if sku}
    prices: dict[tuple[str, str], int] = {
        (p.price_list_id, p.sku_id): p.amount_cents
        for p in Price.objects.filter(
            price_list_id__in={m.price_list_id for m in markets.values() if m.price_list_id}, sku_id__in=skus
        )
    }
    locations: dict[str, list[str]] = defaultdict(list)
    for model_id, location_id in InventoryStockLocation.objects.filter(
        inventory_model_id__in={m.inventory_model_id for m in markets.values() if m.inventory_model_id},
        on_hold=False,
    ).values_list("inventory_model_id", "stock_location_id"):
        locations[model_id].append(location_id)
    stock: dict[tuple[str, str], int] = defaultdict(int)
    for location_id, sku_id, quantity in StockItem.objects.filter(
        sku_id__in=skus, stock_location_id__in={loc for locs in locations.values() for loc in locs}
    ).values_list("stock_location_id", "sku_id", "quantity"):
        stock[(location_id, sku_id)] += quantity
    out = {}
    for s in subscriptions:
        market = markets.get(s.market_id or "")
        price_list_id = market.price_list_id if market else None
        in_stock = locations.get(market.inventory_model_id or "", []) if market else []

        def priced(sku: str | None, price_list_id: str | None = price_list_id) -> int | None:
            return prices.get((price_list_id or "", sku or ""))

        def available(sku: str | None, in_stock: list[str] = in_stock) -> int:
            return sum(stock.get((location, sku or ""), 0) for location in in_stock)

        rows = lines[s.pk]
        out[s.pk] = Projection(
            subtotal_amount_cents=sum((priced(sku) or 0) * quantity for sku, _, quantity in rows),
            currency_code=market.price_list.currency_code if market and market.price_list else None,
            unpriced_skus=sorted(code or "" for sku, code, _ in rows if priced(sku) is None),
            out_of_stock_skus=sorted(code or "" for sku, code, quantity in rows if available(sku) < quantity),
        )
    return out


def preview(subscription: OrderSubscription, count: int) -> list[dict[str, Any]]:
    """The next ``count`` runs: when, the projected total at current prices, and the SKUs that would not be in
    stock today (an extension: docs/compatibility.md)."""
    if subscription.status in ("cancelled",) or subscription.next_run_at is None:
        return []
    anchor = subscription.anchor_at or subscription.next_run_at
    times = [
        subscription.next_run_at,
        *schedule.upcoming(
            anchor, subscription.frequency, subscription.next_run_at, count - 1, subscription.expires_at
        ),
    ]
    times = [t for t in times if subscription.expires_at is None or t < subscription.expires_at][:count]
    projection = projections([subscription])[subscription.pk]
    skipped = subscription.skip_runs
    out = []
    for position, at in enumerate(times):
        paused = bool(subscription.paused_until and at < subscription.paused_until)
        out.append(
            {
                "scheduled_at": at,
                "skipped": position < skipped,
                "paused": paused,
                "subtotal_amount_cents": projection.subtotal_amount_cents,
                "currency_code": projection.currency_code,
                "unpriced_skus": projection.unpriced_skus,
                "out_of_stock_skus": projection.out_of_stock_skus,
            }
        )
    return out
