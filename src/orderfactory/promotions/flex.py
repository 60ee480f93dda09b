"""Flex promotions: a subset of Commerce Layer's Rules Engine order rules (its public DSL: rules with
``conditions`` and ``actions``), evaluated in memory on the order being priced, so a copy's unwritten target is
matched too. What is served (docs/compatibility.md); any other key, matcher, field or action is refused when
the promotion is written (422 ``invalid`` on ``rules``), never ignored:

    {"rules": [{"name": "...", "conditions_logic": "and" | "or",
                "conditions": [{"field": "order.<attribute>" | "order.line_items.<attribute>",
                                "matcher": "...", "value": ..., "group": "..."}],
                "actions": [{"type": "percentage" | "fixed_amount",
                             "selector": "order" | "order.line_items", "value": ..., "groups": ["..."]}]}]}

A line item condition holds when some SKU line matches, and names those lines ``group``. An action applies
when its rule's conditions hold (every one, or any with ``or``), to the SKU lines of its ``groups`` (every SKU
line without): ``percentage`` takes ``value`` (a fraction, 0.1 for 10%) of each line's amount, rounded half
up; ``fixed_amount`` takes ``value`` cents per unit of each line item (``order.line_items``), or once, split
over the lines in proportion to their amounts (``order``). The rules apply in their order, each action on what
the earlier ones left, never below zero.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from orderfactory.promotions.conditions import LINE_ATTRIBUTES, ORDER_ATTRIBUTES


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _compare(op: Callable[[Decimal, Decimal], bool]) -> Callable[[Any, Any], bool]:
    def check(actual: Any, expected: Any) -> bool:
        a, e = _number(actual), _number(expected)
        return a is not None and e is not None and op(a, e)

    return check


def _between(low_op: Callable[[Decimal, Decimal], bool], high_op: Callable[[Decimal, Decimal], bool]) -> Any:
    def check(actual: Any, expected: Any) -> bool:
        if not isinstance(expected, list) or len(expected) != 2:
            return False
        a, low, high = _number(actual), _number(expected[0]), _number(expected[1])
        return None not in (a, low, high) and low_op(a, low) and high_op(a, high)  # type: ignore[arg-type]

    return check


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    a, e = _number(actual), _number(expected)
    if a is not None and e is not None and not isinstance(actual, str):
        return a == e
    return actual is not None and _text(actual) == _text(expected)


def _regex(actual: Any, expected: Any) -> bool:
    try:
        return re.search(str(expected), _text(actual)) is not None
    except re.error:
        return False


def _multiple(actual: Any, expected: Any) -> bool:
    a, e = _number(actual), _number(expected)
    return a is not None and e is not None and e != 0 and a % e == 0


def _in(actual: Any, expected: Any) -> bool:
    return isinstance(expected, list) and any(_same(actual, v) for v in expected)


MATCHERS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": _same,
    "not_eq": lambda a, e: a is not None and not _same(a, e),
    "lt": _compare(lambda a, e: a < e),
    "lteq": _compare(lambda a, e: a <= e),
    "gt": _compare(lambda a, e: a > e),
    "gteq": _compare(lambda a, e: a >= e),
    "multiple": _multiple,
    "matches": _regex,
    "does_not_match": lambda a, e: not _regex(a, e),
    "start_with": lambda a, e: _text(a).startswith(str(e)),
    "not_start_with": lambda a, e: not _text(a).startswith(str(e)),
    "end_with": lambda a, e: _text(a).endswith(str(e)),
    "not_end_with": lambda a, e: not _text(a).endswith(str(e)),
    "gt_lt": _between(lambda a, b: a > b, lambda a, b: a < b),
    "gteq_lt": _between(lambda a, b: a >= b, lambda a, b: a < b),
    "gt_lteq": _between(lambda a, b: a > b, lambda a, b: a <= b),
    "gteq_lteq": _between(lambda a, b: a >= b, lambda a, b: a <= b),
    "is_in": _in,
    "is_not_in": lambda a, e: not _in(a, e),
    "null": lambda a, e: a is None,
    "not_null": lambda a, e: a is not None,
    "present": lambda a, e: _text(a).strip() != "",
    "blank": lambda a, e: _text(a).strip() == "",
}
# ``order.line_items.sku.code`` is the Rules Engine's path to a line's SKU code.
_LINE_ALIASES = {"sku.code": "sku_code", "bundle.code": "bundle_code"}
ACTION_TYPES = ("percentage", "fixed_amount")
SELECTORS = ("order", "order.line_items")
_RULE_KEYS = {"id", "name", "conditions_logic", "conditions", "actions"}
_CONDITION_KEYS = {"field", "matcher", "value", "group"}
_ACTION_KEYS = {"type", "selector", "value", "groups"}


def _field(path: Any) -> tuple[bool, str] | None:
    """``order.line_items.sku_code`` -> (True, "sku_code"); None for a field not served."""
    if not isinstance(path, str) or not path.startswith("order."):
        return None
    rest = path.removeprefix("order.")
    if rest.startswith("line_items."):
        name = rest.removeprefix("line_items.")
        name = _LINE_ALIASES.get(name, name)
        return (True, name) if name in LINE_ATTRIBUTES else None
    return (False, rest) if rest in ORDER_ATTRIBUTES else None


def _condition_problems(where: str, condition: Any) -> list[str]:
    if not isinstance(condition, dict):
        return [f"{where} is not an object"]
    found = [f"{where}.{key} is not supported" for key in condition if key not in _CONDITION_KEYS]
    if _field(condition.get("field")) is None:
        found.append(f"{where}.field {condition.get('field')!r} is not supported")
    if condition.get("matcher") not in MATCHERS:
        found.append(f"{where}.matcher {condition.get('matcher')!r} is not supported")
    return found


def _action_problems(where: str, action: Any) -> list[str]:
    if not isinstance(action, dict):
        return [f"{where} is not an object"]
    found = [f"{where}.{key} is not supported" for key in action if key not in _ACTION_KEYS]
    if action.get("type") not in ACTION_TYPES:
        found.append(f"{where}.type {action.get('type')!r} is not supported")
    if action.get("selector") not in SELECTORS:
        found.append(f"{where}.selector {action.get('selector')!r} is not supported")
    value = _number(action.get("value"))
    if value is None or value < 0 or (action.get("type") == "percentage" and value > 1):
        found.append(f"{where}.value is not a discount (a fraction from 0 to 1, or cents)")
    groups = action.get("groups")
    if groups is not None and not (isinstance(groups, list) and all(isinstance(g, str) for g in groups)):
        found.append(f"{where}.groups is not a list of group names")
    return found


def problems(rules: Any) -> list[str]:
    """What is not served in ``rules`` (empty when all of it is)."""
    listed = rules.get("rules") if isinstance(rules, dict) else None
    if not isinstance(listed, list) or not listed or set(rules) != {"rules"}:
        return ["must be an object with a non-empty list of rules under rules"]
    found: list[str] = []
    for i, rule in enumerate(listed):
        where = f"rules[{i}]"
        if not isinstance(rule, dict):
            found.append(f"{where} is not an object")
            continue
        found += [f"{where}.{key} is not supported" for key in rule if key not in _RULE_KEYS]
        if rule.get("conditions_logic", "and") not in ("and", "or"):
            found.append(f"{where}.conditions_logic must be and or or")
        conditions, actions = rule.get("conditions", []), rule.get("actions")
        if not isinstance(conditions, list):
            found.append(f"{where}.conditions is not a list")
        else:
            for j, condition in enumerate(conditions):
                found += _condition_problems(f"{where}.conditions[{j}]", condition)
        if not isinstance(actions, list) or not actions:
            found.append(f"{where}.actions is not a non-empty list")
        else:
            for j, action in enumerate(actions):
                found += _action_problems(f"{where}.actions[{j}]", action)
    return found


def _holds(
    rule: Mapping[str, Any], order: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]
) -> tuple[bool, dict[str, set[int]]]:
    """Whether the rule's conditions hold, and the lines (by position) each group names."""
    groups: dict[str, set[int]] = {}
    outcomes = []
    for condition in rule.get("conditions", []):
        parsed = _field(condition["field"])
        assert parsed is not None  # refused when written
        on_lines, name = parsed
        check = MATCHERS[condition["matcher"]]
        expected = condition.get("value")
        if on_lines:
            matched = {i for i, line in enumerate(lines) if check(line.get(name), expected)}
            if condition.get("group"):
                groups.setdefault(condition["group"], set()).update(matched)
            outcomes.append(bool(matched))
        else:
            outcomes.append(check(order.get(name), expected))
    holds = any(outcomes) if rule.get("conditions_logic") == "or" else all(outcomes)
    return holds, groups


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def shares(
    rules: Any,
    order: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    remaining: Sequence[int],
    left: int,
    split: Callable[[int, Sequence[int]], list[int]],
) -> list[int]:
    """Each SKU line's discount (positive cents, in the order of ``lines``), never more than what is left of a
    line (``remaining``) nor of the order (``left``)."""
    taken = [0] * len(remaining)
    rest = list(remaining)
    if problems(rules):
        return taken
    for rule in rules["rules"]:
        holds, groups = _holds(rule, order, lines)
        if not holds:
            continue
        for action in rule["actions"]:
            targets = (
                set().union(*(groups.get(g, set()) for g in action["groups"]))
                if action.get("groups")
                else set(range(len(lines)))
            )
            value = _number(action["value"]) or Decimal(0)
            wanted = [0] * len(rest)
            if action["type"] == "percentage":
                for i in targets:
                    wanted[i] = _round(Decimal(int(lines[i].get("total_amount_cents") or 0)) * value)
            elif action["selector"] == "order":
                weights = [rest[i] if i in targets else 0 for i in range(len(rest))]
                wanted = split(min(_round(value), sum(weights)), weights)
            else:
                for i in targets:
                    wanted[i] = _round(value) * int(lines[i].get("quantity") or 0)
            for i, cents in enumerate(wanted):
                cents = min(cents, rest[i], left - sum(taken))
                if cents > 0:
                    taken[i] += cents
                    rest[i] -= cents
    return taken
