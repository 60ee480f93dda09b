"""Changing an order as ``PATCH /api/orders/<id>`` does, and its line items as their endpoints do (a
shipment's PATCH is ``fulfilment.change_shipment``): one entry per change, each owning its transaction,
callable alike from the API, the worker and the CLI. The entries for line items and payment sources join
the caller's transaction when there is one (the API's write runs in one), without a savepoint: a refusal undoes the caller's whole transaction.

``change_order`` is the order's PATCH: attribute and relationship changes and the cheap triggers in one
transaction under the order's row lock, recorded in the audit trail when a column changed; then
``_update_taxes``, ``_place``, ``_capture``, ``_refund``, ``_cancel`` and ``_create_subscriptions`` as their own
use-cases (taxing may call an external tax calculator and the others a payment gateway, with no lock held)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from django.db import transaction

from orderfactory.adjustments.models import Adjustment
from orderfactory.catalog.models import Bundle, PriceList, Sku
from orderfactory.core import clock, hooks
from orderfactory.core.errors import CommonErrorCode, DomainError
from orderfactory.giftcards.models import GiftCard
from orderfactory.orders.error_codes import OrderErrorCode
from orderfactory.orders.models import LineItem, Order
from orderfactory.orders.services import (
    building,
    fulfilment,
    gift_cards,
    lines,
    paying,
    placing,
    pricing,
    taxing,
    transitions,
)
from orderfactory.orders.services.checks import validate
from orderfactory.orders.services.loading import lock_order
from orderfactory.orders.services.rules import BUNDLE_LINE, require_editable

# The order's triggers we perform; the others are refused with a 422 that names them (docs/compatibility.md).
TRIGGERS = frozenset(
    {
        "_create_subscriptions",
        "_place",
        "_cancel",
        "_approve",
        "_archive",
        "_unarchive",
        "_refresh",
        "_refresh_prices",
        "_update_taxes",
        "_validate",
        "_save_payment_source_to_customer_wallet",
        "_billing_address_clone_id",
        "_shipping_address_clone_id",
        "_shipping_address_same_as_billing",
        "_billing_address_same_as_shipping",
        "_customer_payment_source_id",
        "_nullify_payment_source",
        "_pending",
        "_reset_circuit",
        "_capture",
        "_refund",
        "_refund_amount_cents",
        "_fulfill",
    }
)
# Triggers that are not edits: they act on an order whatever its status, or have their own rules.
_NOT_EDITS = frozenset(
    {
        "_place",
        "_cancel",
        "_approve",
        "_archive",
        "_unarchive",
        "_validate",
        "_create_subscriptions",
        "_update_taxes",
        "_reset_circuit",
        "_capture",
        "_refund",
        "_refund_amount_cents",
        "_fulfill",
    }
)
# Run after the changes, each as its own use-case with its own transaction(s); ``_update_taxes`` may call an
# external tax calculator and the payment use-cases a gateway, with no lock held.
_OWN_USE_CASES = frozenset(
    {
        "_update_taxes",
        "_place",
        "_cancel",
        "_create_subscriptions",
        "_capture",
        "_refund",
        "_refund_amount_cents",
    }
)


# ``_create_subscriptions`` is carried out by the subscriptions, which build on the orders (an import of theirs
# from here would be a circle): their app registers the one function that makes an order's subscriptions.
SubscriptionMaker = Callable[[Order], object]
_subscription_maker: list[SubscriptionMaker] = []


def makes_subscriptions(fn: SubscriptionMaker) -> SubscriptionMaker:
    """Register the function ``_create_subscriptions`` runs (once; the subscriptions app does it)."""
    if _subscription_maker and _subscription_maker[0] is not fn:
        raise RuntimeError("an order's subscriptions are made by one function")
    _subscription_maker[:] = [fn]
    return fn


def change_order(order_id: str, changes: Mapping[str, Any], triggers: Mapping[str, Any]) -> Order:
    """Apply ``changes`` (columns -> values; ``payment_source``: the source to link, or None to unlink) and
    ``triggers`` (name -> value; a false or empty value is no trigger) to the order, as its PATCH does."""
    unknown = set(triggers) - TRIGGERS
    if unknown:
        name = sorted(unknown)[0]
        raise DomainError.of(OrderErrorCode.NOT_SUPPORTED, name, "is not supported by orderfactory")
    fired = {k: v for k, v in triggers.items() if v not in (None, False, "")}
    order: Order | None = None
    if changes or set(fired) - _OWN_USE_CASES:
        with transaction.atomic():
            order = lock_order(order_id)
            with hooks.recording("orders", order, only_if_changed=True):
                _apply(order, dict(changes), fired)
    if "_update_taxes" in fired:
        order = taxing.update_taxes(order_id)
    if "_place" in fired:
        order = placing.place(order_id)
    if "_capture" in fired:
        order = paying.capture(order_id)
    if "_refund" in fired:
        order = paying.refund(order_id, triggers.get("_refund_amount_cents"))
    if "_cancel" in fired:
        order = transitions.cancel(order_id)
    if "_create_subscriptions" in fired:
        [make_subscriptions] = _subscription_maker
        with transaction.atomic():
            order = lock_order(order_id)
            make_subscriptions(order)
    return order if order is not None else Order.objects.get(pk=order_id)


def _apply(order: Order, columns: dict[str, Any], triggers: dict[str, Any]) -> None:
    edits = bool(columns) or bool(set(triggers) - _NOT_EDITS)
    if edits:
        require_editable(order)
    if "gift_card_or_coupon_code" in columns:
        _route_code(columns)
    email_given = "customer_email" in columns
    email = columns.pop("customer_email", None)
    source_given = "payment_source" in columns
    source = columns.pop("payment_source", None)
    if "market_id" in columns and columns["market_id"] != order.market_id and order.line_items.exists():
        raise DomainError.of(
            OrderErrorCode.IMMUTABLE,
            "market",
            "cannot change once the order has line items",
            pointer="/data/relationships/market",
        )
    for column, value in columns.items():
        setattr(order, column, value)
    if email_given:
        building.set_customer_email(order, email)
    elif "customer_id" in columns and order.customer_id:
        assert order.customer is not None
        order.customer_email = order.customer.email
    if "market_id" in columns:
        market = order.market
        assert market is not None
        order.currency_code = (
            cast(PriceList, market.price_list).currency_code if market.price_list_id else None
        )
    if "coupon_code" in columns and order.coupon_code:
        from orderfactory.promotions.services import CouponInvalid, check_coupon

        try:
            check_coupon(order.coupon_code, market_id=order.market_id, at=clock.now())
        except CouponInvalid as exc:
            raise DomainError.of(exc.reason, "coupon_code", exc.message) from None
    if "gift_card_code" in columns:
        order.gift_card_code = order.gift_card_code or None
        gift_cards.check_code(order)
    if source_given:
        building.link_payment_source(order, source)
    _apply_address_triggers(order, triggers)
    if "_customer_payment_source_id" in triggers:
        _use_wallet_entry(order, triggers["_customer_payment_source_id"])
    if "_nullify_payment_source" in triggers:
        building.link_payment_source(order, None)
    if "_refresh" in triggers or "_refresh_prices" in triggers:
        pricing.refresh(order)
    elif edits:
        pricing.recompute(order)
    if "_save_payment_source_to_customer_wallet" in triggers:
        if order.status in ("placed", "approved"):
            building.save_payment_source_to_wallet(order)
        else:
            order.save_payment_source_to_wallet = True
            order.save(update_fields=["save_payment_source_to_wallet"])
    if "_approve" in triggers:
        transitions.approve(order)
    if "_fulfill" in triggers:
        fulfilment.fulfil_order(order)
    if "_archive" in triggers or "_unarchive" in triggers:
        transitions.archive(order, "_archive" in triggers)
        order.save(update_fields=["archived_at"])
        hooks.event("orders.archive" if "_archive" in triggers else "orders.unarchive", "orders", order)
    if "_pending" in triggers and order.status == "draft" and order.line_items.exists():
        order.status = "pending"
        order.save(update_fields=["status"])
    if "_validate" in triggers:
        validate(order)


def _route_code(columns: dict[str, Any]) -> None:
    """Commerce Layer's ``gift_card_or_coupon_code`` (deprecated there, still served): a gift card's code
    (matched exactly, the card wins over a coupon of the same code) becomes the order's ``gift_card_code``, any
    other its ``coupon_code``; a blank one removes both."""
    code = columns.pop("gift_card_or_coupon_code") or None
    if code is None:
        columns.setdefault("gift_card_code", None)
        columns.setdefault("coupon_code", None)
    elif GiftCard.objects.filter(code=code).exists():
        columns["gift_card_code"] = code
    else:
        columns["coupon_code"] = code


def _apply_address_triggers(order: Order, triggers: dict[str, Any]) -> None:
    from orderfactory.addresses.models import Address

    if "_shipping_address_same_as_billing" in triggers and order.billing_address_id:
        assert order.billing_address is not None
        order.shipping_address = building.clone_address(order.billing_address)
    if "_billing_address_same_as_shipping" in triggers and order.shipping_address_id:
        assert order.shipping_address is not None
        order.billing_address = building.clone_address(order.shipping_address)
    for trigger, column in (
        ("_billing_address_clone_id", "billing_address"),
        ("_shipping_address_clone_id", "shipping_address"),
    ):
        if trigger in triggers:
            address = Address.objects.filter(pk=triggers[trigger]).first()
            if address is None:
                raise DomainError.of(CommonErrorCode.NOT_FOUND, trigger, "")
            setattr(order, column, building.clone_address(address))


def _use_wallet_entry(order: Order, entry_id: str) -> None:
    """``_customer_payment_source_id``: the order pays with a copy of the customer's wallet entry."""
    from orderfactory.customers.models import CustomerPaymentSource
    from orderfactory.customers.services import payment_source_of
    from orderfactory.payments.services import clone_payment_source

    entry = CustomerPaymentSource.objects.filter(pk=entry_id, customer_id=order.customer_id).first()
    source = payment_source_of(entry) if entry is not None else None
    if entry is None or source is None:
        raise DomainError.of(CommonErrorCode.INVALID, "_customer_payment_source_id", "is invalid")
    building.link_payment_source(order, clone_payment_source(source))
    if entry.payment_method_id:
        order.payment_method_id = entry.payment_method_id


# --- line items -----------------------------------------------------------------------------------------


def add_line_item(
    order_id: str,
    *,
    item: Any = None,
    item_type: str | None = None,
    sku_code: str | None = None,
    quantity: int | None,
    unit_amount_cents: int | None = None,
    name: str | None = None,
    image_url: str | None = None,
    frequency: str | None = None,
    extra: dict[str, Any] | None = None,
    merge: bool = False,
) -> LineItem:
    """A line item added by hand: a SKU (``item`` or ``sku_code``), a bundle (``item`` or ``bundle_code``) or an
    adjustment (``item``); with ``merge``
    (``_update_quantity``) a SKU's quantity adds to the order's line of the same SKU, frequency and price."""
    with transaction.atomic(savepoint=False):
        order = lock_order(order_id)
        if isinstance(item, Adjustment) and item_type in (None, "adjustments"):
            return lines.add_adjustment_line_item(order, item, quantity=quantity, name=name)
        if isinstance(item, GiftCard) and item_type in (None, "gift_cards"):
            line = gift_cards.add_gift_card_line_item(order, item, quantity=quantity)
            pricing.recompute(order)
            return line
        bundle_code = (extra or {}).get("bundle_code")
        if (isinstance(item, Bundle) and item_type in (None, BUNDLE_LINE)) or (
            item is None
            and (item_type == BUNDLE_LINE or (item_type is None and bundle_code and not sku_code))
        ):
            if frequency:
                raise DomainError.of(
                    CommonErrorCode.INVALID,
                    "frequency",
                    "a bundle line item takes no frequency",
                    value=frequency,
                )
            return lines.add_bundle_line_item(
                order,
                bundle=item,
                bundle_code=bundle_code,
                quantity=quantity,
                unit_amount_cents=unit_amount_cents,
                name=name,
                image_url=image_url,
                extra=extra,
                merge=merge,
            )
        if item is not None and not isinstance(item, Sku):
            raise DomainError.of(
                CommonErrorCode.INVALID,
                "item",
                "only SKUs, bundles, adjustments and gift cards can be added by hand",
                pointer="/data/relationships/item",
            )
        if (item_type or ("skus" if item is None else None)) not in (None, "skus"):
            raise DomainError.of(
                CommonErrorCode.INVALID,
                "item_type",
                "only skus, bundles, adjustments and gift_cards line items can be added by hand",
            )
        return lines.add_sku_line_item(
            order,
            sku=item,
            sku_code=sku_code,
            quantity=quantity,
            unit_amount_cents=unit_amount_cents,
            name=name,
            image_url=image_url,
            frequency=frequency,
            extra=extra,
            merge=merge,
        )


def change_line_item(line: LineItem, changes: dict[str, Any]) -> LineItem:
    with transaction.atomic(savepoint=False):
        line.order = lock_order(line.order_id)
        return lines.update_line_item(line, changes)


def remove_line_item(line: LineItem) -> None:
    with transaction.atomic(savepoint=False):
        line.order = lock_order(line.order_id)
        lines.delete_line_item(line)


def link_order_payment_source(order_id: str, source: Any) -> Order:
    """A payment source created or changed with an ``order``: it becomes that editable order's source."""
    with transaction.atomic(savepoint=False):
        order = lock_order(order_id)
        require_editable(order)
        building.link_payment_source(order, source)
        order.save(update_fields=["payment_source_type", "payment_source_id", "updated_at"])
        return order
