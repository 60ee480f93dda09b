"""A shipment's fulfilment after placing (Commerce Layer's shipment triggers ``_upcoming``, ``_on_hold``,
``_picking``, ``_packing``, ``_ready_to_ship``, ``_ship``, ``_deliver``, ``_cancel``) and the order's
``fulfillment_status`` that follows its shipments (``_fulfill``). docs/decisions.md, "Shipments' fulfilment".

Each step is a compare-and-set on the shipment's status, under the order's row lock (taken first, as every
order use-case does), so that two shipments of one order finishing at once see each other when the order's
fulfilment is decided."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from orderfactory.catalog.error_codes import ShippingErrorCode
from orderfactory.catalog.models import ShippingMethod
from orderfactory.core import clock, hooks
from orderfactory.core.errors import DomainError
from orderfactory.orders.error_codes import OrderErrorCode
from orderfactory.orders.models import Order, Shipment, StockAllocation
from orderfactory.orders.services import pricing, shipments
from orderfactory.orders.services.loading import lock_order
from orderfactory.orders.services.rules import require_editable
from orderfactory.orders.services.transitions import release_stock


@dataclass(frozen=True)
class Step:
    target: str
    sources: tuple[str, ...]
    stamp: str | None  # the column that records when the shipment got there
    event: str  # shipments.<event>
    needs_approval: bool  # goods are handled only for an approved order


# A shipment on hold resumes at any step before shipping: the hold does not record where it was taken.
_HANDLING = ("upcoming", "on_hold", "picking", "packing", "ready_to_ship")
# In the order a PATCH carrying several applies them.
STEPS: dict[str, Step] = {
    "_upcoming": Step("upcoming", ("on_hold",), None, "upcoming", False),
    "_on_hold": Step(
        "on_hold", ("upcoming", "picking", "packing", "ready_to_ship"), "on_hold_at", "on_hold", False
    ),
    "_picking": Step("picking", ("upcoming", "on_hold"), "picking_at", "picking", True),
    "_packing": Step("packing", ("picking", "on_hold"), "packing_at", "packing", True),
    "_ready_to_ship": Step(
        "ready_to_ship", ("packing", "on_hold"), "ready_to_ship_at", "ready_to_ship", True
    ),
    "_ship": Step("shipped", ("ready_to_ship",), "shipped_at", "ship", True),
    "_deliver": Step("delivered", ("shipped",), "delivered_at", "deliver", True),
    "_cancel": Step("cancelled", _HANDLING, None, "cancel", False),
}
SHIPMENT_TRIGGERS = frozenset(STEPS)
# Commerce Layer: "cannot be passed by sales channels".
STAFF_SHIPMENT_TRIGGERS = ("_upcoming", "_cancel")
DONE = frozenset({"shipped", "delivered", "cancelled"})
EVENTS = tuple(step.event for step in STEPS.values())


def change_shipment(shipment_id: str, changes: Mapping[str, Any], triggers: Mapping[str, Any]) -> Shipment:
    """A shipment's PATCH in one transaction: its shipping method (one available to it, while the order is
    editable), reference and metadata, and its fulfilment triggers (a false value is no trigger)."""
    fired = [name for name in STEPS if triggers.get(name) not in (None, False, "")]
    with transaction.atomic():
        order_id = Shipment.objects.values_list("order_id", flat=True).get(pk=shipment_id)
        order = lock_order(order_id)
        shipment = Shipment.objects.get(pk=shipment_id)
        with hooks.recording("shipments", shipment, only_if_changed=True):
            if changes:
                _apply_changes(order, shipment, dict(changes))
            for name in fired:
                _step(order, shipment, STEPS[name])
        if fired:
            _follow_shipments(order)
    return shipment


def _apply_changes(order: Order, shipment: Shipment, changes: dict[str, Any]) -> None:
    if "shipping_method_id" in changes:
        require_editable(order)
    method_id = changes.get("shipping_method_id")
    if method_id is not None:
        method = ShippingMethod.objects.get(pk=method_id)  # the engine found it in the caller's scope
        why = shipments.unavailable_because(order, shipment, method)
        if why is not None:
            raise DomainError.of(
                ShippingErrorCode.SHIPPING_METHOD_UNAVAILABLE,
                "shipping_method",
                why,
                pointer="/data/relationships/shipping_method",
            )
    for column, value in changes.items():
        setattr(shipment, column, value)
    shipment.save()
    if "shipping_method_id" in changes:
        pricing.recompute(order)


def _step(order: Order, shipment: Shipment, step: Step) -> None:
    if shipment.status not in step.sources:
        raise _refused(shipment.status, step.target)
    if step.needs_approval and order.status != "approved":
        raise DomainError.of(
            OrderErrorCode.TRANSITION,
            "status",
            f"cannot transition to {step.target}: the order is {order.status}, not approved",
        )
    now = clock.now()
    columns: dict[str, Any] = {"status": step.target, "updated_at": now}
    if step.stamp:
        columns[step.stamp] = now
    if not Shipment.objects.filter(pk=shipment.pk, status=shipment.status).update(**columns):
        raise _refused(shipment.status, step.target)
    for column, value in columns.items():
        setattr(shipment, column, value)
    if step.target == "cancelled":
        release_stock(StockAllocation.objects.filter(line_item__fulfilling_shipment=shipment), now)
    hooks.event(f"shipments.{step.event}", "shipments", shipment)


def _refused(current: str, target: str) -> DomainError:
    return DomainError.of(
        OrderErrorCode.TRANSITION, "status", f"cannot transition from {current} to {target}"
    )


def _follow_shipments(order: Order) -> None:
    """The order is fulfilled once each of its shipments is shipped, delivered or cancelled, at least one of
    them not cancelled (a cancelled shipment alone fulfils nothing: its order stays in progress)."""
    if order.fulfillment_status not in ("unfulfilled", "in_progress"):
        return
    statuses = set(Shipment.objects.filter(order=order).values_list("status", flat=True))
    if statuses <= DONE and statuses - {"cancelled"}:
        with hooks.recording("orders", order):
            _fulfil(order)


def _fulfil(order: Order) -> None:
    now = clock.now()
    Order.objects.filter(pk=order.pk).update(
        fulfillment_status="fulfilled", fulfillment_updated_at=now, updated_at=now
    )
    order.fulfillment_status, order.fulfillment_updated_at, order.updated_at = "fulfilled", now, now
    hooks.event("orders.fulfill", "orders", order)


def fulfil_order(order: Order) -> None:
    """The order's ``_fulfill`` (inside its PATCH, under its row lock and its recording): an approved order, or a placed one whose
    shipments are all shipped, delivered or cancelled, becomes fulfilled. Fulfilled already: nothing."""
    if order.fulfillment_status == "fulfilled":
        return
    ready = order.status == "approved" or (
        order.status == "placed"
        and set(Shipment.objects.filter(order=order).values_list("status", flat=True)) <= DONE
    )
    if not ready or order.fulfillment_status == "not_required":
        raise DomainError.of(
            OrderErrorCode.TRANSITION,
            "fulfillment_status",
            f"cannot fulfil an order in status {order.status} (fulfillment {order.fulfillment_status})",
        )
    _fulfil(order)
