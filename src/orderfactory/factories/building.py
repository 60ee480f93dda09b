"""The copy itself: the target order built from its source (or from its subscription's plan), written in
the copy's transaction. What it reads of the source comes from factories.loading."""

from __future__ import annotations

from typing import Any

from orderfactory.catalog.error_codes import ShippingErrorCode
from orderfactory.core import clock
from orderfactory.core.errors import DomainError, Problem
from orderfactory.core.models import new_row
from orderfactory.customers.groups import outside_group
from orderfactory.factories import loading, plan, policies
from orderfactory.factories.failures import Notes
from orderfactory.factories.models import OrderFactory
from orderfactory.orders import services as orders
from orderfactory.orders.error_codes import OrderErrorCode
from orderfactory.orders.models import LineItem, LineItemOption, Order
from orderfactory.orders.services.gift_cards import usable_card

Log = dict[str, list[str]]


def build_target(factory: OrderFactory, notes: Log) -> Order:
    """The copy itself: a new order in the source's market for its customer, with copies of its addresses,
    its SKU, bundle and adjustment lines at their frozen prices (or as its policies say, factories.policies)
    with their line item options, its payment method, its coupon, and its wallet payment source. ``notes``: a
    ``failures.Notes`` gets the notes about lines with their pointers, and the lines' facts when it asks for
    them."""
    from orderfactory.promotions.services import CouponInvalid, check_coupon

    source = factory.source_order  # with the columns of SOURCE_COLUMNS
    assert source is not None  # _abort_reason checked
    coupon_code = source.coupon_code
    if coupon_code:
        try:
            check_coupon(coupon_code, market_id=source.market_id, at=clock.now())
        except CouponInvalid as exc:
            if not factory.ignore_invalid_coupon:
                raise DomainError.of(exc.reason, "coupon_code", exc.message) from None
            notes.setdefault("coupon_code", []).append(f"{exc.message}: dropped from the copy")
            coupon_code = None
    market = source.market
    assert market is not None
    refused = outside_group(market.customer_group_id, source.customer_id, guest=source.guest)
    if refused is not None:  # a customer no longer in the private market's group
        raise DomainError.of(OrderErrorCode.PRIVATE_MARKET, "market", refused)
    gift_card_code = _gift_card_code(source, notes)
    # Written last, once priced (orders.recompute with new_lines): the rows below refer to it within this
    # transaction, and foreign keys are checked at commit.
    target = new_row(
        Order,
        market=source.market,
        customer_id=source.customer_id,
        customer_email=source.customer_email,
        language_code=source.language_code,
        currency_code=source.currency_code,
        tax_included=source.tax_included,
        guest=source.guest,
        country_code=source.country_code,
        coupon_code=coupon_code,
        gift_card_code=gift_card_code,
        payment_method=source.payment_method,
        freight_taxable=source.freight_taxable,
        payment_method_taxable=source.payment_method_taxable,
        adjustment_taxable=source.adjustment_taxable,
        gift_card_taxable=source.gift_card_taxable,
    )
    run = plan.plan_of(factory)
    billing = run.billing_address or source.billing_address
    shipping = run.shipping_address or source.shipping_address
    clones = iter(orders.clone_addresses([a for a in (billing, shipping) if a is not None]))
    if billing is not None:
        target.billing_address = next(clones)
    if shipping is not None:
        target.shipping_address = next(clones)
    read = loading.copy_source(factory)
    lines = read.lines
    if any(line.item_type == orders.GIFT_CARD_LINE and line.total_amount_cents > 0 for line in lines):
        notes.setdefault("gift_cards", []).append("a gift card is sold once: not copied")
    # The lines of goods: SKUs and bundles, each of its kind.
    sku_lines = [line for line in lines if line.item_type in orders.GOODS]
    # The source's adjustments, at the amounts the source took them; a run of an automatic subscription
    # copies its items only (docs/decisions.md).
    adjustments = [
        _as_it_was(line, target, adjustment=line.adjustment)
        for line in lines
        if line.item_type == orders.ADJUSTMENT_LINE and run.items is None
    ]
    if run.items is not None:
        # An automatic subscription's run copies its items (they may differ from the source's lines): SKUs,
        # bundles and adjustments, each a line of its kind.
        goods = [item for item in run.items if item.adjustment_id is None]
        adjustments = _adjustment_items(
            [item for item in run.items if item.adjustment_id is not None], target, source.currency_code
        )
        skus = _skus([item.sku_id for item in goods if item.sku_id])
        lines = sku_lines = [
            LineItem(
                id=item.id,
                item_type=orders.SKU if item.sku_id else orders.BUNDLE_LINE,
                sku=skus.get(item.sku_id),
                sku_id=item.sku_id,
                bundle_id=item.bundle_id,
                bundle_code=item.bundle_code,
                item_id=item.sku_id or item.bundle_id,
                sku_code=item.sku_code,
                quantity=item.quantity,
                currency_code=source.currency_code,
                unit_amount_cents=item.unit_amount_cents,
                total_amount_cents=(item.unit_amount_cents or 0) * item.quantity,
                discount_cents=0,
                options_amount_cents=0,
                name=getattr(skus.get(item.sku_id), "name", None) or item.bundle_code,
                image_url=getattr(skus.get(item.sku_id), "image_url", None),
            )
            for item in goods
        ]
    pointers = {line.pk: _pointer(line, run) for line in sku_lines}
    copies = {
        line.pk: new_row(
            LineItem,
            order=target,
            item_type=line.item_type or orders.SKU,
            item_id=line.item_id,
            sku=line.sku,
            sku_code=line.sku_code,
            bundle_id=line.bundle_id,
            bundle_code=line.bundle_code,
            quantity=line.quantity,
            currency_code=line.currency_code,
            unit_amount_cents=line.unit_amount_cents,
            compare_at_amount_cents=line.compare_at_amount_cents,
            options_amount_cents=line.options_amount_cents,
            total_amount_cents=line.total_amount_cents,
            discount_cents=0 if factory.apply_promotions else line.discount_cents,
            discount_breakdown=None if factory.apply_promotions else line.discount_breakdown,
            name=line.name,
            image_url=line.image_url,
            frequency=line.frequency,
        )
        for line in sku_lines
    }
    noted = notes if isinstance(notes, Notes) else Notes()
    copies = policies.apply(factory, target, copies, pointers, noted)
    if noted is not notes:
        for attribute, messages in noted.items():
            notes.setdefault(attribute, []).extend(messages)
    frozen: list[LineItem] = []
    if not factory.apply_promotions:
        dropped = source.coupon_code if coupon_code is None else None
        frozen = [
            _as_it_was(line, target, coupon_code=line.coupon_code)
            for line in lines
            if line.item_type in orders.PROMOTION_LINES and not (dropped and line.coupon_code == dropped)
        ]
        if dropped:
            for copy in copies.values():
                _drop_coupon_share(copy, dropped)
    if run.wallet_entry is not None:
        _use_wallet_entry(run.wallet_entry, target)
    elif factory.reuse_wallet:
        _reuse_wallet(source, target)
    options = [
        _option_copy(option, copies[option.line_item_id])
        for option in read.options
        if option.line_item_id in copies
    ]
    target.line_item_options_count = len(options)
    dropped_methods: orders.DroppedMethods = []
    orders.recompute(
        target,
        frozen_promotions=not factory.apply_promotions,
        new_lines=[*copies.values(), *frozen, *adjustments],
        preferred_methods=_source_shipping_methods(read),
        dropped_methods=dropped_methods,
    )
    if options:
        LineItemOption.objects.bulk_create(options)
    _report_dropped_methods(factory, dropped_methods, notes)
    return target


def _drop_coupon_share(line: LineItem, code: str) -> None:
    """A frozen line without the share of the promotions ``code`` triggered (its discount_breakdown says
    which); a line priced before breakdowns were kept loses its whole discount, as the coupon's may be any of
    it."""
    if line.discount_breakdown is None:
        line.discount_cents = 0
        return
    kept = {k: v for k, v in line.discount_breakdown.items() if v.get("coupon_code") != code}
    line.discount_cents = sum(int(v.get("cents", 0)) for v in kept.values())
    line.discount_breakdown = kept or None


def _gift_card_code(source: Order, notes: Log) -> str | None:
    """The source's gift card comes over while it can still pay (checked again, at its balance of now, when
    the target is priced and placed: a balance the source took is never spent twice); else it is dropped and
    the copy says why (docs/decisions.md, "Gift cards")."""
    if not source.gift_card_code:
        return None
    try:
        usable_card(source)
    except DomainError as exc:
        notes.setdefault("gift_card_code", []).append(f"{exc.problems[0].message}: dropped from the copy")
        return None
    return source.gift_card_code


def _pointer(line: LineItem, run: plan.Plan) -> str:
    """The JSON pointer to the source's line a copy's line comes from: a line item of the source order, or an
    item of an automatic subscription."""
    return f"/order_subscription_items/{line.pk}" if run.items is not None else f"/line_items/{line.pk}"


def source_pointers(factory: OrderFactory) -> dict[str, str]:
    """sku code -> the pointer to the first source line of that SKU (what placing's refusals about a line are
    pointed at: they name the target's SKU only). Read when placing refused a line only."""
    run = plan.plan_of(factory)
    if run.items is not None:
        found = {
            item.sku_code: f"/order_subscription_items/{item.id}"
            for item in reversed(run.items)
            if item.sku_code
        }
        return found
    assert factory.source_order_id is not None
    lines = [line for line in loading.source_lines(factory.source_order_id) if line.item_type == orders.SKU]
    return {line.sku_code: f"/line_items/{line.pk}" for line in reversed(lines) if line.sku_code}


def _option_copy(option: LineItemOption, line: LineItem) -> LineItemOption:
    """A line item option of the source, on the target's copy of its line, at the amounts the source had
    (frozen, as the line's price)."""
    return new_row(
        LineItemOption,
        line_item=line,
        sku_option_id=option.sku_option_id,
        name=option.name,
        quantity=option.quantity,
        currency_code=option.currency_code,
        unit_amount_cents=option.unit_amount_cents,
        total_amount_cents=option.total_amount_cents,
        delay_hours=option.delay_hours,
        delay_days=option.delay_days,
        options=option.options,
    )


def _report_dropped_methods(factory: OrderFactory, dropped: orders.DroppedMethods, notes: Log) -> None:
    """A shipping method of the source that no longer applies to the target (its zone, its weight range,
    its tiers): the copy fails, unless ``skip_errors``, when it goes on without it (the shipment takes the
    market's default method where that applies) and says so, as an invalid coupon under
    ``ignore_invalid_coupon``. Raised after the target was written: the copy's transaction rolls back whole."""
    if not dropped:
        return
    if not factory.skip_errors:
        raise DomainError(
            Problem(ShippingErrorCode.SHIPPING_METHOD_UNAVAILABLE, "shipping_method", f"{method.name}: {why}")
            for method, why in dropped
        )
    for method, why in dropped:
        notes.setdefault("shipping_method", []).append(f"{method.name}: {why}: dropped from the copy")


def _as_it_was(line: LineItem, target: Order, **more: Any) -> LineItem:
    """A line of the source that the target takes at the amounts the source had (an adjustment, a frozen
    promotion): its kind, item, name, quantity and amounts, and ``more``."""
    return new_row(
        LineItem,
        order=target,
        item_type=line.item_type,
        item_id=line.item_id,
        name=line.name,
        quantity=line.quantity,
        currency_code=line.currency_code,
        unit_amount_cents=line.unit_amount_cents,
        total_amount_cents=line.total_amount_cents,
        **more,
    )


def _adjustment_items(items: list[plan.PlanItem], target: Order, currency_code: str | None) -> list[LineItem]:
    """A run's adjustment items as the target's adjustment lines, at the items' amounts (one query, none
    without them)."""
    if not items:
        return []
    from orderfactory.adjustments.models import Adjustment

    found = Adjustment.objects.in_bulk([item.adjustment_id for item in items])
    return [
        LineItem(
            order=target,
            item_type=orders.ADJUSTMENT_LINE,
            item_id=item.adjustment_id,
            adjustment=found[item.adjustment_id],
            name=found[item.adjustment_id].name,
            quantity=item.quantity,
            currency_code=currency_code,
            unit_amount_cents=item.unit_amount_cents,
            total_amount_cents=(item.unit_amount_cents or 0) * item.quantity,
        )
        for item in items
        if item.adjustment_id in found
    ]


def _skus(sku_ids: list[str | None]) -> dict[str | None, Any]:
    from orderfactory.catalog.models import Sku

    return {sku.pk: sku for sku in Sku.objects.filter(pk__in=sku_ids)}


def _use_wallet_entry(entry: Any, target: Order) -> None:
    """The target pays with its own copy of the wallet entry's payment source."""
    from orderfactory.customers.services import payment_source_of
    from orderfactory.payments.services import clone_payment_source

    source_payment = payment_source_of(entry)
    if source_payment is None:
        return
    copy = clone_payment_source(source_payment, order_id=target.pk, customer_payment_source_id=entry.pk)
    orders.own_payment_source(target, copy)
    if entry.payment_method_id:
        target.payment_method_id = entry.payment_method_id


def _reuse_wallet(source: Order, target: Order) -> None:
    """The target gets its own payment source of the same type and data, when the source's payment source is
    in the customer's wallet; otherwise it has none."""
    from orderfactory.customers.services import wallet_entry_for
    from orderfactory.payments.services import clone_payment_source

    if not source.payment_source_type or not source.payment_source_id:
        return
    # The wallet first: a payment source that is not in it is not read at all.
    entry = wallet_entry_for(source.payment_source_type, source.payment_source_id)
    if entry is None or (source.customer_id and entry.customer_id != source.customer_id):
        return
    source_payment = orders.payment_source_of(source)
    if source_payment is None:
        return
    copy = clone_payment_source(source_payment, order_id=target.pk, customer_payment_source_id=entry.pk)
    orders.own_payment_source(target, copy)


def _source_shipping_methods(read: loading.CopySource) -> orders.PreferredMethods:
    """The shipping methods the source's shipments chose, by (stock location, shipping category): rebuilt
    shipments keep them where they still apply."""
    return {
        (s.stock_location_id, s.shipping_category_id): s.shipping_method
        for s in read.chosen_methods
        if s.shipping_method is not None
    }
