"""Template helpers: amounts, UTC times, JSON, and links to the console's own files."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import orjson
from django import template

from orderfactory.core import money as amounts

register = template.Library()


@register.filter
def money(cents: int | None, currency: str | None) -> str:
    return amounts.format_amount(cents, currency) or "—"


@register.filter
def utc(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    return f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


@register.filter
def iso(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).isoformat() if value is not None else ""


@register.filter
def pretty(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


@register.filter
def value(value: Any) -> str:
    """A value of the audit trail as the API shows it: text as it is, anything else as JSON."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.filter
def words(value: str | None) -> str:
    return (value or "").replace("_", " ")


@register.simple_tag
def asset(name: str) -> str:
    """The URL of a console file, with its content's hash so that browsers may keep it for good."""
    from orderfactory.console.views import _static

    return f"/console/static/{name}?v={hashlib.sha256(_static(name)).hexdigest()[:12]}"
