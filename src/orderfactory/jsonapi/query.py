"""Query-string parsing: include, fields[type], sort, page[number|size], filter[q][...].

Every malformed or disallowed parameter is a 400 with the code of contract d; nothing here touches the
database.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist

from orderfactory.core.models import InTenant, TenantModel
from orderfactory.jsonapi import commerce_layer, errors, filters, registry
from orderfactory.jsonapi import resource as r

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 25
MAX_PAGE_NUMBER = 10**9
MAX_INCLUDE_DEPTH = 3
# The longest query string (as sent, percent-encoded): with the longest method and path it fits the request
# line gunicorn reads (orderfactory.server.LIMIT_REQUEST_LINE; a test checks), so a query the API would take
# is never refused by the server in front of it.
MAX_QUERY_STRING = 7900

_BRACKETS = re.compile(r"^([a-z_]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


@dataclass
class Query:
    include: list[tuple[str, ...]] = field(default_factory=list)
    fields: dict[str, set[str]] = field(default_factory=dict)
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (attribute, descending)
    page_number: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    filters: list[filters.Condition] = field(default_factory=list)
    params: list[tuple[str, str]] = field(default_factory=list)  # as received, for links


def split_key(key: str) -> tuple[str, list[str]] | None:
    """``filter[q][name_eq]`` -> ("filter", ["q", "name_eq"]); None when the key is not well formed."""
    m = _BRACKETS.match(key)
    if not m:
        return None
    return m.group(1), _SEGMENT.findall(m.group(2))


def _check_text(name: str, value: str) -> str:
    if "\x00" in value or "\ufffd" in value:
        raise errors.bad_request(f"{name} contains invalid characters.", parameter=name)
    return value


def parse(resource: type[r.Resource], items: list[tuple[str, str]], *, collection: bool) -> Query:
    q = Query(params=items)
    seen: set[str] = set()
    for key, value in items:
        _check_text(key, key)
        _check_text(key, value)
        if key in seen:
            raise errors.bad_request(f"{key} is given more than once.", parameter=key)
        seen.add(key)
        parts = split_key(key)
        if parts is None:
            raise errors.param_not_allowed(key, parameter=key)
        base, segs = parts
        if base == "include" and not segs:
            q.include = parse_include(resource, value)
        elif base == "fields" and len(segs) == 1:
            q.fields[segs[0]] = parse_fields(segs[0], value)
        elif base == "sort" and not segs and collection:
            q.sort = parse_sort(resource, value)
        elif base == "page" and len(segs) == 1 and segs[0] in ("number", "size") and collection:
            number = _parse_page_value(key, value, MAX_PAGE_NUMBER if segs[0] == "number" else MAX_PAGE_SIZE)
            if segs[0] == "number":
                q.page_number = number
            else:
                q.page_size = number
        elif base == "filter" and collection:
            if len(segs) != 2 or segs[0] != "q" or not segs[1]:
                raise errors.ApiError(
                    400, "FILTER_NOT_ALLOWED", "Filter not allowed", f"{key} is not allowed.", parameter=key
                )
            q.filters.append(filters.parse_condition(resource, segs[1], value))
        else:
            raise errors.param_not_allowed(key, parameter=key)
    return q


def parse_filter(resource: type[r.Resource], conditions: dict[str, Any]) -> Query:
    """A ``filter[q]`` given as an object (``{"market_code_eq": "EU"}``, as an order copy batch takes it), parsed
    as the list's query string is: the same predicates, and the same 400 for one the list refuses. Values are
    text there; here a number or a boolean is its text, a list its items joined by commas."""
    items = []
    for key, value in conditions.items():
        if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
            value = ",".join(map(str, value))
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = str(value)
        elif not isinstance(value, str):
            raise filters.invalid_value(key, str(value))
        items.append((f"filter[q][{key}]", value))
    return parse(resource, items, collection=True)


def filtered(resource: type[r.Resource], qs: Any, q: Query) -> Any:
    """``qs`` narrowed by the filters of ``q`` (a condition with a blank value filters nothing)."""
    found = aliases(resource, q)
    qs = qs.alias(**found)
    for condition in q.filters:
        if condition.value is None:
            continue
        if condition.to_many:
            qs = qs.filter(pk__in=resource.queryset().alias(**found).filter(condition.q()).values("pk"))
        else:
            joined: dict[str, Any] = {}
            paths = [_in_tenant(resource, path, joined) for path in condition.paths]
            qs = qs.alias(**joined).filter(dataclasses.replace(condition, paths=paths).q())
    return qs


def _in_tenant(resource: type[r.Resource], path: filters.Path, joined: dict[str, Any]) -> filters.Path:
    """``path``, when it reads a column of a tenant row its row names by foreign key (``sku__code``), as an alias
    of that column read through a join that carries the tenant (core.models.InTenant), added to ``joined``: a
    generic plan then reads the related table by key or through its tenant's rows, never across tenants."""
    relation, _, column = path.lookup.partition("__")
    if path.inner is not None or not column or "__" in column:
        return path
    try:
        field = resource.model._meta.get_field(relation)
    except FieldDoesNotExist:
        return path
    if not (
        field.many_to_one
        and isinstance(field.related_model, type)
        and issubclass(field.related_model, TenantModel)
    ):
        return path
    alias = f"_{relation}_{column}_in_tenant"
    joined[alias] = InTenant(path.lookup)
    return dataclasses.replace(path, lookup=alias)


def _parse_page_value(key: str, value: str, maximum: int) -> int:
    text = value.strip()
    # isascii: "²".isdigit() is true but int("²") fails.
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or not (1 <= int(text) <= maximum):
        raise errors.ApiError(
            400,
            "INVALID_PAGE_VALUE",
            "Invalid page value",
            f"{value} is not a valid value for {key}.",
            parameter=key,
        )
    return int(text)


def parse_include(resource: type[r.Resource], value: str) -> list[tuple[str, ...]]:
    """The include paths. A path through a relationship Commerce Layer has but the resource does not declare
    (its target is not served) is valid and includes nothing; the rest of it must still name Commerce Layer
    relationships. A declared relationship that is not includable, or a name Commerce Layer does not have,
    is a 400."""
    paths: list[tuple[str, ...]] = []
    for raw in value.split(","):
        path = tuple(raw.strip().split("."))
        if not raw.strip() or len(path) > MAX_INCLUDE_DEPTH:
            raise _invalid_include(raw)
        # (type, served): a served type's declaration decides; past an unserved hop, Commerce Layer's schema
        current: set[tuple[str, bool]] = {(resource.type, True)}
        for name in path:
            nxt: set[tuple[str, bool]] = set()
            for type_name, served in current:
                declared = registry.get(type_name) if served else None
                rel = declared.relationship(name) if declared is not None else None
                if rel is not None:
                    if rel.includable:
                        nxt.update((t, registry.get(t) is not None) for t in rel.targets)
                    continue
                known = commerce_layer.relationship(type_name, name)
                if known is not None:
                    nxt.update((t, False) for t in known.targets)
            if not nxt:
                raise _invalid_include(raw)
            current = nxt
        for i in range(1, len(path) + 1):
            if path[:i] not in paths:
                paths.append(path[:i])
    return paths


def _invalid_include(raw: str) -> errors.ApiError:
    return errors.ApiError(
        400,
        "INVALID_INCLUDE",
        "Invalid include",
        f"{raw} is not a valid includable relationship.",
        parameter="include",
    )


def parse_fields(type_name: str, value: str) -> set[str]:
    target = registry.get(type_name)
    if target is None:
        raise errors.ApiError(
            400,
            "INVALID_RESOURCE",
            "Invalid resource",
            f"{type_name} is not a valid resource.",
            parameter=f"fields[{type_name}]",
        )
    names = {n.strip() for n in value.split(",") if n.strip()}
    for name in names:
        attr = target.attribute(name)
        if (attr is None or not attr.fetchable) and target.relationship(name) is None:
            raise errors.ApiError(
                400,
                "INVALID_FIELD",
                "Invalid field",
                f"{name} is not a valid field for {type_name}.",
                parameter=f"fields[{type_name}]",
            )
    return names


def parse_sort(resource: type[r.Resource], value: str) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    for raw in value.split(","):
        item = raw.strip()
        desc = item.startswith("-")
        name = item[1:] if desc else item
        attr = resource.attribute(name)
        if not name or attr is None or not attr.sortable or attr.lookup is None:
            raise errors.ApiError(
                400,
                "INVALID_SORT_CRITERIA",
                "Invalid sort criteria",
                f"{item or value!r} is not a valid sort criteria for {resource.type}.",
                parameter="sort",
            )
        out.append((name, desc))
    return out


def aliases(resource: type[r.Resource], q: Query) -> dict[str, Any]:
    """The expressions of the attributes the filters and the sort compare (e.g. a constant amount): the
    listed queryset must alias them first, as rendering annotates them only when they are fetched."""
    attrs = [resource.attribute(name) for name, _ in q.sort]
    attrs += [path.attr for condition in q.filters for path in condition.paths if path.inner is None]
    return {a.name: a.expression for a in attrs if a is not None and a.expression is not None}


def order_by(resource: type[r.Resource], sort: list[tuple[str, bool]]) -> list[Any]:
    names = [n for n, _ in sort]
    clauses: list[Any] = []
    for name, desc in sort or [(n, False) for n in resource.default_sort]:
        attr = resource.attribute(name)
        assert attr is not None and attr.lookup is not None
        clauses.append(("-" if desc else "") + attr.lookup)
    if "id" not in names:
        clauses.append("id")  # a total order, so pages neither repeat nor skip rows
    seen: set[str] = set()
    unique = []
    for c in clauses:
        key = c.lstrip("-")
        if key not in seen:
            seen.add(key)
            unique.append(c)
    return unique
