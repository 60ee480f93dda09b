"""``filter[q][...]``: Ransack-style predicates, as Commerce Layer speaks them.

A key is ``<attribute expression>_<predicate>``. The attribute expression is an attribute of the resource,
an association path through declared relationships (``market_code``, ``source_order_number``), or several of
those joined by ``_or_`` / ``_and_``. Only filterable attributes and relationships are reachable. Values are
text: lists are comma-separated, datetimes ISO-8601, booleans true/false, ``jcont`` takes a JSON document.

As in Ransack, a blank value drops the condition (``filter[q][name_eq]=`` filters nothing), and so do the
blank items of a list (``name_in=a,`` is ``name_in=a``).

A datetime value names the whole millisecond it falls in, the precision documents render timestamps with: a
``created_at`` copied from a document finds its row with ``created_at_eq`` and excludes it with
``created_at_gt``, although the column keeps microseconds.

Through a to-many relationship a row matches when one of its related rows does, negated predicates included
(``inventory_stock_locations_priority_not_eq=1``: some location has another priority), and a row with no
related rows is NULL there: Ransack's LEFT OUTER JOIN semantics. The view filters by a subquery of ids, so a
row is listed once however many related rows match. A to-many relationship that no Django relation joins (the
related rows name their parent in a column of theirs: ``reverse``) is a subquery of the related resource's own
rows, with the same semantics.

Parsing (``parse_condition``) never touches the database; ``Condition.q()`` builds the Django ``Q``.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import reduce
from typing import Any

import orjson
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models, transaction
from django.db.models import Q
from psycopg import sql as psycopg_sql

from orderfactory.jsonapi import errors, registry
from orderfactory.jsonapi import resource as r

MAX_DEPTH = 3
MAX_LIST = 100

# Base predicates over one value.
_SCALAR: dict[str, Callable[[str, Any], Q]] = {
    "eq": lambda p, v: Q(**{p: v}),
    "not_eq": lambda p, v: Q(**{f"{p}__isnull": False}) & ~Q(**{p: v}),
    "lt": lambda p, v: Q(**{f"{p}__lt": v}),
    "lteq": lambda p, v: Q(**{f"{p}__lte": v}),
    "gt": lambda p, v: Q(**{f"{p}__gt": v}),
    "gteq": lambda p, v: Q(**{f"{p}__gte": v}),
    "matches": lambda p, v: Q(**{f"{p}__of_like": v}),
    "does_not_match": lambda p, v: Q(**{f"{p}__isnull": False}) & ~Q(**{f"{p}__of_like": v}),
    "start": lambda p, v: Q(**{f"{p}__of_like": f"{_literal(v)}%"}),
    "not_start": lambda p, v: Q(**{f"{p}__isnull": False}) & ~Q(**{f"{p}__of_like": f"{_literal(v)}%"}),
    "end": lambda p, v: Q(**{f"{p}__of_like": f"%{_literal(v)}"}),
    "not_end": lambda p, v: Q(**{f"{p}__isnull": False}) & ~Q(**{f"{p}__of_like": f"%{_literal(v)}"}),
    "cont": lambda p, v: Q(**{f"{p}__of_like": f"%{_literal(v)}%"}),
    "not_cont": lambda p, v: Q(**{f"{p}__isnull": False}) & ~Q(**{f"{p}__of_like": f"%{_literal(v)}%"}),
}
# Ransack's case-insensitive ``i_cont`` (the dashboard apps search with ``name_i_cont``) is ``cont``, which is
# case-insensitive already.
_SCALAR["i_cont"] = _SCALAR["cont"]
_SCALAR["not_i_cont"] = _SCALAR["not_cont"]
_TEXT_ONLY = {"matches", "does_not_match", "start", "not_start", "end", "not_end", "cont", "not_cont"}
_TEXT_ONLY |= {"i_cont", "not_i_cont"}

_MILLISECOND = dt.timedelta(milliseconds=1)
_LAST_MILLISECOND = dt.datetime.max.replace(tzinfo=dt.UTC) - _MILLISECOND
# The comparisons of a datetime value ``v`` standing for the millisecond [v, v + 1 ms).
_DATETIME: dict[str, Callable[[str, dt.datetime], Q]] = {
    "eq": lambda p, v: Q(**{f"{p}__gte": v, f"{p}__lt": v + _MILLISECOND}),
    "not_eq": lambda p, v: Q(**{f"{p}__lt": v}) | Q(**{f"{p}__gte": v + _MILLISECOND}),
    "lt": lambda p, v: Q(**{f"{p}__lt": v}),
    "lteq": lambda p, v: Q(**{f"{p}__lt": v + _MILLISECOND}),
    "gt": lambda p, v: Q(**{f"{p}__gte": v + _MILLISECOND}),
    "gteq": lambda p, v: Q(**{f"{p}__gte": v}),
}

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
    "i_cont",
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
_LISTS["not_i_cont_all"] = ("not_i_cont", operator.and_)

_MEMBERSHIP = {"in", "not_in", "not_in_or_null"}
_PRESENCE = {"present", "blank", "null", "not_null"}
_BOOLEAN = {"true", "false"}
_JSON = {"jcont"}

PREDICATES: tuple[str, ...] = tuple(
    sorted(set(_SCALAR) | set(_LISTS) | _MEMBERSHIP | _PRESENCE | _BOOLEAN | _JSON, key=len, reverse=True)
)

_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")


@dataclass(frozen=True)
class Path:
    lookup: str  # ORM path
    attr: r.Attr
    to_many: bool
    # Through a to-many relationship that no Django relation joins: ``lookup`` is the key of the row (e.g.
    # ``pk``), matched against the ``reverse`` column of the rows of ``target`` that satisfy ``inner``.
    target: type[r.Resource] | None = None
    reverse: str | None = None
    inner: Path | None = None


@dataclass
class Condition:
    key: str
    predicate: str
    paths: list[Path]
    combinator: str  # "or" | "and"
    values: list[Any]  # one per path, parsed for its attribute; None drops that path (a blank value)

    @property
    def value(self) -> Any:
        """The parsed value, or None when the condition is dropped (its value is blank)."""
        return next((v for v in self.values if v is not None), None)

    @property
    def to_many(self) -> bool:
        return any(p.to_many for p in self.paths)

    def q(self) -> Q:
        parts = [_build(self.predicate, p, v) for p, v in zip(self.paths, self.values, strict=True)]
        return reduce(operator.or_ if self.combinator == "or" else operator.and_, parts)


def searches(conditions: list[Condition]) -> bool:
    """Whether a condition is a LIKE pattern (``Like``): a substring filter the trigram indexes may serve."""
    return any(
        (_LISTS[c.predicate][0] if c.predicate in _LISTS else c.predicate) in _TEXT_ONLY
        for c in conditions
        if c.value is not None
    )


@contextmanager
def planned_for_the_tenant(conditions: list[Condition]) -> Iterator[None]:
    """On PostgreSQL, the statements of a list with a substring filter are planned for their values, the
    organization's included (``force_custom_plan``, until the transaction ends), never generically. The
    trigram indexes hold every organization's text (docs/decisions.md, "Scale"): a generic plan, which cannot
    tell a small organization from a big one, read a big neighbour's matches through them for a 10-row
    organization; planned for its organization it walks its own rows, and a big organization is planned with
    its own figures. One statement more (the SET; a transaction of its own needs no savepoint)."""
    if connection.vendor != "postgresql" or not searches(conditions):
        yield
        return
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        yield


def _invalid_filter(key: str) -> errors.ApiError:
    return errors.ApiError(
        400,
        "FILTER_NOT_ALLOWED",
        "Filter not allowed",
        f"{key} is not allowed.",
        parameter=f"filter[q][{key}]",
    )


def invalid_value(key: str, value: str) -> errors.ApiError:
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
        for path in paths:
            if not applies(predicate, path.attr):
                raise _invalid_filter(key)
        values = [_parse_value(key, predicate, path.attr, value) for path in paths]
        return Condition(key, predicate, paths, combinator, values)
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
        # An expression is aliased on the listed rows only (query.aliases): none on joined rows.
        return Path(attr.lookup, attr, False) if attr.expression is None or depth == 0 else None
    for rel in resource.all_relationships():
        if not rel.filterable or not name.startswith(rel.name + "_"):
            continue
        rest = name[len(rel.name) + 1 :]
        if isinstance(rel, r.ToOne) and rel.column is None and rel.lookup is None:
            continue  # computed relationship: nothing to join
        joins = rel.joins if isinstance(rel, r.ToOne) else None
        if rel.polymorphic and isinstance(rel, r.ToOne) and joins is None:
            if rest == "id" and rel.column:
                return Path(rel.column, r.String("id", "Ff"), False)
            if rest == "type" and rel.type_column:
                return Path(rel.type_column, r.String("type", "Ff"), False)
            continue
        # a polymorphic relationship's kinds share the rows of the resource that lists them all
        target = registry.get(rel.listed_as if isinstance(rel, r.ToMany) else (joins or rel.targets[0]))
        if target is None:
            if rest == "id" and isinstance(rel, r.ToOne) and rel.column:
                return Path(rel.column, r.String("id", "Ff"), False)
            continue
        sub = resolve_path(target, rest, depth + 1)
        if sub is not None and isinstance(rel, r.ToMany) and not _joinable(resource, rel):
            if rel.reverse is None:
                continue
            return Path("pk", sub.attr, False, target, rel.reverse, sub)
        if sub is not None:
            lookup = (
                rel.column
                if (isinstance(rel, r.ToOne) and sub.lookup == "id" and rel.column)
                else f"{rel.lookup}__{sub.lookup}"
            )
            return Path(lookup, sub.attr, sub.to_many or rel.to_many)
    return None


def _joinable(resource: type[r.Resource], rel: r.Rel) -> bool:
    """Whether the resource's model has the Django relation the relationship's filters join through."""
    if rel.lookup is None:
        return False
    try:
        resource.model._meta.get_field(rel.lookup.split("__", 1)[0])
    except FieldDoesNotExist:
        return False
    return True


def applies(predicate: str, attr: r.Attr) -> bool:
    """Whether a predicate means anything for an attribute of this type (Ransack would compare nonsense)."""
    if predicate in _PRESENCE:
        return True
    if isinstance(attr, (r.Object, r.Array)):
        return predicate in _JSON
    if predicate in _JSON:
        return False
    if predicate in _BOOLEAN:
        return isinstance(attr, r.Boolean)
    base = _LISTS[predicate][0] if predicate in _LISTS else predicate
    return base not in _TEXT_ONLY or isinstance(attr, r.String)


def _parse_value(key: str, predicate: str, attr: r.Attr, value: str) -> Any:
    """The value for one attribute of the condition, or None when it is blank (the condition is dropped)."""
    flag = predicate in _PRESENCE or predicate in _BOOLEAN
    if value == "" or (not value.strip() and (flag or not isinstance(attr, r.String))):
        return None
    try:
        if flag:
            return r.Boolean("flag").parse_filter(value)
        if predicate in _JSON:
            return _json_document(value)
        base = _LISTS[predicate][0] if predicate in _LISTS else predicate
        if predicate in _LISTS or predicate in _MEMBERSHIP:
            items = [item for item in value.split(",") if item != ""]
            if len(items) > MAX_LIST:
                raise ValueError("too many values")
            return [_coerce(attr, base, item) for item in items] or None
        return _coerce(attr, base, value)
    except (ValueError, OverflowError):
        raise invalid_value(key, value) from None


def _coerce(attr: r.Attr, predicate: str, text: str) -> Any:
    if predicate in _TEXT_ONLY:
        return text
    if isinstance(attr, r.Integer) and not _INTEGER.fullmatch(text.strip()):
        raise ValueError("not an integer")
    value = attr.parse_filter(text)
    if isinstance(value, dt.datetime):
        value = value.replace(microsecond=value.microsecond // 1000 * 1000)
        if value > _LAST_MILLISECOND:
            raise ValueError("the millisecond has no end")  # the comparisons add 1 ms to the value
    return value


def _json_document(text: str) -> Any:
    """A ``jcont`` value: any JSON document but null that a JSON attribute could hold (resource.json_problem)."""
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ValueError("not JSON") from None
    if document is None:
        raise ValueError("null contains nothing")
    if r.json_problem(document) is not None:
        raise ValueError("not storable")
    return document


def _compare(base: str, path: Path, value: Any) -> Q:
    if isinstance(path.attr, r.Datetime) and base in _DATETIME:
        return _DATETIME[base](path.lookup, value)
    return _SCALAR[base](path.lookup, value)


def _literal(text: str) -> str:
    """``text`` as a LIKE pattern that matches it literally (backslash escapes, as ``Like`` declares)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _build(predicate: str, path: Path, value: Any) -> Q:
    if value is None:
        return Q()
    if path.inner is not None:
        return _through(predicate, path, value)
    p = path.lookup
    if predicate in _SCALAR:
        return _compare(predicate, path, value)
    if predicate in _LISTS:
        base, combine = _LISTS[predicate]
        return reduce(combine, (_compare(base, path, v) for v in value))
    if predicate in _MEMBERSHIP:
        member = (
            reduce(operator.or_, (_compare("eq", path, v) for v in value))
            if isinstance(path.attr, r.Datetime)
            else Q(**{f"{p}__in": value})
        )
        if predicate == "in":
            return member
        if predicate == "not_in":
            return Q(**{f"{p}__isnull": False}) & ~member
        return Q(**{f"{p}__isnull": True}) | ~member
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
    if predicate in _BOOLEAN:
        wanted = predicate == "true"
        # Ransack: ``active_true=false`` is ``active != true``, which no NULL satisfies.
        return Q(**{p: wanted}) if value else Q(**{f"{p}__isnull": False}) & ~Q(**{p: wanted})
    raise AssertionError(predicate)


def _through(predicate: str, path: Path, value: Any) -> Q:
    """A row matches when one of its related rows does; a row with none is the NULL row of Ransack's LEFT
    OUTER JOIN, which only the predicates true of NULL match."""
    assert path.target is not None and path.reverse is not None and path.inner is not None
    related = path.target.queryset()
    matching = related.filter(_build(predicate, path.inner, value)).values(path.reverse)
    q = Q(**{f"{path.lookup}__in": matching})
    if _true_of_null(predicate, value):
        linked = related.filter(**{f"{path.reverse}__isnull": False}).values(path.reverse)
        q |= ~Q(**{f"{path.lookup}__in": linked})
    return q


def _true_of_null(predicate: str, value: Any) -> bool:
    """Whether the condition holds for a NULL value (as ``_build`` writes it in SQL)."""
    if predicate in ("null", "blank"):
        return value is True
    if predicate in ("not_null", "present"):
        return value is False
    return predicate == "not_in_or_null"


# --- lookups the ORM lacks --------------------------------------------------------------------------------


@models.CharField.register_lookup
@models.TextField.register_lookup
class Like(models.Lookup):
    """A LIKE pattern (Ransack ``matches``, and ``start``/``end``/``cont`` as patterns), case-insensitive on
    every backend, with backslash escaping ``%``, ``_`` and itself on both (PostgreSQL's default, which SQLite
    must be told).

    On PostgreSQL it is ``ILIKE``, which the trigram indexes of the searched columns serve (docs/decisions.md,
    "Scale"), or a plain ``LIKE`` when no character of the pattern has a case (``caseless``: digits and
    punctuation, an order number, ``999``): the same rows, without ILIKE's lowercasing of both sides of every row
    it reads, most of what a search of many matches costs. The same index serves both. The pattern is written
    into the statement, quoted by psycopg, not sent as a parameter: a prepared statement's generic plan cannot
    see a parameter, so it would guess how many rows match and walk the tenant's whole index for a rare
    substring; a written pattern is planned for what it is."""

    lookup_name = "of_like"

    @staticmethod
    def pattern(value: str) -> str:
        # A final backslash that escapes nothing stands for itself (PostgreSQL refuses such a pattern, SQLite
        # matches nothing with it): doubled, it means the same on both.
        trailing = len(value) - len(value.rstrip("\\"))
        return value + "\\" if trailing % 2 else value

    @staticmethod
    def caseless(pattern: str) -> bool:
        """Whether lowercasing cannot change what ``pattern`` matches: when it is ASCII without a letter. No
        character lowercases to a digit or an ASCII sign (Unicode's case mappings), and a database's libc
        locale lowercases one character to one (``_`` still matches one), so ``ILIKE`` (``lower(text) LIKE
        lower(pattern)``) and ``LIKE`` match the same rows, as SQLite's ``LIKE`` (ASCII letters folded) does."""
        return pattern.isascii() and not any(c.isalpha() for c in pattern)

    def get_db_prep_lookup(self, value: Any, connection: Any) -> tuple[str, list[Any]]:
        return "%s", [self.pattern(value)]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if connection.vendor == "postgresql":
            connection.ensure_connection()  # quoted for this connection's settings, as PostgreSQL reads it
            text = self.pattern(str(self.rhs))
            pattern = psycopg_sql.quote(text, connection.connection).replace("%", "%%")
            return f"{lhs} {'LIKE' if self.caseless(text) else 'ILIKE'} {pattern}", list(lhs_params)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs} ESCAPE '\\'", [*lhs_params, *rhs_params]


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
