"""``orderfactory copies batch``: an order copy batch from the command line (docs/decisions.md, "Order copy
batches"), made through the same resource adapter and service as ``POST /api/order_copy_batches``, in the
organization and mode named as ``apps create`` names them. ``--wait`` follows it until it ends: a progress bar
with the rate and the time left on a terminal, a plain line every few seconds otherwise, then the outcome
counts; exit status 1 when a source was not copied."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, TextIO

POLL = 0.25  # seconds between two looks at the batch
PLAIN_EVERY = 2.0  # seconds between two progress lines when the output is no terminal
BAR = 30


def add_parser(sub: Any) -> None:
    p = sub.add_parser("copies", help="copy many orders at once (order copy batches)")
    copies_sub = p.add_subparsers(dest="copies_command", required=True)
    b = copies_sub.add_parser(
        "batch",
        help="copy the orders a filter matches, or the given ids, through one order copy batch",
        description="Copy the orders a filter matches (the filter[q] predicates of GET /api/orders), or the "
        "given order ids, through one order copy batch. The worker (serve's, or `orderfactory worker`) makes "
        "the copies.",
    )
    b.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a filter[q] predicate of GET /api/orders, e.g. market_code_eq=EU (repeat for several)",
    )
    b.add_argument("--ids", default=None, help="order ids, comma-separated (instead of --filter)")
    b.add_argument("--place", action="store_true", help="place each copy (place_target_order)")
    b.add_argument("--wait", action="store_true", help="show the progress until the batch ends")
    b.add_argument(
        "--organization",
        default=None,
        help="organization slug (default $ORDERFACTORY_ORGANIZATION or 'demo')",
    )
    b.add_argument("--mode", default="test", choices=["test", "live"], help="default test")
    p.set_defaults(func=cmd_copies)


def _fail(message: str) -> int:
    print(f"orderfactory: {message}", file=sys.stderr)
    return 2


def cmd_copies(args: argparse.Namespace) -> int:
    from django.db import transaction

    from orderfactory.auth.models import Organization
    from orderfactory.core import hooks
    from orderfactory.core import scope as scopes
    from orderfactory.core.errors import DomainError
    from orderfactory.factories.batch_resources import OrderCopyBatchResource
    from orderfactory.factories.models import OrderCopyBatch
    from orderfactory.jsonapi import errors
    from orderfactory.jsonapi.resource import Payload

    slug = args.organization or os.environ.get("ORDERFACTORY_ORGANIZATION") or "demo"
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        return _fail(f"no organization {slug!r}: name one with --organization or ORDERFACTORY_ORGANIZATION")
    attributes: dict[str, Any] = {"place_target_order": bool(args.place)}
    if args.filter:
        conditions = {}
        for item in args.filter:
            key, sep, value = item.partition("=")
            if not sep or not key:
                return _fail(f"--filter {item!r} is not KEY=VALUE (e.g. market_code_eq=EU)")
            conditions[key.strip()] = value
        attributes["orders_filter"] = conditions
    if args.ids is not None:
        attributes["source_order_ids"] = [i.strip() for i in args.ids.split(",") if i.strip()]
    scope = scopes.worker(organization.id, args.mode, "orderfactory-cli")
    with scopes.active(scope):
        try:
            with transaction.atomic():
                batch = OrderCopyBatchResource.create(Payload(attributes=attributes))
                hooks.on_write("create", OrderCopyBatchResource.type, batch, None)
            assert isinstance(batch, OrderCopyBatch)
        except (errors.ApiError, errors.ApiErrors, DomainError) as exc:
            return _fail(_message(exc))
        print(f"order copy batch {batch.pk}: {batch.total_count} orders to copy ({slug}, {args.mode} mode)")
        if not args.wait:
            return 0
        return follow(batch.pk, sys.stdout)


def _message(exc: Exception) -> str:
    from orderfactory.jsonapi import errors

    if not isinstance(exc, errors.ApiError | errors.ApiErrors):
        exc = errors.from_domain(exc)  # type: ignore[arg-type]
    found = exc.errors if isinstance(exc, errors.ApiErrors) else [exc]
    return "; ".join(e.detail for e in found)


def follow(batch_id: str, out: TextIO) -> int:
    """Show the batch's progress until it ends, then its outcome; 1 when a source was not copied."""
    from orderfactory.factories.models import BATCH_FINAL, OrderCopyBatch

    tty = out.isatty()
    started = time.monotonic()
    shown_at = -PLAIN_EVERY
    while True:
        batch = OrderCopyBatch.objects.get(pk=batch_id)
        done = batch.completed_count + batch.failed_count + batch.aborted_count
        final = batch.status in BATCH_FINAL
        now = time.monotonic()
        if tty or final or now - shown_at >= PLAIN_EVERY:
            line = progress(done, batch.total_count, now - started)
            out.write(f"\r{line}\x1b[K" if tty else f"{line}\n")
            out.flush()
            shown_at = now
        if final:
            break
        time.sleep(POLL)
    if tty:
        out.write("\n")
    out.write(
        f"{batch.status}: {batch.completed_count} copied, {batch.failed_count} failed, "
        f"{batch.aborted_count} aborted, of {batch.total_count}\n"
    )
    out.flush()
    return 0 if batch.status == "completed" else 1


def progress(done: int, total: int, elapsed: float) -> str:
    """``[#####.....] 50/100  50%  12.5 copies/s  4s left``."""
    share = done / total if total else 1.0
    filled = round(BAR * share)
    rate = done / elapsed if elapsed > 0 else 0.0
    left = f"{(total - done) / rate:.0f}s left" if rate > 0 and done < total else "--s left"
    if done >= total:
        left = "0s left"
    bar = "#" * filled + "." * (BAR - filled)
    return f"[{bar}] {done}/{total} {share:4.0%}  {rate:.1f} copies/s  {left}"
