"""Previews of order copies (an extension, docs/compatibility.md): the target as the copy would build it now,
built by the copy's own code (factories.building) inside a savepoint that is rolled back, so nothing of it is
ever committed (docs/decisions.md, "Copy previews"); what it showed is kept as an ``OrderCopyPreview`` for a
day. A copy made from a preview takes its options and fails when what the preview showed no longer holds."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from orderfactory.core import clock
from orderfactory.core.errors import DomainError, Problem, Problems, blank
from orderfactory.factories import failures
from orderfactory.factories.error_codes import FactoryErrorCode
from orderfactory.factories.models import COPY_OPTIONS, OrderCopyPreview, OrderFactory
from orderfactory.orders.models import Order

LIFE = dt.timedelta(hours=24)


class _Discarded(Exception):
    """Rolls the preview's savepoint back: the target it built is never committed."""


def create_preview(columns: dict[str, Any]) -> OrderCopyPreview:
    """Build the copy of the source with ``columns``' options, keep what it showed, discard the target."""
    if not columns.get("source_order_id"):
        raise DomainError([blank("source_order", relationship=True)])
    source = (
        Order.objects.select_related(
            "market",
            "market__default_shipping_method",
            "payment_method",
            "billing_address",
            "shipping_address",
        )
        .filter(pk=columns["source_order_id"])
        .first()
    )
    if source is None or source.archived_at is not None:
        raise DomainError.of(
            FactoryErrorCode.SOURCE_ORDER_UNAVAILABLE,
            "source_order",
            "is archived" if source is not None else "no longer exists",
            pointer="/data/relationships/source_order",
        )
    preview = OrderCopyPreview(**columns, expires_at=clock.now() + LIFE)
    factory = OrderFactory(
        type="order_copies", source_order=source, **{o: getattr(preview, o) for o in COPY_OPTIONS}
    )
    _dry_run(factory, source, preview)
    preview.save()
    return preview


def _dry_run(factory: OrderFactory, source: Order, preview: OrderCopyPreview) -> None:
    """The copy, built and checked as placing would check it, in a savepoint rolled back at the end: the
    preview gets what it showed."""
    from orderfactory.factories.building import build_target
    from orderfactory.orders import services as orders

    notes = failures.Notes(facts=True)
    preview.currency_code = source.currency_code
    preview.source_subtotal_amount_cents = source.subtotal_amount_cents or 0
    preview.source_total_amount_cents = source.total_amount_cents or 0
    preview.source_discount_amount_cents = source.discount_amount_cents or 0
    preview.coupon_code = source.coupon_code
    preview.promotions_outcome = "reapplied" if factory.apply_promotions else "frozen"
    log: failures.Log = {}
    codes: failures.Codes = {}
    lines: failures.Lines = {}
    try:
        with transaction.atomic():
            try:
                target = build_target(factory, notes)
            except DomainError as exc:
                log, codes, lines = failures.reasons(exc, _pointers(notes))
                preview.status, preview.placeable = "failed", False
                preview.coupon_outcome = "invalid" if "coupon_code" in log else None
                raise _Discarded from None
            preview.subtotal_amount_cents = target.subtotal_amount_cents
            preview.total_amount_cents = target.total_amount_cents
            preview.discount_amount_cents = target.discount_amount_cents
            if source.coupon_code:
                preview.coupon_outcome = "kept" if target.coupon_code else "dropped"
            problems = Problems()
            orders.check_placeable(target, problems)
            preview.placeable = not problems
            preview.status = "completed"
            if problems:
                failure = DomainError(problems.found)
                log, codes, lines = failures.reasons(failure, _pointers(notes))
                if factory.place_target_order and not factory.skip_errors:
                    preview.status = "failed"
            raise _Discarded
    except _Discarded:
        pass
    preview.line_items = [fact.as_json() for fact in notes.facts or []]
    log = failures.merge(dict(notes), log)
    codes = {"coupon_code": FactoryErrorCode.COUPON_DROPPED, **codes}
    preview.errors_log = log
    preview.errors_details = failures.details(log, codes, {**notes.lines, **lines})


def purge_expired(now: dt.datetime | None = None) -> int:
    """Delete the expired previews of every tenant (a periodic job): hidden since they expired, now gone.
    One still named by a copy waiting to run is kept until that copy ends: its copy must fail with
    ``preview_expired``, not lose its preview (``SET_NULL``) and copy unchecked. Returns how many it deleted."""
    waited_on = OrderFactory.unscoped.filter(
        status__in=("pending", "in_progress"), preview__isnull=False
    ).values("preview_id")
    expired = OrderCopyPreview.unscoped.filter(expires_at__lte=now or clock.now()).exclude(pk__in=waited_on)
    return expired.delete()[1].get(OrderCopyPreview._meta.label, 0)


def _pointers(notes: failures.Notes) -> dict[str, str]:
    return {fact.sku_code: fact.pointer for fact in reversed(notes.facts or []) if fact.sku_code}


# --- a copy made from a preview ---------------------------------------------------------------------------


def options_for_copy(columns: dict[str, Any]) -> dict[str, Any]:
    """The columns of a copy made from a preview: its source must be the preview's, and its options are the
    preview's (one given that differs is refused)."""
    preview = OrderCopyPreview.objects.get(pk=columns["preview_id"])
    pointer = "/data/relationships/preview"
    if preview.expires_at <= clock.now():
        raise DomainError.of(FactoryErrorCode.PREVIEW_EXPIRED, "preview", "has expired", pointer=pointer)
    problems = []
    if columns.get("source_order_id") != preview.source_order_id:
        problems.append(
            Problem(FactoryErrorCode.PREVIEW_MISMATCH, "source_order", "is not the preview's source order")
        )
    for option in COPY_OPTIONS:
        if option in columns and columns[option] != getattr(preview, option):
            problems.append(
                Problem(
                    FactoryErrorCode.PREVIEW_MISMATCH,
                    option,
                    f"must be the preview's ({getattr(preview, option)})",
                )
            )
    if problems:
        raise DomainError(problems)
    return {**columns, **{option: getattr(preview, option) for option in COPY_OPTIONS}}


def check_still_holds(factory: OrderFactory, facts: list[Any], target: Order) -> None:
    """Refuse the copy (in its transaction, which rolls back) when its preview has expired or what it
    showed no longer holds: a line's outcome, quantity or unit price, or the total."""
    preview = OrderCopyPreview.objects.filter(pk=factory.preview_id).first()
    if preview is None or preview.expires_at <= clock.now():
        raise DomainError.of(FactoryErrorCode.PREVIEW_EXPIRED, "preview", "has expired")
    shown = {line["pointer"]: line for line in preview.line_items}
    problems = []
    for fact in facts:
        was = shown.pop(fact.pointer, None)
        changed = _changes(was, fact.as_json())
        if changed:
            problems.append(
                Problem(
                    FactoryErrorCode.PREVIEW_OUTDATED,
                    "line_items",
                    f"{fact.sku_code}: {changed} since the preview",
                    meta={"sku_code": fact.sku_code, "line_pointer": fact.pointer},
                )
            )
    for was in shown.values():
        problems.append(
            Problem(
                FactoryErrorCode.PREVIEW_OUTDATED,
                "line_items",
                f"{was['sku_code']}: no longer in the source",
                meta={"sku_code": was["sku_code"], "line_pointer": was["pointer"]},
            )
        )
    if not problems and target.total_amount_cents != preview.total_amount_cents:
        problems.append(
            Problem(
                FactoryErrorCode.PREVIEW_OUTDATED,
                "preview",
                f"the total is {target.total_amount_cents}, not {preview.total_amount_cents}, since the preview",
            )
        )
    if problems:
        raise DomainError(problems)


def _changes(was: dict[str, Any] | None, now: dict[str, Any]) -> str:
    """What changed of a line since the preview: its outcome (stock that left turns ``copied`` into
    ``out_of_stock``, ``dropped`` or ``reduced``), its quantity, the unit price it is copied at."""
    if was is None:
        return "not in the preview"
    return ", ".join(
        f"{what} {was.get(key)} is now {now.get(key)}"
        for key, what in (
            ("outcome", "outcome"),
            ("quantity", "quantity"),
            ("unit_amount_cents", "unit price"),
        )
        if was.get(key) != now.get(key)
    )
