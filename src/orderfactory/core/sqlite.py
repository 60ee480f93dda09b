"""SQLite support for what PostgreSQL does natively: JSON containment (``metadata_jcont``)."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from typing import Any

from django.db.backends.signals import connection_created


def json_contains(target: Any, query: Any) -> bool:
    """PostgreSQL ``@>`` semantics for jsonb: objects by key subset, arrays by element subset, scalars by
    equality (numbers by value, so ``1`` and ``1.0`` are equal; ``true`` is not ``1``).

    As in PostgreSQL, a top-level array also contains a lone scalar (``[1, 2] @> 1``), but only at the top:
    ``{"a": [1]}`` does not contain ``{"a": 1}``.
    """
    if isinstance(target, list) and not isinstance(query, (dict, list)):
        return any(_scalar_equal(t, query) for t in target if not isinstance(t, (dict, list)))
    return _contains(target, query)


def _contains(target: Any, query: Any) -> bool:
    if isinstance(query, dict):
        return isinstance(target, dict) and all(
            k in target and _contains(target[k], v) for k, v in query.items()
        )
    if isinstance(query, list):
        if not isinstance(target, list):
            return False
        return all(any(_contains(t, q) for t in target) for q in query)
    if isinstance(target, (dict, list)):
        return False
    return _scalar_equal(target, query)


def _scalar_equal(target: Any, query: Any) -> bool:
    if isinstance(query, bool) or isinstance(target, bool):
        return type(query) is type(target) and query == target
    return bool(target == query)


def _load(text: str) -> Any:
    # Decimals, like PostgreSQL's numeric: 0.1 and 0.10000000000000001 are different numbers there too.
    return json.loads(text, parse_float=Decimal)


def _sqlite_json_contains(target_text: str | None, query_text: str | None) -> int | None:
    if target_text is None or query_text is None:
        return None
    try:
        return int(json_contains(_load(target_text), _load(query_text)))
    except (ValueError, TypeError, RecursionError):
        return 0


def _register(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "of_json_contains", 2, _sqlite_json_contains, deterministic=True
        )
        # Django assumes SQLite's old limit of 999 variables per statement and splits bulk writes into batches;
        # the library here allows far more, so a bulk write stays one statement (queries do not grow with rows).
        connection.features.max_query_params = connection.connection.getlimit(
            sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER
        )


connection_created.connect(_register)
