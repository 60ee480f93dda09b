"""SKU lists, their items, bundles and SKU options: their writes, every problem reported at once, and what the
orders read of them: the SKUs of bundles (``bundle_parts``, one query for any number of bundles) and whether
an option applies to a SKU (``applies_to``), and the options of SKUs (``options_of_skus``: skus.sku_options)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import regex
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils.text import slugify

from orderfactory.addresses.matching import MAX_REGEX_LENGTH, REGEX_TIMEOUT_SECONDS
from orderfactory.catalog.error_codes import ShippingErrorCode
from orderfactory.catalog.models import Bundle, Market, Price, Sku, SkuList, SkuListItem, SkuOption
from orderfactory.catalog.services import (
    invalid_currency,
    missing,
    negative,
    required,
    resolve_sku_code,
    save,
    taken_together,
)
from orderfactory.catalog.shipping import days
from orderfactory.core.errors import CommonErrorCode, DomainError, Problem, problem


def regex_problems(pattern: str | None, column: str = "sku_code_regex") -> list[Problem]:
    if not pattern:
        return []
    if len(pattern) > MAX_REGEX_LENGTH:
        message = f"is too long (maximum is {MAX_REGEX_LENGTH} characters)"
        return [problem(column, message, CommonErrorCode.TOO_LONG, count=MAX_REGEX_LENGTH)]
    try:
        regex.compile(pattern)
    except (regex.error, ValueError, OverflowError, RecursionError):
        return [problem(column, "is not a valid regular expression", CommonErrorCode.INVALID)]
    return []


def code_matches(pattern: str | None, code: str) -> bool:
    """Whether a SKU code is one that ``pattern`` describes: a search, as Ruby's ``=~`` (addresses.matching);
    no pattern describes every code. A pattern past the time limit describes none."""
    if not pattern:
        return True
    try:
        return regex.search(pattern, code, timeout=REGEX_TIMEOUT_SECONDS) is not None
    except TimeoutError:
        raise DomainError.of(
            ShippingErrorCode.REGEX_TIMEOUT, "sku_code_regex", "took too long to match the SKU code"
        ) from None


# --- SKU lists and their items ----------------------------------------------------------------------------


def sku_list_problems(sku_list: SkuList) -> list[Problem]:
    found = required(sku_list, "name") + regex_problems(sku_list.sku_code_regex)
    if not sku_list.manual and not sku_list.sku_code_regex:
        found.append(
            problem("sku_code_regex", "can't be blank unless the list is manual", CommonErrorCode.BLANK)
        )
    if not sku_list.manual and not sku_list._state.adding and sku_list.bundles.exists():
        found.append(
            problem("manual", "must be true: a bundle sells the list's items", CommonErrorCode.INVALID)
        )
    return found


def save_sku_list(sku_list: SkuList, changes: dict[str, Any]) -> SkuList:
    """The slug follows the name."""
    for column, value in changes.items():
        setattr(sku_list, column, value)
    sku_list.slug = slugify(sku_list.name or "")
    return save(sku_list, {}, sku_list_problems)


def sku_list_item_problems(item: SkuListItem) -> list[Problem]:
    found = (
        missing(item, "sku_list", "sku")
        + negative(item, "position")
        + taken_together(item, ("sku_list_id", "sku_id"), "sku")
    )
    if item.quantity is None or item.quantity <= 0:
        found.append(
            problem(
                "quantity",
                "must be greater than 0",
                CommonErrorCode.GREATER_THAN,
                count=0,
                value=item.quantity,
            )
        )
    if item.sku_list_id and not SkuList.objects.filter(pk=item.sku_list_id, manual=True).exists():
        found.append(
            problem(
                "sku_list",
                "must be manual: a list by regular expression has no items",
                pointer="/data/relationships/sku_list",
            )
        )
    return found


def save_sku_list_item(item: SkuListItem, changes: dict[str, Any]) -> SkuListItem:
    """``changes`` may name the SKU by ``sku_code``; a new item without a position goes last."""
    unknown_code = resolve_sku_code(changes)
    if unknown_code:
        raise DomainError(unknown_code)
    with transaction.atomic():
        for column, value in changes.items():
            setattr(item, column, value)
        if item.quantity is None:
            item.quantity = 1
        if item.position is None or (item._state.adding and "position" not in changes):
            item.position = SkuListItem.objects.filter(sku_list_id=item.sku_list_id).count() + 1
        return save(item, {}, sku_list_item_problems)


# --- bundles ----------------------------------------------------------------------------------------------


def _inherit_currency(row: Bundle | SkuOption) -> None:
    if not row.currency_code and row.market_id:
        row.currency_code = (
            Market.objects.filter(pk=row.market_id)
            .values_list("price_list__currency_code", flat=True)
            .first()
        )


def _code_taken(bundle: Bundle) -> list[Problem]:
    if not bundle.code:
        return []
    same = Bundle.objects.filter(code=bundle.code, market_id=bundle.market_id).exclude(pk=bundle.pk)
    if not same.exists():
        return []
    return [problem("code", "has already been taken", CommonErrorCode.TAKEN, value=bundle.code)]


def bundle_problems(bundle: Bundle) -> list[Problem]:
    found = (
        required(bundle, "code", "name", "currency_code", "price_amount_cents")
        + missing(bundle, "sku_list")
        + invalid_currency(bundle)
        + negative(bundle, "price_amount_cents", "compare_at_amount_cents")
        + _code_taken(bundle)
    )
    if bundle.sku_list_id and not SkuList.objects.filter(pk=bundle.sku_list_id, manual=True).exists():
        found.append(
            problem(
                "sku_list",
                "must be manual: a bundle sells the list's items",
                pointer="/data/relationships/sku_list",
            )
        )
    return found


def _sum_of_prices(bundle: Bundle, column: str) -> int | None:
    """The prices of the bundle's SKUs in its market's price list times their quantities (a SKU without a
    compare-at amount counts at its amount); None when it has no market or a SKU has no price there."""
    if not bundle.market_id or not bundle.sku_list_id:
        return None
    price_list_id = Market.objects.filter(pk=bundle.market_id).values_list("price_list_id", flat=True).first()
    items = list(SkuListItem.objects.filter(sku_list_id=bundle.sku_list_id).values_list("sku_id", "quantity"))
    prices = {
        sku_id: (compare_at if column == "compare_at" and compare_at is not None else amount)
        for sku_id, amount, compare_at in Price.objects.filter(
            price_list_id=price_list_id, sku_id__in=[sku_id for sku_id, _ in items]
        ).values_list("sku_id", "amount_cents", "compare_at_amount_cents")
    }
    if not items or any(sku_id not in prices for sku_id, _ in items):
        return None
    return sum(prices[sku_id] * quantity for sku_id, quantity in items)


def save_bundle(bundle: Bundle, changes: dict[str, Any], triggers: dict[str, Any]) -> Bundle:
    """The currency is the market's when not given; ``_compute_price_amount`` and
    ``_compute_compare_at_amount`` set the amounts to the sum of the SKUs' prices in the market."""
    with transaction.atomic():
        for column, value in changes.items():
            setattr(bundle, column, value)
        _inherit_currency(bundle)
        found: list[Problem] = []
        for trigger, column, kind in (
            ("_compute_price_amount", "price_amount_cents", "amount"),
            ("_compute_compare_at_amount", "compare_at_amount_cents", "compare_at"),
        ):
            if not triggers.get(trigger):
                continue
            total = _sum_of_prices(bundle, kind)
            if total is None:
                found.append(problem(trigger, "needs a market whose price list prices every SKU of the list"))
            else:
                setattr(bundle, column, total)
        if found:
            raise DomainError(found)
        return save(bundle, {}, bundle_problems)


@dataclass(frozen=True)
class Part:
    """One SKU of a bundle, and how many of it one bundle holds."""

    sku: Sku
    quantity: int


def bundle_parts(bundle_ids: Iterable[str | None]) -> dict[str, list[Part]]:
    """The SKUs of each bundle (its list's items, in position order) with their quantities: one query."""
    ids = sorted({b for b in bundle_ids if b})
    if not ids:
        return {}
    parts: dict[str, list[Part]] = defaultdict(list)
    items = (
        SkuListItem.objects.filter(sku_list__bundles__id__in=ids)
        .select_related("sku")
        .annotate(bundle_id=F("sku_list__bundles__id"))
        .order_by("position", "created_at", "id")
    )
    for item in items:
        parts[item.bundle_id].append(Part(item.sku, item.quantity))
    return parts


def bundle_for(code: str, *, market_id: str | None, currency_code: str | None) -> Bundle | None:
    """The bundle a line of ``code`` takes in a market: the market's own, else one of no market in the
    market's currency."""
    found = list(
        Bundle.objects.filter(
            Q(market_id=market_id) | Q(market__isnull=True, currency_code=currency_code), code=code
        )
    )
    return next((b for b in found if b.market_id), None) or next(iter(found), None)


# --- SKU options ------------------------------------------------------------------------------------------


def sku_option_problems(option: SkuOption) -> list[Problem]:
    return (
        required(option, "name", "currency_code")
        + invalid_currency(option)
        + negative(option, "price_amount_cents", "delay_hours")
        + regex_problems(option.sku_code_regex)
    )


def save_sku_option(option: SkuOption, changes: dict[str, Any]) -> SkuOption:
    """The currency is the market's when not given; the days are the hours, rounded (as lead times')."""
    with transaction.atomic():
        for column, value in changes.items():
            setattr(option, column, value)
        _inherit_currency(option)
        if option.price_amount_cents is None:
            option.price_amount_cents = 0
        if option.delay_hours is None:
            option.delay_hours = 0
        option.delay_days = days(option.delay_hours) or 0
        return save(option, {}, sku_option_problems)


def applies_to(option: SkuOption, sku_code: str | None) -> bool:
    return bool(sku_code) and code_matches(option.sku_code_regex, sku_code or "")


def options_of_skus(options: QuerySet, sku_ids: Sequence[str]) -> QuerySet:
    """skus.sku_options: of ``options`` (the caller's), those that apply to each SKU, one row per option and SKU
    with the SKU as ``_parent_id``. The expressions are matched here, as a line item option's are
    (``applies_to``): SQL's regular expressions are not the same on both databases. Two reads (the SKUs'
    codes, the options' expressions), then the options joined to the SKUs they apply to, by pairs."""
    codes = dict(Sku.objects.filter(pk__in=list(sku_ids)).values_list("pk", "code"))
    pairs = [
        f"{option_id}/{sku_id}"
        for option_id, pattern in options.values_list("pk", "sku_code_regex")
        for sku_id, code in codes.items()
        if _describes(pattern, code)
    ]
    if not pairs:
        return options.none()
    q = connection.ops.quote_name
    sku, option = q(Sku._meta.db_table), q(SkuOption._meta.db_table)
    # A join Django's ORM cannot express (no relation between the tables): the SKUs' table in FROM, the pairs
    # matched in Python as the condition, bound as parameters.
    return options.extra(
        select={"_parent_id": f"{sku}.{q('id')}"},
        tables=[Sku._meta.db_table],
        where=[f"({option}.{q('id')} || '/' || {sku}.{q('id')}) IN ({', '.join(['%s'] * len(pairs))})"],
        params=pairs,
    )


def _describes(pattern: str | None, code: str) -> bool:
    """``code_matches`` for a read: a pattern past the time limit describes no SKU (a write reports it)."""
    try:
        return code_matches(pattern, code)
    except DomainError:
        return False
