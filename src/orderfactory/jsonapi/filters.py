"""``filter[q][...]``: Ransack-style predicates, as Commerce Layer speaks them.

A key is ``<attribute expression>_<predicate>``. The attribute expression is an attribute of the resource,
an association path through declared relationships (``market_code``, ``source_order_number``), or several of
those joined by ``_or_`` / ``_and_``. Only filterable attributes and relationships are reachable. Values are
text: lists are comma-separated, datetimes ISO-8601, booleans true/false, ``jcont`` takes a JSON document.

Parsing (``parse_condition``) never touches the database; ``Condition.q()`` builds the Django ``Q``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from typing import Any

import orjson
from django.db import models
from django.db.models import Q

from orderfactory.jsonapi import errors, registry
from orderfactory.jsonapi import resource as r

MAX_DEPTH = 3
MAX_LIST = 100

# Base predicates: name -> (Django lookup or builder, takes a list)
_SCALAR: dict[str, Callable[[str, Any], Q]] = {
    "eq": lambda p, v: Q(**{p: v}),
    "not_eq": lambda p, v: Q(**{f"{p}__isnull": False}) & ~Q(**{p: v}),
    "lt": lambda p, v: Q(**{f"{p}__lt": v}),
    "lteq": lambda p, v: Q(**{f"{p}__lte": v}),
    "gt": lambda p, v: Q(**{f"{p}__gt": v}),
    "gteq": lambda p, v: Q(**{f"{p}__gte": v}),
    "matches": lambda p, v: Q(**{f"{p}__of_like": v}),
    "does_not_match": lambda p, v: Q(**{f"{p}__isnull": False}) & ~Q(**{f"{p}__of_like": v}),
    "start": lambda p, v: Q(**{f"{p}__istartswith": v}),
    "not_start": lambda p, v: Q(**{f"{p}__isnull": False}) & ~Q(**{f"{p}__istartswith": v}),
    "end": lambda p, v: Q(**{f"{p}__iendswith": v}),
    "not_end": lambda p, v: Q(**{f"{p}__isnull": False}) & ~Q(**{f"{p}__iendswith": v}),
    "cont": lambda p, v: Q(**{f"{p}__icontains": v}),
    "not_cont": lambda p, v: Q(**{f"{p}__isnull": False}) & ~Q(**{f"{p}__icontains": v}),
}
_TEXT_ONLY = {"matches", "does_not_match", "start", "not_start", "end", "not_end", "cont", "not_cont"}

# Compound predicates over a list of values: (base predicate, combinator)
_LISTS: dict[str, tuple[str, Callable[[Q, Q], Q]]] = {}
for _base in (
    "eq",
    "lt",
    "lteq",
    "gt",
    "gteq",
    "matches",
    "start",
    "end",
    "cont",
    "does_not_match",
    "not_start",
    "not_end",
    "not_cont",
):
    _LISTS[f"{_base}_any"] = (_base, operator.or_)
    _LISTS[f"{_base}_all"] = (_base, operator.and_)
_LISTS["not_eq_all"] = ("not_eq", operator.and_)
_LISTS["not_eq_any"] = ("not_eq", operator.or_)
_LISTS["not_cont_all"] = ("not_cont", operator.and_)

_MEMBERSHIP = {"in", "not_in", "not_in_or_null"}
_PRESENCE = {"present", "blank", "null", "not_null", "true", "false"}
_JSON = {"jcont"}

PREDICATES: tuple[str, ...] = tuple(
    sorted(set(_SCALAR) | set(_LISTS) | _MEMBERSHIP | _PRESENCE | _JSON, key=len, reverse=True)
)


@dataclass(frozen=True)
class Path:
    lookup: str  # ORM path
    attr: r.Attr
    to_many: bool


@dataclass
class Condition:
    key: str
    predicate: str
    paths: list[Path]
    combinator: str  # "or" | "and"
    value: Any  # parsed per predicate; None means "ignored" (blank value, as Ransack does)

    @property
    def to_many(self) -> bool:
        return any(p.to_many for p in self.paths)

    def q(self) -> Q:
        parts = [_build(self.predicate, p, self.value) for p in self.paths]
        return reduce(operator.or_ if self.combinator == "or" else operator.and_, parts)


def _invalid_filter(key: str) -> errors.ApiError:
    return errors.ApiError(
        400,
        "FILTER_NOT_ALLOWED",
        "Filter not allowed",
        f"{key} is not allowed.",
        parameter=f"filter[q][{key}]",
    )


def _invalid_value(key: str, value: str) -> errors.ApiError:
    shown = value if len(value) <= 60 else value[:57] + "..."
    return errors.ApiError(
        400,
        "INVALID_FILTER_VALUE",
        "Invalid filter value",
        f"{shown} is not a valid value for {key}.",
        parameter=f"filter[q][{key}]",
    )


def parse_condition(resource: type[r.Resource], key: str, value: str) -> Condition:
    for predicate in PREDICATES:
        suffix = "_" + predicate
        if not key.endswith(suffix) or len(key) == len(suffix):
            continue
        resolved = _resolve_expression(resource, key[: -len(suffix)])
        if resolved is None:
            continue
        paths, combinator = resolved
        return Condition(key, predicate, paths, combinator, _parse_value(key, predicate, paths, value))
    raise _invalid_filter(key)


def _resolve_expression(resource: type[r.Resource], text: str) -> tuple[list[Path], str] | None:
    single = resolve_path(resource, text)
    if single is not None:
        return [single], "or"
    for sep, combinator in (("_or_", "or"), ("_and_", "and")):
        if sep in text:
            parts = [resolve_path(resource, t) for t in text.split(sep)]
            if parts and all(p is not None for p in parts):
                return [p for p in parts if p is not None], combinator
    return None


def resolve_path(resource: type[r.Resource], name: str, depth: int = 0) -> Path | None:
    """Resolve an attribute name or association path to an ORM lookup, or None."""
    if not name or depth > MAX_DEPTH:
        return None
    attr = resource.attribute(name)
    if attr is not None and attr.filterable and attr.lookup is not None:
        return Path(attr.lookup, attr, False)
    for rel in resource.all_relationships():
        if not rel.filterable or not name.startswith(rel.name + "_"):
            continue
        rest = name[len(rel.name) + 1 :]
        if isinstance(rel, r.ToOne) and rel.column is None:
            continue  # computed relationship: nothing to join
        if rel.polymorphic:
            if rest == "id" and isinstance(rel, r.ToOne) and rel.column:
                return Path(rel.column, r.String("id", "Ff"), False)
            if rest == "type" and isinstance(rel, r.ToOne) and rel.type_column:
                return Path(rel.type_column, r.String("type", "Ff"), False)
            continue
        target = registry.get(rel.targets[0])
        if target is None:
            if rest == "id" and isinstance(rel, r.ToOne) and rel.column:
                return Path(rel.column, r.String("id", "Ff"), False)
            continue
        sub = resolve_path(target, rest, depth + 1)
        if sub is not None:
            lookup = (
                rel.column
                if (isinstance(rel, r.ToOne) and sub.lookup == "id" and rel.column)
                else f"{rel.lookup}__{sub.lookup}"
            )
            return Path(lookup, sub.attr, sub.to_many or rel.to_many)
    return None


def _parse_value(key: str, predicate: str, paths: list[Path], value: str) -> Any:
    attr = paths[0].attr
    if predicate in _PRESENCE:
        try:
            return r.Boolean("x").parse_filter(value) if value.strip() else None
        except ValueError:
            raise _invalid_value(key, value) from None
    if value == "":
        return None
    if predicate in _JSON:
        if not isinstance(attr, (r.Object, r.Array)):
            raise _invalid_filter(key)
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            raise _invalid_value(key, value) from None
    if isinstance(attr, (r.Object, r.Array)):
        raise _invalid_filter(key)
    base = _LISTS[predicate][0] if predicate in _LISTS else predicate
    if base in _TEXT_ONLY and not isinstance(attr, r.String):
        raise _invalid_filter(key)
    try:
        if predicate in _LISTS or predicate in _MEMBERSHIP:
            items = value.split(",")
            if len(items) > MAX_LIST:
                raise ValueError("too many values")
            return [_coerce(a, base, item) for item in items for a in [attr]]
        return _coerce(attr, base, value)
    except (ValueError, OverflowError):
        raise _invalid_value(key, value) from None


def _coerce(attr: r.Attr, predicate: str, text: str) -> Any:
    if predicate in _TEXT_ONLY:
        return text
    return attr.parse_filter(text)


def _build(predicate: str, path: Path, value: Any) -> Q:
    if value is None:
        return Q()
    p = path.lookup
    if predicate in _SCALAR:
        return _SCALAR[predicate](p, value)
    if predicate in _LISTS:
        base, combine = _LISTS[predicate]
        return reduce(combine, (_SCALAR[base](p, v) for v in value))
    if predicate == "in":
        return Q(**{f"{p}__in": value})
    if predicate == "not_in":
        return Q(**{f"{p}__isnull": False}) & ~Q(**{f"{p}__in": value})
    if predicate == "not_in_or_null":
        return Q(**{f"{p}__isnull": True}) | ~Q(**{f"{p}__in": value})
    if predicate == "jcont":
        return Q(**{f"{p}__of_jcont": value})
    if predicate in ("null", "not_null"):
        return Q(**{f"{p}__isnull": value == (predicate == "null")})
    if predicate in ("present", "blank"):
        present = (
            Q(**{f"{p}__isnull": False}) & ~Q(**{p: ""})
            if isinstance(path.attr, r.String)
            else Q(**{f"{p}__isnull": False})
        )
        return present if value == (predicate == "present") else ~present
    if predicate in ("true", "false"):
        wanted = predicate == "true"
        return Q(**{p: wanted}) if value else ~Q(**{p: wanted})
    raise AssertionError(predicate)


# --- lookups the ORM lacks --------------------------------------------------------------------------------


@models.CharField.register_lookup
@models.TextField.register_lookup
class Like(models.Lookup):
    """Ransack ``matches``: the caller's own LIKE pattern, case-insensitive on every backend."""

    lookup_name = "of_like"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        op = "ILIKE" if connection.vendor == "postgresql" else "LIKE"
        return f"{lhs} {op} {rhs}", [*lhs_params, *rhs_params]


@models.JSONField.register_lookup
class JsonContains(models.Lookup):
    """``jcont``: JSON containment, ``@>`` on PostgreSQL and an equivalent function on SQLite."""

    lookup_name = "of_jcont"

    def get_prep_lookup(self) -> Any:
        return self.rhs

    def process_rhs(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return "%s", [orjson.dumps(self.rhs).decode()]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} @> {rhs}::jsonb", [*lhs_params, *rhs_params]
        return f"of_json_contains({lhs}, {rhs}) = 1", [*lhs_params, *rhs_params]
