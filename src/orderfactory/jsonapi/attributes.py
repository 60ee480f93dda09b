"""Attributes of a resource declaration, as Commerce Layer's resources.json describes them: a type, flags
(``C`` creatable, ``U`` updatable, ``F`` fetchable, ``f`` filterable, ``s`` sortable), enum, default, required.
Each type parses its values from a request body and from a filter, and dumps them for a document; the
bounds of a column (a text's length, an integer's range) are checked here too.
"""

from __future__ import annotations

import builtins
import copy
import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import orjson
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations

from orderfactory.jsonapi import errors

NO_DEFAULT: Any = object()


class Flagged:
    """A field (attribute or relationship) with the contract's flags: ``C`` creatable, ``U`` updatable,
    ``F`` fetchable, ``f`` filterable, ``s`` sortable."""

    def __init__(self, flags: str) -> None:
        unknown = set(flags) - set("CUFfs")
        if unknown:
            raise ValueError(f"unknown flags {unknown}")
        self.flags = flags
        self.creatable = "C" in flags
        self.updatable = "U" in flags
        self.fetchable = "F" in flags
        self.filterable = "f" in flags
        self.sortable = "s" in flags


def format_datetime(value: dt.datetime) -> str:
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(dt.UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


class Attr(Flagged):
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
        super().__init__(flags)
        self.name = name
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

    def __init__(
        self, name: str, flags: str = "F", *, max_bytes: int = MAX_JSON_BYTES, **options: Any
    ) -> None:
        """``max_bytes``: the largest value, encoded (a declaration whose values are lists of ids as long as
        its resource allows may need more than MAX_JSON_BYTES)."""
        super().__init__(name, flags, **options)
        self.max_bytes = max_bytes

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
        if len(orjson.dumps(value)) > self.max_bytes:
            raise errors.validation(
                self.name,
                f"is too long (maximum is {self.max_bytes} bytes)",
                "too_long",
                pointer=pointer,
                count=self.max_bytes,
            )
        return value


class Object(_Json):
    type_name = "object"
    container = dict


class Array(_Json):
    type_name = "array"
    container = list
