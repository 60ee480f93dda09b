"""SQLite support for what PostgreSQL does natively: JSON containment (``metadata_jcont``)."""

from __future__ import annotations

import json
from typing import Any

from django.db.backends.signals import connection_created


def json_contains(target: Any, query: Any) -> bool:
    """PostgreSQL ``@>`` semantics for jsonb: objects by key subset, arrays by element subset."""
    if isinstance(query, dict):
        return isinstance(target, dict) and all(
            k in target and json_contains(target[k], v) for k, v in query.items()
        )
    if isinstance(query, list):
        if not isinstance(target, list):
            return False
        return all(any(json_contains(t, q) for t in target) for q in query)
    if isinstance(target, list):
        return False
    if isinstance(query, bool) or isinstance(target, bool):
        return type(query) is type(target) and query == target
    return bool(target == query)


def _sqlite_json_contains(target_text: str | None, query_text: str | None) -> int | None:
    if target_text is None or query_text is None:
        return None
    try:
        return int(json_contains(json.loads(target_text), json.loads(query_text)))
    except (ValueError, TypeError):
        return 0


def _register(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "of_json_contains", 2, _sqlite_json_contains, deterministic=True
        )


connection_created.connect(_register)
