"""The taxes of an order, from its facts alone: which tax rule of a manual calculator applies to the shipping
address, and each line's tax, rate and breakdown, with the order's totals. Pure: no query, no clock, so the
pricing of orders, a copy and the tests call it alike (docs/decisions.md, "Taxes").

- A rule applies when every regular expression it has for the country, state and zip code finds a match in
  the address's code, and none of its ``not_`` ones does (an expression it does not have is no condition):
  addresses.matching, which shipping zones share.
  The first applicable rule of the calculator, oldest first, is the one.
- Matching is a search, as Ruby's ``=~`` is in Commerce Layer's rules: ``JE1`` matches the zip ``JE1 1AA``;
  anchors (``^JE1$``) say otherwise. An address without a code matches no expression of it, and is excluded
  by none of its ``not_`` ones.
- The taxable base of a line is its amount plus its share of the order's discounts (``discount_cents``,
  zero or negative). SKU and bundle lines are always taxed; shipping lines when the rule's
  ``freight_taxable``, payment method lines when ``payment_method_taxable``, gift card lines when
  ``gift_card_taxable``, positive adjustments when ``adjustment_taxable`` (Commerce Layer: "taxes applied
  to positive adjustments"). Promotion lines and negative adjustments are discounts: they carry no tax of
  their own. A promotion is already inside the lines' ``discount_cents``; a negative adjustment with
  ``distribute_discount`` is spread over the lines the rule taxes (not adjustments), in proportion to their
  bases, before their taxes are computed (``spread``: the parts add up to the adjustment to the cent, and
  no line's base goes below zero); one without it leaves the bases as they are.
- Prices without tax (``tax_included`` false): the tax is added, ``base * rate``. Prices with tax: the tax is
  inside the base and extracted, ``base * rate / (1 + rate)``. Each line's tax is rounded to the cent, half
  up (away from zero), and the totals are sums of the rounded lines, so they add up to the cent.
- A line whose tax category has a rate in ``category_rates`` is taxed at that rate instead of the rule's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from orderfactory.addresses import matching
from orderfactory.core.errors import DomainError
from orderfactory.core.money import to_float
from orderfactory.taxes.error_codes import TaxErrorCode


class LineKind(StrEnum):
    """What a line is, by Commerce Layer's ``item_type``, as far as taxes are concerned."""

    SKU = "skus"
    BUNDLE = "bundles"
    SHIPMENT = "shipments"
    PAYMENT_METHOD = "payment_methods"
    GIFT_CARD = "gift_cards"
    ADJUSTMENT = "adjustments"
    PROMOTION = "promotions"  # any of the ``*_promotions`` item types

    @classmethod
    def of(cls, item_type: str) -> LineKind:
        return cls.PROMOTION if item_type.endswith("_promotions") else cls(item_type)


@dataclass(frozen=True)
class Address:
    country_code: str | None = None
    state_code: str | None = None
    zip_code: str | None = None


@dataclass(frozen=True)
class Rule:
    """A tax rule, as the calculation reads it (``from_row`` reads it from a models.TaxRule)."""

    id: str
    name: str
    tax_rate: Decimal
    freight_taxable: bool = False
    payment_method_taxable: bool = False
    gift_card_taxable: bool = False
    adjustment_taxable: bool = False
    country_code_regex: str | None = None
    not_country_code_regex: str | None = None
    state_code_regex: str | None = None
    not_state_code_regex: str | None = None
    zip_code_regex: str | None = None
    not_zip_code_regex: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Rule:
        return cls(
            id=row.pk,
            name=row.name,
            tax_rate=Decimal(row.tax_rate),
            freight_taxable=row.freight_taxable,
            payment_method_taxable=row.payment_method_taxable,
            gift_card_taxable=row.gift_card_taxable,
            adjustment_taxable=row.adjustment_taxable,
            country_code_regex=row.country_code_regex,
            not_country_code_regex=row.not_country_code_regex,
            state_code_regex=row.state_code_regex,
            not_state_code_regex=row.not_state_code_regex,
            zip_code_regex=row.zip_code_regex,
            not_zip_code_regex=row.not_zip_code_regex,
        )

    def taxes(self, kind: LineKind, base_cents: int) -> bool:
        """Whether a line of this kind and taxable base carries tax under this rule."""
        if kind in (LineKind.SKU, LineKind.BUNDLE):
            return True
        if kind is LineKind.SHIPMENT:
            return self.freight_taxable
        if kind is LineKind.PAYMENT_METHOD:
            return self.payment_method_taxable
        if kind is LineKind.GIFT_CARD:
            return self.gift_card_taxable
        if kind is LineKind.ADJUSTMENT:
            return self.adjustment_taxable and base_cents > 0
        return False


@dataclass(frozen=True)
class Line:
    id: str
    kind: LineKind
    amount_cents: int  # the line's total amount
    discount_cents: int = 0  # its share of the order's discounts: zero or negative
    tax_category_code: str | None = None
    # An adjustment's: its negative amount is spread over the taxed lines' bases (Commerce Layer's default).
    distribute_discount: bool = True


@dataclass(frozen=True)
class Order:
    """The facts of an order that its taxes depend on."""

    currency_code: str
    tax_included: bool
    shipping_address: Address
    lines: Sequence[Line]


@dataclass(frozen=True)
class LineTax:
    id: str
    kind: LineKind
    tax_rate: Decimal  # zero on a line the rule does not tax
    tax_amount_cents: int
    taxable_amount_cents: int  # the base without tax: zero on a line the rule does not tax
    tax_breakdown: dict[str, Any]


@dataclass(frozen=True)
class Taxes:
    """An order's taxes: per line, and the order's totals (each a sum of the rounded lines)."""

    rule: Rule | None  # the manual calculator's rule that applied (None: none did, or an external calculator)
    tax_included: bool
    tax_rate: Decimal  # the order's: the rule's, or the external calculator's global rate
    lines: list[LineTax] = field(default_factory=list)

    def _sum(self, name: str, *kinds: LineKind) -> int:
        return sum(getattr(line, name) for line in self.lines if not kinds or line.kind in kinds)

    @property
    def total_tax_amount_cents(self) -> int:
        return self._sum("tax_amount_cents")

    @property
    def subtotal_tax_amount_cents(self) -> int:
        return self._sum("tax_amount_cents", LineKind.SKU, LineKind.BUNDLE)

    @property
    def shipping_tax_amount_cents(self) -> int:
        return self._sum("tax_amount_cents", LineKind.SHIPMENT)

    @property
    def payment_method_tax_amount_cents(self) -> int:
        return self._sum("tax_amount_cents", LineKind.PAYMENT_METHOD)

    @property
    def adjustment_tax_amount_cents(self) -> int:
        return self._sum("tax_amount_cents", LineKind.ADJUSTMENT)

    @property
    def total_taxable_amount_cents(self) -> int:
        return self._sum("taxable_amount_cents")

    @property
    def subtotal_taxable_amount_cents(self) -> int:
        return self._sum("taxable_amount_cents", LineKind.SKU, LineKind.BUNDLE)

    @property
    def shipping_taxable_amount_cents(self) -> int:
        return self._sum("taxable_amount_cents", LineKind.SHIPMENT)

    @property
    def payment_method_taxable_amount_cents(self) -> int:
        return self._sum("taxable_amount_cents", LineKind.PAYMENT_METHOD)

    @property
    def adjustment_taxable_amount_cents(self) -> int:
        return self._sum("taxable_amount_cents", LineKind.ADJUSTMENT)

    def total_amount_with_taxes_cents(self, total_amount_cents: int) -> int:
        """The order's total with its taxes: the total itself when prices include them."""
        return total_amount_cents + (0 if self.tax_included else self.total_tax_amount_cents)


# --- rule matching ----------------------------------------------------------------------------------------


def matches(rule: Rule, address: Address) -> bool:
    """Whether ``rule`` applies to ``address`` (see the module's docstring)."""
    try:
        return matching.matches(rule, address)
    except matching.RegexTimeout as exc:
        raise DomainError.of(
            TaxErrorCode.REGEX_TIMEOUT,
            "tax_rules",
            f"the {exc.column} of the tax rule {rule.name!r} takes too long to evaluate",
            tax_rule_id=rule.id,
        ) from None


def matching_rule(rules: Iterable[Rule], address: Address) -> Rule | None:
    """The first of ``rules`` (in the calculator's order: oldest first) that applies to ``address``."""
    return next((rule for rule in rules if matches(rule, address)), None)


# --- amounts ----------------------------------------------------------------------------------------------


def round_cents(value: Decimal) -> int:
    """To the cent, half up: away from zero, so a negative line's tax mirrors the positive one's."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_tax(base_cents: int, rate: Decimal, *, tax_included: bool) -> int:
    """The tax of a taxable base: extracted when prices include tax, added when they do not."""
    if tax_included:
        return round_cents(Decimal(base_cents) * rate / (1 + rate))
    return round_cents(Decimal(base_cents) * rate)


def spread(amount_cents: int, weights: Sequence[int]) -> list[int]:
    """``amount_cents`` (zero or negative) over ``weights`` (positive), in proportion to them, each part rounded
    down in size and the cents left given to the parts with the largest remainders (the earliest first on a
    tie), so the parts add up to the amount exactly; an amount larger than the weights' sum takes the sum, so
    no part is larger than its weight."""
    total = sum(weights)
    wanted = min(-amount_cents, total)
    if wanted <= 0:
        return [0] * len(weights)
    parts = [wanted * weight // total for weight in weights]
    left = wanted - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(wanted * weights[i] % total), i))
    for i in by_remainder[:left]:
        parts[i] += 1
    return [-part for part in parts]


def distributed(order: Order, rule: Rule | None) -> dict[str, int]:
    """Each taxed line's share (zero or negative, by line id) of the order's negative adjustments that
    ``distribute_discount`` (see ``spread``): the lines ``rule`` taxes other than adjustments, by their
    bases."""
    amount = sum(
        line.amount_cents
        for line in order.lines
        if line.kind is LineKind.ADJUSTMENT and line.distribute_discount and line.amount_cents < 0
    )
    if rule is None or amount >= 0:
        return {}
    taxed = [
        (line.id, base)
        for line in order.lines
        if line.kind not in (LineKind.ADJUSTMENT, LineKind.PROMOTION)
        and (base := line.amount_cents + line.discount_cents) > 0
        and rule.taxes(line.kind, base)
    ]
    return dict(zip((i for i, _ in taxed), spread(amount, [base for _, base in taxed]), strict=True))


def compute(
    order: Order,
    rules: Iterable[Rule],
    *,
    category_rates: Mapping[str, Decimal] | None = None,
) -> Taxes:
    """The taxes of ``order`` under the first of ``rules`` that applies to its shipping address. Without one,
    nothing is taxed (every line's tax is zero). ``category_rates``: tax category code -> rate."""
    rule = matching_rule(rules, order.shipping_address)
    out = Taxes(
        rule=rule,
        tax_included=order.tax_included,
        tax_rate=rule.tax_rate if rule is not None else Decimal(0),
    )
    shares = distributed(order, rule)
    for line in order.lines:
        base = line.amount_cents + line.discount_cents + shares.get(line.id, 0)
        if rule is None or not rule.taxes(line.kind, base):
            out.lines.append(LineTax(line.id, line.kind, Decimal(0), 0, 0, {}))
            continue
        code = line.tax_category_code
        rate = (
            category_rates[code]
            if category_rates and code is not None and code in category_rates
            else rule.tax_rate
        )
        tax = line_tax(base, rate, tax_included=order.tax_included)
        taxable = base - tax if order.tax_included else base
        breakdown = {
            "tax_rule_id": rule.id,
            "tax_rule_name": rule.name,
            "taxable_amount": to_float(taxable, order.currency_code),
            "tax_collectable": to_float(tax, order.currency_code),
            "combined_tax_rate": float(rate),
        }
        out.lines.append(LineTax(line.id, line.kind, rate, tax, taxable, breakdown))
    return out
