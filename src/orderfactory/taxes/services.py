"""Tax writes: calculators (manual and external), tax rules and tax categories. Each is one transaction that
checks the whole row and reports every problem at once (core.errors.DomainError)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import regex
from django.db import models, transaction

from orderfactory.catalog.models import Sku
from orderfactory.core import hooks, outbound
from orderfactory.core.errors import CommonErrorCode, ErrorCode, Problem, Problems
from orderfactory.taxes.error_codes import TaxErrorCode
from orderfactory.taxes.models import EXTERNAL, MANUAL, TaxCalculator, TaxCategory, TaxRule, new_shared_secret

M = TypeVar("M", bound=models.Model)

# Commerce Layer's limit on a tax rule's regular expressions.
MAX_REGEX_LENGTH = 5000
REGEX_COLUMNS = (
    "country_code_regex",
    "not_country_code_regex",
    "state_code_regex",
    "not_state_code_regex",
    "zip_code_regex",
    "not_zip_code_regex",
)
URL_MAX_LENGTH = 2048


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _relationship(problems: Problems, name: str, message: str, code: ErrorCode, **meta: Any) -> None:
    problems.found.append(Problem(code, name, message, f"/data/relationships/{name}", meta))


def _required(problems: Problems, instance: models.Model, *columns: str) -> None:
    for column in columns:
        if _blank(getattr(instance, column)):
            problems.add(column, "can't be blank", CommonErrorCode.BLANK)


def _save(instance: M, changes: dict[str, Any], check: Callable[[M, Problems], None]) -> M:
    """Create (an unsaved ``instance``) or update a row with ``changes`` (column -> value), if it is valid."""
    with transaction.atomic():
        for column, value in changes.items():
            setattr(instance, column, value)
        problems = Problems()
        check(instance, problems)
        problems.raise_if_any()
        instance.save()
    return instance


# --- calculators ------------------------------------------------------------------------------------------


def _manual_problems(calculator: TaxCalculator, problems: Problems) -> None:
    _required(problems, calculator, "name")


def save_manual_tax_calculator(
    calculator: TaxCalculator, changes: dict[str, Any], *, tax_rules: list[TaxRule] | None = None
) -> TaxCalculator:
    """Create (an unsaved ``calculator``) or update a manual tax calculator. ``tax_rules`` (the relationship,
    when sent) move to it: a rule belongs to one calculator, so the rules it had and that are not listed stay
    its own (there is no calculator to leave them to)."""
    with transaction.atomic():
        calculator = _save(calculator, {**changes, "type": MANUAL}, _manual_problems)
        if tax_rules:
            for rule in tax_rules:
                # Each move is a write of the rule: recorded in its trail and fired as tax_rules.update.
                with hooks.recording("tax_rules", rule, only_if_changed=True):
                    rule.tax_calculator_id = calculator.pk
                    rule.save(update_fields=["tax_calculator"])
    return calculator


def url_problem(url: Any) -> str | None:
    """Why a calculator URL may not be stored: too long, or refused by the outbound rules (core.outbound)."""
    if not isinstance(url, str) or len(url) > URL_MAX_LENGTH:
        return "is invalid"
    return outbound.problem(url)


def _external_problems(calculator: TaxCalculator, problems: Problems) -> None:
    _required(problems, calculator, "name", "tax_calculator_url")
    url = calculator.tax_calculator_url
    if not _blank(url) and (why := url_problem(url)):
        problems.add("tax_calculator_url", why, TaxErrorCode.INVALID, value=url)


def save_external_tax_calculator(
    calculator: TaxCalculator,
    changes: dict[str, Any],
    *,
    reset_circuit: bool = False,
    regenerate_shared_secret: bool = False,
) -> TaxCalculator:
    """Create (an unsaved ``calculator``, which gets a new shared secret) or update an external tax calculator,
    with the triggers ``_reset_circuit`` (closes the circuit, zeroes the failure count) and
    ``_regenerate_shared_secret``. Its URL passes the outbound rules, as webhooks' and gateways' do."""
    changes = {**changes, "type": EXTERNAL}
    if calculator._state.adding and not calculator.shared_secret:
        changes["shared_secret"] = new_shared_secret()
    if reset_circuit:
        changes.update(circuit_state="closed", circuit_failure_count=0)
    if regenerate_shared_secret:
        changes["shared_secret"] = new_shared_secret()
    return _save(calculator, changes, _external_problems)


# --- tax rules --------------------------------------------------------------------------------------------


def regex_problem(pattern: str) -> tuple[ErrorCode, str, dict[str, Any]] | None:
    """Why a tax rule's regular expression may not be stored, or None."""
    if len(pattern) > MAX_REGEX_LENGTH:
        return (
            TaxErrorCode.TOO_LONG,
            f"is too long (maximum is {MAX_REGEX_LENGTH} characters)",
            {"count": MAX_REGEX_LENGTH},
        )
    try:
        regex.compile(pattern)
    except (regex.error, ValueError, OverflowError, RecursionError):
        return TaxErrorCode.INVALID, "is not a valid regular expression", {}
    return None


def _rule_problems(rule: TaxRule, problems: Problems) -> None:
    _required(problems, rule, "name")
    if not rule.tax_calculator_id:
        _relationship(problems, "manual_tax_calculator", "can't be blank", CommonErrorCode.BLANK)
    rate = rule.tax_rate
    if rate is None:
        problems.add("tax_rate", "can't be blank", CommonErrorCode.BLANK)
    elif rate < 0:
        problems.add(
            "tax_rate", "must be greater than or equal to 0", TaxErrorCode.GREATER_THAN_OR_EQUAL_TO, count=0
        )
    elif rate > 1:
        problems.add(
            "tax_rate", "must be less than or equal to 1", TaxErrorCode.LESS_THAN_OR_EQUAL_TO, count=1
        )
    for column in REGEX_COLUMNS:
        pattern = getattr(rule, column)
        if pattern is not None and (found := regex_problem(pattern)):
            code, message, meta = found
            problems.add(column, message, code, **meta)


def save_tax_rule(rule: TaxRule, changes: dict[str, Any]) -> TaxRule:
    """Create (an unsaved ``rule``) or update a tax rule of a manual tax calculator. A rate is a fraction
    (0.22 for 22%), from 0 to 1; an empty regular expression is no condition."""
    changes = dict(changes)
    if changes.get("tax_rate") is not None:
        changes["tax_rate"] = Decimal(str(changes["tax_rate"]))
    elif "tax_rate" in changes:
        changes["tax_rate"] = Decimal(0)  # Commerce Layer's default, also when sent as null
    for column in REGEX_COLUMNS:
        if column in changes and _blank(changes[column]):
            changes[column] = None
    return _save(rule, changes, _rule_problems)


# --- tax categories ---------------------------------------------------------------------------------------


def _category_problems(category: TaxCategory, problems: Problems) -> None:
    _required(problems, category, "code")
    if not category.sku_id and "sku_code" not in {p.attribute for p in problems.found}:
        _relationship(problems, "sku", "can't be blank", CommonErrorCode.BLANK)
    if not category.tax_calculator_id:
        _relationship(problems, "tax_calculator", "can't be blank", CommonErrorCode.BLANK)
    if (
        category.sku_id
        and category.tax_calculator_id
        and TaxCategory.objects.filter(tax_calculator_id=category.tax_calculator_id, sku_id=category.sku_id)
        .exclude(pk=category.pk)
        .exists()
    ):
        _relationship(problems, "sku", "has already been taken", CommonErrorCode.TAKEN, value=category.sku_id)


def save_tax_category(category: TaxCategory, changes: dict[str, Any]) -> TaxCategory:
    """Create (an unsaved ``category``) or update a tax category. ``sku_code`` names the SKU by its code
    instead of the ``sku`` relationship (and wins over it), as prices' does."""
    changes = dict(changes)
    unknown_code = None
    if "sku_code" in changes:
        code = changes.pop("sku_code")
        if not _blank(code):
            sku_id = Sku.objects.filter(code=code).values_list("pk", flat=True).first()
            if sku_id is None:
                unknown_code = code
            else:
                changes["sku_id"] = sku_id

    def check(category: TaxCategory, problems: Problems) -> None:
        if unknown_code is not None:
            problems.add("sku_code", "is invalid", TaxErrorCode.INVALID, value=unknown_code)
        _category_problems(category, problems)

    return _save(category, changes, check)
