"""Declarative resources, the way Commerce Layer's resources.json describes them.

A resource declares its attributes (type, flags, enum, default, required), its relationships (target type or
types, to-one or to-many, flags, required) and its actions. Flags use the contract's legend:
``C`` creatable, ``U`` updatable, ``F`` fetchable, ``f`` filterable, ``s`` sortable.

The engine (query, render, body, views) enforces the declaration; resources hold no HTTP code. Writes go
through the resource's ``create``/``update``/``delete`` hooks, which call domain services.
"""

from __future__ import annotations

import builtins
import copy
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

import orjson
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations

from orderfactory.jsonapi import errors

NO_DEFAULT: Any = object()
ACTIONS_ALL = ("list", "retrieve", "create", "update", "delete")


def _flags(flags: str) -> dict[str, bool]:
    unknown = set(flags) - set("CUFfs")
    if unknown:
        raise ValueError(f"unknown flags {unknown}")
    return {
        "creatable": "C" in flags,
        "updatable": "U" in flags,
        "fetchable": "F" in flags,
        "filterable": "f" in flags,
        "sortable": "s" in flags,
    }


def format_datetime(value: dt.datetime) -> str:
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(dt.UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


# --- attributes -------------------------------------------------------------------------------------------


class Attr:
    """One attribute. Its value comes from a column (``column``, default the attribute's name), from an
    expression annotated on the query (``expression``), or from ``compute(row)`` over the named ``depends``
    columns of the fetched row. A ``detail`` computed attribute is computed only when its resource is the
    one retrieved (Commerce Layer's sku ``inventory``) and is null in lists and includes, where it would
    cost a query per row."""

    type_name: ClassVar[str] = "string"

    def __init__(
        self,
        name: str,
        flags: str = "F",
        *,
        required: bool = False,
        enum: Sequence[str] | None = None,
        default: Any = NO_DEFAULT,
        column: str | None = None,
        expression: Any = None,
        compute: Callable[[dict[str, Any]], Any] | None = None,
        depends: Sequence[str] = (),
        trigger: bool = False,
        nullable: bool = True,
        detail: bool = False,
    ) -> None:
        self.name = name
        self.flags = flags
        f = _flags(flags)
        self.creatable: bool = f["creatable"]
        self.updatable: bool = f["updatable"]
        self.fetchable: bool = f["fetchable"]
        self.filterable: bool = f["filterable"]
        self.sortable: bool = f["sortable"]
        self.required = required
        self.enum = tuple(enum) if enum else None
        self.default = default
        self.expression = expression
        self.compute = compute
        self.depends = tuple(depends)
        self.trigger = trigger
        self.nullable = nullable
        self.detail = detail
        self.column = column or (None if (compute or trigger) else name)

    # The column names the query must fetch to render this attribute.
    @property
    def fetch_columns(self) -> tuple[str, ...]:
        if self.compute is not None:
            return self.depends
        return (self.column,) if self.column else ()

    # The ORM path used by filters and sorts.
    @property
    def lookup(self) -> str | None:
        return self.column

    def parse(self, value: Any, pointer: str) -> Any:
        """Validate a JSON value from a request body. Wrong JSON types are 400 INVALID_FIELD_VALUE."""
        if value is None:
            return None
        return self._parse(value, pointer)

    def beyond_column(self, value: Any, pointer: str) -> errors.ApiError | None:
        """The 422 for a parsed value its column cannot hold (an integer out of range, text too long), or None.
        Reported with the resource's own problems rather than instead of them (views: the write is refused
        either way)."""
        return None

    def _parse(self, value: Any, pointer: str) -> Any:
        if not isinstance(value, str):
            raise errors.invalid_field_value(self.name, value, pointer)
        if "\x00" in value:
            raise errors.invalid_field_value(self.name, value, pointer)
        return value

    def parse_filter(self, text: str) -> Any:
        """Parse a filter value from a query string (always text)."""
        return text

    def dump(self, value: Any) -> Any:
        return value

    def bound(self, model: builtins.type[models.Model]) -> Attr:
        """This attribute as served by a resource of ``model`` (Resource.prepare): an attribute whose rules
        depend on its column (an integer's range, a text's length) returns a copy with them set."""
        return self

    def stored_in(self, model: builtins.type[models.Model]) -> models.Field | None:
        """The model field that holds this attribute's value, if one does."""
        if self.column is None or self.expression is not None:
            return None
        try:
            field = model._meta.get_field(self.column)
        except FieldDoesNotExist:
            return None
        return field if isinstance(field, models.Field) else None


class String(Attr):
    """Text, at most as long as its column holds (a ``CharField``'s ``max_length``: PostgreSQL refuses longer
    text, SQLite would keep it); longer is a 422 with its pointer."""

    type_name = "string"
    max_length: int | None = None

    def bound(self, model: builtins.type[models.Model]) -> Attr:
        column = self.stored_in(model)
        if not isinstance(column, models.CharField) or column.max_length is None:
            return self
        bound = copy.copy(self)
        bound.max_length = column.max_length
        return bound

    def beyond_column(self, value: Any, pointer: str) -> errors.ApiError | None:
        if value is None or self.max_length is None or len(value) <= self.max_length:
            return None
        title = f"is too long (maximum is {self.max_length} characters)"
        return errors.validation(self.name, title, "too_long", pointer=pointer, count=self.max_length)


# The integers every client reads exactly from a JSON document: JavaScript (the official SDK) reads numbers as
# IEEE doubles, which hold integers exactly up to 2^53 - 1 (I-JSON, RFC 7493).
JSON_SAFE_INTEGER = 2**53 - 1


class Integer(Attr):
    """An integer within one range, the same on every database: what its column's type holds (Django's ranges,
    which PostgreSQL enforces and SQLite does not), and never beyond what a JSON client reads exactly. A value
    outside is a 422 with its pointer (``beyond_column``), and a 400 in a filter."""

    type_name = "integer"
    minimum = -JSON_SAFE_INTEGER
    maximum = JSON_SAFE_INTEGER

    def bound(self, model: builtins.type[models.Model]) -> Attr:
        column = self.stored_in(model)
        if column is None:
            return self
        low, high = BaseDatabaseOperations.integer_field_ranges[column.get_internal_type()]
        bound = copy.copy(self)
        bound.minimum = max(self.minimum, low)
        bound.maximum = min(self.maximum, high)
        return bound

    def _parse(self, value: Any, pointer: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if isinstance(value, str):
                try:
                    return int(value)
                except ValueError:
                    pass
            raise errors.invalid_field_value(self.name, value, pointer)
        if isinstance(value, float):
            if not value.is_integer():
                raise errors.invalid_field_value(self.name, value, pointer)
            value = int(value)
        return value

    def beyond_column(self, value: Any, pointer: str) -> errors.ApiError | None:
        if value is None or self.minimum <= value <= self.maximum:
            return None
        bound, error = (
            (self.minimum, "greater_than_or_equal_to")
            if value < self.minimum
            else (self.maximum, "less_than_or_equal_to")
        )
        title = f"must be {error.replace('_', ' ')} {bound}"
        return errors.validation(self.name, title, error, pointer=pointer, count=bound, **_shown(value))

    def parse_filter(self, text: str) -> Any:
        value = int(text.strip())
        if not self.minimum <= value <= self.maximum:
            raise ValueError("out of range")
        return value


def _shown(value: int) -> dict[str, int]:
    """``meta.value`` of a range error, when the JSON encoder can write it (64 bits)."""
    return {"value": value} if -(2**63) <= value < 2**63 else {}


class Float(Attr):
    type_name = "float"

    def _parse(self, value: Any, pointer: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise errors.invalid_field_value(self.name, value, pointer)
        return float(value)

    def parse_filter(self, text: str) -> Any:
        value = float(text)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not finite")
        return value

    def dump(self, value: Any) -> Any:
        return float(value) if isinstance(value, Decimal) else value


class Boolean(Attr):
    type_name = "boolean"
    TRUE = ("true", "1", "t", "yes")
    FALSE = ("false", "0", "f", "no")

    def _parse(self, value: Any, pointer: str) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in self.TRUE + self.FALSE:
            return value.lower() in self.TRUE
        raise errors.invalid_field_value(self.name, value, pointer)

    def parse_filter(self, text: str) -> Any:
        low = text.strip().lower()
        if low in self.TRUE:
            return True
        if low in self.FALSE:
            return False
        raise ValueError("not a boolean")


def parse_datetime(text: str) -> dt.datetime:
    text = text.strip()
    if not text or len(text) > 40:
        raise ValueError("bad datetime")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


class Datetime(Attr):
    type_name = "datetime"

    def _parse(self, value: Any, pointer: str) -> Any:
        if not isinstance(value, str):
            raise errors.invalid_field_value(self.name, value, pointer)
        try:
            return parse_datetime(value)
        except (ValueError, OverflowError):  # OverflowError: beyond year 1..9999 once in UTC
            raise errors.invalid_field_value(self.name, value, pointer) from None

    def parse_filter(self, text: str) -> Any:
        return parse_datetime(text)

    def dump(self, value: Any) -> Any:
        return format_datetime(value) if value is not None else None


# What a JSON attribute (metadata and every object or array) may hold: documents are rendered inside other
# documents, with the encoder's own depth limit, and read back from PostgreSQL's jsonb, which keeps numbers
# as exact decimals (1e20 comes back as the integer 100000000000000000000).
MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 64 * 1024
JSON_NUMBER_LIMIT = 2**63


def json_problem(value: Any) -> str | None:
    """Why a JSON value cannot be stored and rendered back as sent on both databases, or None: a NUL character
    (jsonb cannot hold one), more than MAX_JSON_DEPTH levels of objects and arrays, or a number of magnitude
    2^63 or more. Walked without recursion, so a deep document cannot exhaust the stack."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "nul"
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            if not -JSON_NUMBER_LIMIT < item < JSON_NUMBER_LIMIT:
                return "number"
        elif isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return "depth"
            if isinstance(item, dict):
                if any("\x00" in k for k in item):
                    return "nul"
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)
    return None


class _Json(Attr):
    container: ClassVar[builtins.type]

    def _parse(self, value: Any, pointer: str) -> Any:
        problem = json_problem(value) if isinstance(value, self.container) else "type"
        if problem in ("type", "nul"):
            raise errors.invalid_field_value(self.name, value, pointer)
        if problem == "depth":
            raise errors.validation(
                self.name,
                f"is nested too deeply (at most {MAX_JSON_DEPTH} levels)",
                "too_deep",
                pointer=pointer,
                count=MAX_JSON_DEPTH,
            )
        if problem == "number":
            raise errors.validation(
                self.name,
                "has a number out of range (at most 2^63 in magnitude)",
                "number_out_of_range",
                pointer=pointer,
            )
        if len(orjson.dumps(value)) > MAX_JSON_BYTES:
            raise errors.validation(
                self.name,
                f"is too long (maximum is {MAX_JSON_BYTES} bytes)",
                "too_long",
                pointer=pointer,
                count=MAX_JSON_BYTES,
            )
        return value


class Object(_Json):
    type_name = "object"
    container = dict


class Array(_Json):
    type_name = "array"
    container = list


# --- relationships ----------------------------------------------------------------------------------------


class Rel:
    to_many: ClassVar[bool] = False

    def __init__(
        self,
        name: str,
        targets: str | Sequence[str],
        flags: str = "",
        *,
        required: bool = False,
        includable: bool = True,
        lookup: str | None = None,
        reads: Sequence[str] | None = None,
    ) -> None:
        self.name = name
        self.targets = (targets,) if isinstance(targets, str) else tuple(targets)
        self.flags = flags
        f = _flags(flags)
        self.creatable: bool = f["creatable"]
        self.updatable: bool = f["updatable"]
        self.fetchable: bool = f["fetchable"]
        self.filterable: bool = f["filterable"]
        self.sortable: bool = f["sortable"]
        self.required = required
        self.includable = includable
        # The ORM path association filters join through (None: the relationship cannot be joined).
        self.lookup: str | None = lookup or name
        # The columns of a linked row that the resource's writes read (None: any): a request body's linkage
        # loads only these, besides the key, when it checks that the row exists in the caller's scope.
        self.reads = None if reads is None else tuple(reads)

    @property
    def polymorphic(self) -> bool:
        return len(self.targets) > 1


class ToOne(Rel):
    """A has_one relationship stored as a foreign key column (``column``, default ``<name>_id``); a
    polymorphic one also stores the JSON:API type of its target (``type_column``, default ``<name>_type``).
    A ``resolve`` function may instead compute the target from the row (``depends`` columns)."""

    def __init__(
        self,
        name: str,
        targets: str | Sequence[str],
        flags: str = "",
        *,
        column: str | None = None,
        type_column: str | None = None,
        resolve: Callable[[dict[str, Any]], tuple[str, str] | None] | None = None,
        depends: Sequence[str] = (),
        **kw: Any,
    ) -> None:
        super().__init__(name, targets, flags, **kw)
        self.resolve = resolve
        self.depends = tuple(depends)
        if resolve is not None and kw.get("lookup") is None:
            self.lookup = None  # a computed target is joined only through an ORM path the declaration names
        self.column = None if resolve else (column or f"{name}_id")
        self.type_column = (
            None if resolve else (type_column or (f"{name}_type" if self.polymorphic else None))
        )

    @property
    def fetch_columns(self) -> tuple[str, ...]:
        if self.resolve:
            return self.depends
        return tuple(c for c in (self.column, self.type_column) if c)

    def identifier(self, row: dict[str, Any]) -> tuple[str, str] | None:
        if self.resolve:
            return self.resolve(row)
        assert self.column is not None
        target_id = row.get(self.column)
        if target_id is None:
            return None
        target_type = row[self.type_column] if self.type_column else self.targets[0]
        return (target_type, target_id)


class ToMany(Rel):
    """A has_many relationship: rows of the target resource whose ``reverse`` foreign key (a column of the
    target model, e.g. ``order_id``) points at this row, or any set given by ``queryset(parent_ids)`` which
    must also annotate ``_parent_id``. Association filters join through the Django relation named ``lookup``
    (default the relationship's name) when the model has one, else through ``reverse``: a relationship with
    a ``queryset`` and a ``reverse`` is listed by the first and filtered by the second."""

    to_many = True

    def __init__(
        self,
        name: str,
        target: str,
        flags: str = "f",
        *,
        reverse: str | None = None,
        queryset: Callable[[Any, Sequence[str]], models.QuerySet] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(name, target, flags, **kw)
        self.reverse = reverse
        self.queryset = queryset


# --- payloads handed to write hooks -----------------------------------------------------------------------


@dataclass
class Payload:
    """A validated request body: attributes parsed, relationship targets loaded in the caller's scope."""

    attributes: dict[str, Any] = field(default_factory=dict)
    relationships: dict[str, Any] = field(default_factory=dict)  # name -> model instance, None or list
    triggers: dict[str, Any] = field(default_factory=dict)
    # 422s for values their columns cannot hold, which the write must not reach (jsonapi.views.write)
    refused: list[errors.ApiError] = field(default_factory=list)

    def model_fields(self, resource: type[Resource]) -> dict[str, Any]:
        """Attributes and to-one relationships as model constructor keywords (columns)."""
        out: dict[str, Any] = {}
        for name, value in self.attributes.items():
            attr = resource.attribute(name)
            if attr is not None and attr.column:
                out[attr.column] = value
        for name, value in self.relationships.items():
            rel = resource.relationship(name)
            if isinstance(rel, ToOne) and rel.column:
                out[rel.column] = value.pk if value is not None else None
                if rel.type_column:
                    out[rel.type_column] = resource_type_of(value) if value is not None else None
        return out


# --- resources --------------------------------------------------------------------------------------------


def _by_resource_id(target: models.QuerySet, parent_ids: Sequence[str]) -> models.QuerySet:
    """Audit and event rows name their resource by id (ids are unique across types)."""
    return target.filter(resource_id__in=list(parent_ids)).annotate(_parent_id=models.F("resource_id"))


STANDARD_HEAD = (String("id", "Ffs"),)


def standard_tail() -> tuple[Attr, ...]:
    return (
        Datetime("created_at", "Ffs"),
        Datetime("updated_at", "Ffs"),
        String("reference", "CUFfs"),
        String("reference_origin", "CUFfs"),
        Object("metadata", "CUFf", default={}, nullable=False),
    )


class Resource:
    """Base of every resource declaration. Subclasses set ``type``, ``model``, ``attributes``,
    ``relationships`` and ``actions``; write hooks may be overridden to call domain services."""

    model: ClassVar[builtins.type[models.Model]]
    type: ClassVar[str]
    actions: ClassVar[tuple[str, ...]] = ACTIONS_ALL
    singleton: ClassVar[bool] = False
    attributes: ClassVar[tuple[Attr, ...]] = ()
    relationships: ClassVar[tuple[Rel, ...]] = ()
    standard_fields: ClassVar[bool] = True
    # Extra read-only sub-endpoints, GET /api/<type>/<id>/<name>: name -> handler(request, ctx, instance),
    # for documented extensions that are not relationships (e.g. a subscription's preview).
    endpoints: ClassVar[dict[str, Callable[..., Any]]] = {}
    # Served relationships to the audit trail (``event_stores``) and to the named events of this resource.
    audit_trail: ClassVar[bool] = True
    has_events: ClassVar[bool] = False
    # Updates open their own transactions (see views.update); every other write runs in the request's one.
    own_transactions: ClassVar[bool] = False
    # One of the resource classes Commerce Layer calls cacheable (contract d): its reads have the cacheable rate
    # limits (auth.ratelimit) and its GETs are served from the response cache (orderfactory.cache).
    cacheable: ClassVar[bool] = False
    # What a public (sales channel) token may do here; integration tokens may do every action.
    sales_channel_actions: ClassVar[tuple[str, ...]] = ()
    # Default order of lists: the contract leaves it open; oldest first, like Commerce Layer's id order.
    default_sort: ClassVar[tuple[str, ...]] = ("created_at", "id")

    # Filled by registry.register
    _attrs: ClassVar[dict[str, Attr]]
    _rels: ClassVar[dict[str, Rel]]

    @classmethod
    def prepare(cls) -> None:
        attrs: dict[str, Attr] = {}
        declared = list(cls.attributes)
        if cls.standard_fields:
            declared_names = {a.name for a in declared}
            declared = (
                [a for a in STANDARD_HEAD if a.name not in declared_names]
                + declared
                + [a for a in standard_tail() if a.name not in declared_names]
            )
        for a in declared:
            attrs[a.name] = a.bound(cls.model)
        cls._attrs = attrs
        rels = list(cls.relationships)
        names = {r.name for r in rels}
        if cls.audit_trail and "event_stores" not in names:
            rels.append(
                ToMany("event_stores", "event_stores", "", queryset=_by_resource_id, includable=False)
            )
        if cls.has_events and "events" not in names:
            rels.append(ToMany("events", "events", "f", reverse="resource_id"))
        cls._rels = {r.name: r for r in rels}
        overlap = set(cls._attrs) & set(cls._rels)
        if overlap:
            raise TypeError(f"{cls.__name__}: {overlap} both attribute and relationship")

    @classmethod
    def attribute(cls, name: str) -> Attr | None:
        return cls._attrs.get(name)

    @classmethod
    def relationship(cls, name: str) -> Rel | None:
        return cls._rels.get(name)

    @classmethod
    def all_attributes(cls) -> Iterable[Attr]:
        return cls._attrs.values()

    @classmethod
    def all_relationships(cls) -> Iterable[Rel]:
        return cls._rels.values()

    # --- reads ----------------------------------------------------------------------------------------

    @classmethod
    def queryset(cls) -> models.QuerySet:
        """The rows of this resource visible to the caller. ``model.objects`` is scoped to the caller's
        organization and mode (core.models.TenantManager): overriding this can narrow, never widen."""
        return cls.model._default_manager.all()

    # Whether queryset() narrows by nothing of the caller but its organization and mode, so that a query built
    # on it and compiled once (core.prepared) is right for every caller. So it is when queryset() is not
    # overridden; an override that narrows by constants only (e.g. a type) may say True, and one that reads
    # more of the caller (a token's markets, its application) must not.
    scope_only_queryset: ClassVar[bool | None] = None

    @classmethod
    def preparable(cls) -> bool:
        if cls.scope_only_queryset is not None:
            return cls.scope_only_queryset
        return cls.queryset.__func__ is Resource.queryset.__func__  # type: ignore[attr-defined]

    @classmethod
    def singleton_id(cls, scope: Any) -> str:
        raise NotImplementedError

    # --- writes (each runs inside the request's transaction) -----------------------------------------

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        instance = cls.model(**payload.model_fields(cls))
        for name in payload.attributes:
            attr = cls.attribute(name)
            if attr is not None and attr.column is None:
                raise errors.param_not_allowed(name)
        instance.save()
        cls.after_write(instance, payload)
        return instance

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        for column, value in payload.model_fields(cls).items():
            setattr(instance, column, value)
        if payload.triggers:
            raise errors.param_not_allowed(next(iter(payload.triggers)))
        instance.save()
        cls.after_write(instance, payload)
        return instance

    @classmethod
    def delete(cls, instance: models.Model) -> None:
        instance.delete()

    @classmethod
    def after_write(cls, instance: models.Model, payload: Payload) -> None:
        """Hook for to-many writes and other follow-ups."""


_MODEL_TYPES: dict[type[models.Model], str] = {}


def resource_type_of(instance: models.Model) -> str:
    """The JSON:API type of a model instance (models with several types define ``jsonapi_type``)."""
    explicit = getattr(instance, "jsonapi_type", None)
    return explicit if isinstance(explicit, str) else _MODEL_TYPES[type(instance)]
