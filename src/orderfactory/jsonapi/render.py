"""Rendering JSON:API documents from rows fetched with ``QuerySet.values()``.

Rows, not model instances: building a model per row costs more than the whole document does. Each
include path costs one query, whatever the page size.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast

from django.core.exceptions import FieldDoesNotExist
from django.db import models

from orderfactory.core.prepared import PreparedValues
from orderfactory.jsonapi import commerce_layer, registry
from orderfactory.jsonapi import resource as r

Row = dict[str, Any]

# (attribute name, kind, column, function): kind 0 plain column, 1 column with dump, 2 computed from the row,
# 3 computed from the row of a retrieved resource only (Attr.detail)
_PLAIN, _DUMP, _COMPUTE, _DETAIL = 0, 1, 2, 3


@dataclass(frozen=True)
class Plan:
    columns: tuple[str, ...]
    annotations: tuple[tuple[str, Any], ...]
    attrs: tuple[tuple[str, int, str | None, Callable[[Any], Any] | None], ...]
    rels: tuple[str, ...]


def _none(row: Row) -> None:
    return None


@lru_cache(maxsize=1024)
def plan_for(resource: type[r.Resource], sparse: frozenset[str] | None, linked: frozenset[str]) -> Plan:
    """What to fetch and how to render it, for one resource, sparse fieldset and set of included rels."""
    columns: dict[str, None] = {"id": None}
    annotations: dict[str, Any] = {}
    attrs: list[tuple[str, int, str | None, Callable[[Any], Any] | None]] = []
    for a in resource.all_attributes():
        if not a.fetchable or a.name == "id" or (sparse is not None and a.name not in sparse):
            continue
        if a.expression is not None:
            annotations[a.name] = a.expression
            columns[a.name] = None
            attrs.append((a.name, _PLAIN, a.name, None))
        elif a.trigger:
            attrs.append((a.name, _COMPUTE, None, _none))  # a trigger has no stored value
        elif a.compute is not None:
            for c in a.depends:
                columns[c] = None
            attrs.append((a.name, _DETAIL if a.detail else _COMPUTE, None, a.compute))
        else:
            assert a.column is not None, a.name
            columns[a.column] = None
            dump = type(a).dump is not r.Attr.dump
            attrs.append((a.name, _DUMP if dump else _PLAIN, a.column, a.dump if dump else None))
    rels = []
    for rel in resource.all_relationships():
        if sparse is not None and rel.name not in sparse and rel.name not in linked:
            continue
        rels.append(rel.name)
        if rel.name in linked and isinstance(rel, r.ToOne):
            for c in rel.fetch_columns:
                columns[c] = None
    return Plan(tuple(columns), tuple(annotations.items()), tuple(attrs), tuple(rels))


def fetch(
    resource: type[r.Resource], qs: models.QuerySet, plan: Plan, extra: Sequence[str] = ()
) -> list[Row]:
    return list(_values(qs, plan, extra))


def _values(qs: models.QuerySet, plan: Plan, extra: Sequence[str] = ()) -> models.QuerySet:
    if plan.annotations:
        qs = qs.annotate(**dict(plan.annotations))
    return qs.values(*plan.columns, *extra)


# The row of one resource by key, per (resource, plan), compiled once (core.prepared): every retrieve and
# every write's response reads one. For resources whose queryset is preparable; others build it each time.
_ONE: dict[tuple[type[r.Resource], Plan], PreparedValues] = {}
_ONE_MAX = 1024


def fetch_one(resource: type[r.Resource], pk: str, plan: Plan) -> list[Row]:
    if not resource.preparable():
        return fetch(resource, resource.queryset().filter(pk=pk)[:1], plan)
    prepared = _ONE.get((resource, plan))
    if prepared is None:
        if len(_ONE) >= _ONE_MAX:
            _ONE.clear()
        prepared = _ONE[(resource, plan)] = PreparedValues(
            lambda pk: _values(resource.queryset().filter(pk=pk), plan)[:1]
        )
    return prepared.all(pk=pk)


# The value types a column gives back as the instance that wrote it holds them (None aside), by its field's
# class: what ``row_as_written`` takes from memory. JSON is taken only empty (jsonb orders an object's keys and
# writes numbers its own way), times only in UTC (the database gives them back in UTC).
_TEXT, _WHOLE, _TRUTH, _MOMENT, _JSON = str, int, bool, dt.datetime, dict
_MISSING = object()
_WRITTEN_AS: dict[type[models.Field], type] = {
    models.CharField: _TEXT,
    models.TextField: _TEXT,
    models.IntegerField: _WHOLE,
    models.BigIntegerField: _WHOLE,
    models.SmallIntegerField: _WHOLE,
    models.PositiveIntegerField: _WHOLE,
    models.PositiveSmallIntegerField: _WHOLE,
    models.BooleanField: _TRUTH,
    models.DateTimeField: _MOMENT,
    models.JSONField: _JSON,
}


@functools.cache
def _written_columns(
    model: type[models.Model], columns: tuple[str, ...]
) -> tuple[tuple[str, str, type], ...] | None:
    """(column as ``values()`` names it, attribute of the instance, value type) for each column, or None when
    one is not a plain column of ``model`` of a type in _WRITTEN_AS (a lookup through a relation, a decimal)."""
    out = []
    for column in columns:
        try:
            f = model._meta.get_field(column)
        except FieldDoesNotExist:
            return None
        if not isinstance(f, models.Field) or not f.concrete or f.many_to_many:
            return None
        target = f.target_field if isinstance(f, models.ForeignKey) else f  # a key is its target's type
        kind = _WRITTEN_AS.get(type(target))
        if kind is None:
            return None
        out.append((column, f.attname, kind))
    return tuple(out)


def row_as_written(instance: models.Model, plan: Plan) -> Row | None:
    """The row ``fetch_one`` would read back for ``instance`` just after it wrote it, taken from the instance
    itself when each column's value is what the database gives back (text, integers, booleans, keys, times in
    UTC, empty JSON, None); None when one is not (it must be read)."""
    if plan.annotations:
        return None
    columns = _written_columns(type(instance), plan.columns)
    if columns is None:
        return None
    values: dict[str, Any] = instance.__dict__
    row: Row = {}
    for column, attname, kind in columns:
        value: Any = values.get(attname, _MISSING)
        if value is _MISSING:  # deferred: not in memory
            return None
        if value is not None:
            if kind is _JSON:
                if value != {} and value != []:
                    return None
            elif type(value) is not kind or (
                kind is _MOMENT and cast(dt.datetime, value).utcoffset() != dt.timedelta(0)  # naive: None
            ):
                return None
        row[column] = value
    return row


@dataclass
class Renderer:
    base_url: str
    meta: dict[str, Any]
    sparse: dict[str, set[str]] = field(default_factory=dict)
    included: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    public: bool = False  # a sales channel caller: include only what it may retrieve
    detail: bool = False  # the primary data is one retrieved resource: its detail attributes are computed

    def visible(self, target: type[r.Resource] | None) -> bool:
        return target is not None and (not self.public or "retrieve" in target.sales_channel_actions)

    def plan(self, resource: type[r.Resource], linked: Iterable[str] = ()) -> Plan:
        sparse = self.sparse.get(resource.type)
        # A class is hashable; mypy checks the instance method's signature against Hashable instead.
        return plan_for(resource, frozenset(sparse) if sparse is not None else None, frozenset(linked))  # type: ignore[arg-type]

    def resource_object(
        self, resource: type[r.Resource], row: Row, plan: Plan, *, detail: bool = False
    ) -> dict[str, Any]:
        rid = row["id"]
        # A singleton is served at its type alone (GET /api/organization), its relationships below it.
        self_url = f"{self.base_url}/api/{resource.type}" + ("" if resource.singleton else f"/{rid}")
        attributes: dict[str, Any] = {}
        for name, kind, column, fn in plan.attrs:
            if kind == _PLAIN:
                attributes[name] = row[column]  # type: ignore[index]
            elif kind == _DUMP:
                value = row[column]  # type: ignore[index]
                attributes[name] = fn(value) if value is not None else None  # type: ignore[misc]
            elif kind == _COMPUTE or detail:
                attributes[name] = fn(row)  # type: ignore[misc]
            else:
                attributes[name] = None
        relationships = {
            name: {"links": {"self": f"{self_url}/relationships/{name}", "related": f"{self_url}/{name}"}}
            for name in plan.rels
        }
        return {
            "id": rid,
            "type": resource.type,
            "links": {"self": self_url},
            "attributes": attributes,
            "relationships": relationships,
            "meta": self.meta,
        }

    # --- includes ---------------------------------------------------------------------------------------

    def render_with_includes(
        self, resource: type[r.Resource], qs: models.QuerySet, include: list[tuple[str, ...]]
    ) -> list[dict[str, Any]]:
        """Fetch and render the primary rows of ``qs`` and every include path below them."""
        plan = self.plan(resource, {p[0] for p in include})
        return self._render(resource, fetch(resource, qs, plan), plan, include)

    def render_one_with_includes(
        self, resource: type[r.Resource], pk: str, include: list[tuple[str, ...]]
    ) -> list[dict[str, Any]]:
        """The same for the one row of key ``pk`` (none when the caller cannot see it)."""
        plan = self.plan(resource, {p[0] for p in include})
        return self._render(resource, fetch_one(resource, pk, plan), plan, include)

    def _render(
        self, resource: type[r.Resource], rows: list[Row], plan: Plan, include: list[tuple[str, ...]]
    ) -> list[dict[str, Any]]:
        objects = [self.resource_object(resource, row, plan, detail=self.detail) for row in rows]
        if include:
            self._include_level(resource, list(zip(rows, objects, strict=True)), (), include)
        return objects

    def _include_level(
        self,
        resource: type[r.Resource],
        parents: list[tuple[Row, dict[str, Any]]],
        prefix: tuple[str, ...],
        include: list[tuple[str, ...]],
    ) -> None:
        names = [p[len(prefix)] for p in include if len(p) == len(prefix) + 1 and p[: len(prefix)] == prefix]
        for name in names:
            rel = resource.relationship(name)
            if rel is None:
                # Commerce Layer's but not served: included, with nothing in it; or a path valid for another
                # type of a polymorphic parent
                known = commerce_layer.relationship(resource.type, name)
                if known is not None:
                    for _row, obj in parents:
                        self_url = obj["links"]["self"]
                        obj["relationships"][name] = {
                            "links": {
                                "self": f"{self_url}/relationships/{name}",
                                "related": f"{self_url}/{name}",
                            },
                            "data": [] if known.to_many else None,
                        }
                continue
            path = (*prefix, name)
            deeper = {p[len(path)] for p in include if len(p) > len(path) and p[: len(path)] == path}
            children = self._load_relationship(resource, rel, parents, deeper)
            by_type: dict[str, list[tuple[Row, dict[str, Any]]]] = defaultdict(list)
            for child_type, row, obj in children:
                by_type[child_type].append((row, obj))
            for child_type, pairs in by_type.items():
                target = registry.get(child_type)
                if target is not None and deeper:
                    self._include_level(target, pairs, path, include)

    def _load_relationship(
        self,
        resource: type[r.Resource],
        rel: r.Rel,
        parents: list[tuple[Row, dict[str, Any]]],
        deeper: set[str],
    ) -> list[tuple[str, Row, dict[str, Any]]]:
        """Load the targets of ``rel`` for all parents at once, link them, and add them to ``included``."""
        loaded: list[tuple[str, Row, dict[str, Any]]] = []
        if isinstance(rel, r.ToOne):
            wanted: dict[str, set[str]] = defaultdict(set)
            for row, _obj in parents:
                ident = rel.identifier(row)
                if ident is not None:
                    wanted[ident[0]].add(ident[1])
            found: dict[tuple[str, str], tuple[Row, dict[str, Any]]] = {}
            for type_name, ids in wanted.items():
                target = registry.get(type_name)
                if target is None or not self.visible(target):
                    continue
                plan = self.plan(target, deeper)
                qs = target.queryset().filter(pk__in=ids)
                if rel.annotate is not None:
                    qs = rel.annotate(qs, [row for row, _obj in parents])
                for row in fetch(target, qs, plan):
                    obj = self._remember(target, row, plan)
                    found[(type_name, row["id"])] = (row, obj)
                    loaded.append((type_name, row, obj))
            for row, obj in parents:
                ident = rel.identifier(row)
                linkage = {"type": ident[0], "id": ident[1]} if ident and ident in found else None
                obj["relationships"].setdefault(rel.name, {})["data"] = linkage
            return loaded
        assert isinstance(rel, r.ToMany)
        from orderfactory.jsonapi.query import order_by

        parent_ids = [row["id"] for row, _ in parents]
        groups: dict[str, list[tuple[Any, dict[str, str]]]] = defaultdict(list)
        # the kinds of a polymorphic one are linked in the order they were written, across kinds
        when = ("created_at",) if rel.polymorphic else ()
        for type_name in rel.targets:
            target = registry.get(type_name)
            if target is None or not parent_ids or not self.visible(target):
                continue
            plan = self.plan(target, deeper)
            if rel.queryset is not None:
                qs = rel.queryset(target.queryset(), parent_ids)
                key = "_parent_id"
            else:
                assert rel.reverse is not None, rel.name
                qs = target.queryset().filter(**{f"{rel.reverse}__in": parent_ids})
                key = rel.reverse
            qs = qs.order_by(*order_by(target, []))
            extra = tuple(c for c in (key, *when) if c not in plan.columns)
            for row in fetch(target, qs, plan, extra=extra):
                obj = self._remember(target, row, plan)
                groups[row[key]].append(
                    ((row["created_at"], row["id"]) if when else (), {"type": target.type, "id": row["id"]})
                )
                loaded.append((target.type, row, obj))
        for row, obj in parents:
            linked = groups.get(row["id"], [])
            if when:
                linked.sort(key=lambda pair: pair[0])
            obj["relationships"].setdefault(rel.name, {})["data"] = [ident for _when, ident in linked]
        return loaded

    def _remember(self, target: type[r.Resource], row: Row, plan: Plan) -> dict[str, Any]:
        key = (target.type, row["id"])
        existing = self.included.get(key)
        if existing is not None:
            return existing
        obj = self.resource_object(target, row, plan)
        self.included[key] = obj
        return obj
