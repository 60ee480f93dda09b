"""Inserts and column updates of model rows, with their SQL built once per table.

Django builds the SQL of every ``INSERT`` and ``UPDATE`` anew: for each row and each column it compiles a
placeholder, quotes a name and checks for expressions, which costs more Python than the statement costs the
database (a third of a copy's time in the worker went there). The statements of a table do not change between
calls, so this module builds them once per table (and, on SQLite, per number of rows) and reuses them. Values
still go through each field's ``pre_save`` and ``get_db_prep_save``, as in Django, so what is written is the
same.

Used by ``TenantModel.save`` and ``TenantQuerySet.bulk_create`` for plain inserts and for saves with
``update_fields``, and by the job queue's backend (orderfactory.task_backend); anything else (expressions as
values, conflict options, models with parents or with save signals listening) takes Django's own way.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connections, models, transaction
from django.db.models import signals

# psycopg's limit of parameters in one statement (SQLite's is lower and comes from Django's backend).
_MAX_PARAMS = 65535


class NotPlain(Exception):
    """The write needs something Django's own way does: take it."""


def plain(model: type[models.Model]) -> bool:
    """Whether writes of ``model`` may take this module's way: no parents, no save signals listening."""
    return not model._meta.parents and not (
        signals.pre_save.has_listeners(model) or signals.post_save.has_listeners(model)
    )


@functools.cache
def _insert_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    return tuple(f for f in model._meta.concrete_fields if not f.generated)


@functools.cache
def _insert_head(model: type[models.Model], alias: str) -> str:
    quote = connections[alias].ops.quote_name
    columns = ", ".join(quote(f.column) for f in _insert_fields(model))
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns})"


@functools.cache
def _unnest_tail(model: type[models.Model], alias: str) -> str:
    """PostgreSQL: one array per column, so the statement is the same for any number of rows (as Django does
    for bulk inserts; one prepared statement, no limit of parameters)."""
    connection = connections[alias]
    types = [str(f.db_type(connection)).split("(")[0] for f in _insert_fields(model)]
    return " SELECT * FROM UNNEST(" + ", ".join(f"(%s)::{t}[]" for t in types) + ")"


@functools.cache
def _values_tail(width: int, rows: int) -> str:
    row = "(" + ", ".join(["%s"] * width) + ")"
    return " VALUES " + ", ".join([row] * rows)


# Django's own field classes whose get_db_prep_save gives back a value of this exact type unchanged (and None
# for None), on both databases: such values skip the call, which was most of the cost of preparing a row.
_AS_IS: dict[type[models.Field], type] = {
    models.CharField: str,
    models.TextField: str,
    models.IntegerField: int,
    models.BigIntegerField: int,
    models.SmallIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.BooleanField: bool,
}
# ... and those that give None for None (any other value takes the call)
_NONE_AS_IS = {*_AS_IS, models.DateTimeField, models.DateField, models.JSONField, models.FloatField}


@dataclass(frozen=True)
class _Column:
    field: models.Field
    attname: str
    plain_pre_save: bool  # Field.pre_save, which only reads the attribute
    as_is: type | None
    none_as_is: bool
    moment: bool  # a DateTimeField: an aware datetime is what PostgreSQL's driver takes as it is


def _column(field: models.Field) -> _Column:
    target = field.target_field if type(field) is models.ForeignKey else field  # a key is its target's type
    return _Column(
        field=field,
        attname=field.attname,
        plain_pre_save=type(field).pre_save is models.Field.pre_save,
        as_is=_AS_IS.get(type(target)),
        none_as_is=type(target) in _NONE_AS_IS,
        moment=type(target) is models.DateTimeField,
    )


@functools.cache
def _columns(fields: tuple[models.Field, ...]) -> tuple[_Column, ...]:
    return tuple(_column(f) for f in fields)


@functools.cache
def _insert_columns(model: type[models.Model]) -> tuple[_Column, ...]:
    """``_columns`` of ``_insert_fields``, found by the model alone (hashing a tuple of fields each time cost as
    much as preparing a row's values)."""
    return _columns(_insert_fields(model))


def _values(obj: models.Model, columns: tuple[_Column, ...], add: bool, connection: Any) -> list[Any]:
    """The values of ``columns`` of ``obj`` for the database, as Django's pre_save and get_db_prep_save make
    them."""
    values = []
    postgresql = connection.vendor == "postgresql"
    for c in columns:
        value = getattr(obj, c.attname) if c.plain_pre_save else c.field.pre_save(obj, add)
        if (
            (value is None and c.none_as_is)
            or (c.as_is is not None and type(value) is c.as_is)
            or (c.moment and postgresql and type(value) is dt.datetime and value.tzinfo is not None)
        ):
            values.append(value)
        elif hasattr(value, "resolve_expression"):
            raise NotPlain(c.field.name)
        else:
            values.append(c.field.get_db_prep_save(value, connection=connection))
    return values


def insert(
    objs: Sequence[models.Model], using: str, operation: str = "bulk_create", *, prepared: bool = False
) -> None:
    """INSERT ``objs`` (one model, primary keys set), in as few statements as the database allows; they are
    then saved instances, as after Django's ``bulk_create``. Raises NotPlain before writing anything when a
    value is an expression. ``prepared``: their keys and related rows were checked already (held rows)."""
    if not objs:
        return
    model = type(objs[0])
    connection = connections[using]
    fields = _insert_fields(model)
    for obj in () if prepared else objs:
        if obj.pk is None:
            obj.pk = obj._meta.pk.get_pk_value_on_save(obj)  # type: ignore[attr-defined]
        obj._prepare_related_fields_for_save(operation_name=operation)  # type: ignore[attr-defined]
    held = _held.get()
    if held is not None and held.using == using:
        held.journal.extend((obj, None) for obj in objs)
        for obj in objs:
            obj._state.adding = False
            obj._state.db = using
        return
    columns = _insert_columns(model)
    rows = [_values(obj, columns, True, connection) for obj in objs]
    head = _insert_head(model, using)
    if len(rows) == 1:
        statements = [(head + _values_tail(len(fields), 1), rows[0])]
    elif connection.vendor == "postgresql":
        statements = [
            (head + _unnest_tail(model, using), [list(column) for column in zip(*rows, strict=True)])
        ]
    else:
        size = max(1, min(connection.ops.bulk_batch_size(fields, objs), _MAX_PARAMS // len(fields)))
        statements = [
            (head + _values_tail(len(fields), len(batch)), [v for row in batch for v in row])
            for batch in (rows[start : start + size] for start in range(0, len(rows), size))
        ]
    # One statement needs no transaction of its own (as Django's save); several are one (as its bulk_create).
    atomic = transaction.atomic(using=using, savepoint=False) if len(statements) > 1 else nullcontext()
    with atomic, transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = using


def row_statement(model: type[models.Model], using: str) -> tuple[str, tuple[models.Field, ...]]:
    """The INSERT of one row of ``model`` (built once) and its columns, in the order of its placeholders: for
    a caller that makes the values of a row itself, most of them once (the job queue, task_backend)."""
    fields = _insert_fields(model)
    return _insert_head(model, using) + _values_tail(len(fields), 1), fields


def database_values(obj: models.Model, using: str) -> list[Any]:
    """The values ``insert`` writes for a new ``obj``, in the order of ``row_statement``'s placeholders."""
    return _values(obj, _insert_columns(type(obj)), True, connections[using])


@functools.cache
def _update_sql(
    model: type[models.Model], names: frozenset[str], alias: str
) -> tuple[str, tuple[Any, ...], frozenset[Any]]:
    quote = connections[alias].ops.quote_name
    opts = model._meta
    fields = tuple(
        f
        for f in opts.concrete_fields
        if not f.primary_key and not f.generated and (f.name in names or f.attname in names)
    )
    known = {f.name for f in fields} | {f.attname for f in fields}
    if not names <= known:
        raise NotPlain(", ".join(sorted(names - known)))
    sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    relations = frozenset(f for f in fields if f.is_relation)
    return f"UPDATE {quote(opts.db_table)} SET {sets} WHERE {quote(opts.pk.column)} = %s", fields, relations


def update(obj: models.Model, names: frozenset[str], using: str) -> None:
    """UPDATE the columns ``names`` of a saved instance, as ``save(update_fields=names)`` does. Raises
    NotPlain before writing when a name is unknown (Django's error then says which) or a value is an
    expression."""
    connection = connections[using]
    sql, fields, relations = _update_sql(type(obj), names, using)
    if relations:  # Django's check of the related objects assigned, on the relations written
        obj._prepare_related_fields_for_save(operation_name="save", fields=relations)  # type: ignore[attr-defined]
    held = _held.get()
    if held is not None and held.using == using:
        held.journal.append((obj, names))
        obj._state.db = using
        return
    values = _values(obj, _columns(fields), False, connection)
    values.append(obj._meta.pk.get_db_prep_value(obj.pk, connection))
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:  # as Model.save_base
        cursor.execute(sql, values)
        # Pipelined (database.pipelined), the row count would cost the round trip the pipeline saves; the
        # transactions pipelined (a copy's and its claim's) update rows they hold locked or wrote themselves.
        if getattr(connection, "pipeline", None) is None and cursor.rowcount == 0:
            raise DatabaseError("Save with update_fields did not affect any rows.")
    obj._state.db = using


# --- held writes ------------------------------------------------------------------------------------------


@dataclass
class _Held:
    using: str
    # In the order they were asked for: (row, None) an insert, (row, column names) an update.
    journal: list[tuple[models.Model, frozenset[str] | None]] = field(default_factory=list)


_held: contextvars.ContextVar[_Held | None] = contextvars.ContextVar("orderfactory_held_writes", default=None)


class Held:
    """The writes held back by ``held()``: ``mark`` and ``discard`` drop those asked for since a mark (a copy
    of a group refused before anything of it reached the database)."""

    def __init__(self, rows: _Held) -> None:
        self._rows = rows

    def mark(self) -> int:
        return len(self._rows.journal)

    def discard(self, mark: int) -> None:
        del self._rows.journal[mark:]


@contextmanager
def held(using: str = "default") -> Iterator[Held]:
    """Inside, the inserts and column updates of this module (every plain ``save`` and ``bulk_create`` of a
    tenant row) are held back and written when the block ends without an error: one INSERT per table and
    one UPDATE per table and set of columns, the values as the rows hold them then (a row inserted and then
    updated is inserted as it ends). For a block that writes many rows of the same tables (a group of order
    copies, factories/groups.py) and reads none of them back: held rows are not in the database until the
    end. Other writes (a queryset's ``update``, ``delete``) go through at once."""
    rows = _Held(using)
    token = _held.set(rows)
    try:
        yield Held(rows)
    finally:
        _held.reset(token)
    _flush(rows)


def _flush(rows: _Held) -> None:
    inserts: dict[type[models.Model], list[models.Model]] = {}
    inserted: set[int] = set()
    updates: dict[int, tuple[models.Model, set[str]]] = {}
    for obj, names in rows.journal:
        if names is None:
            inserts.setdefault(type(obj), []).append(obj)
            inserted.add(id(obj))
        elif id(obj) not in inserted:
            updates.setdefault(id(obj), (obj, set()))[1].update(names)
    for objs in inserts.values():
        insert(objs, rows.using, prepared=True)
    by_columns: dict[tuple[type[models.Model], frozenset[str]], list[models.Model]] = {}
    for obj, columns in updates.values():
        by_columns.setdefault((type(obj), frozenset(columns)), []).append(obj)
    for (model, written), objs in by_columns.items():
        _update_many(model, written, objs, rows.using)


@functools.cache
def _update_many_sql(model: type[models.Model], names: frozenset[str], alias: str) -> str:
    """PostgreSQL: one UPDATE of any number of rows, from one array per column (as inserts are)."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    _, fields, _ = _update_sql(model, names, alias)
    pk = model._meta.pk
    assert pk is not None
    columns = [pk, *fields]
    arrays = ", ".join(f"(%s)::{str(f.db_type(connection)).split('(')[0]}[]" for f in columns)
    names_ = ", ".join(f"c{i}" for i in range(len(columns)))
    sets = ", ".join(f"{quote(f.column)} = v.c{i + 1}" for i, f in enumerate(fields))
    table = quote(model._meta.db_table)
    return (
        f"UPDATE {table} SET {sets} FROM (SELECT * FROM UNNEST({arrays})) AS v({names_})"
        f" WHERE {table}.{quote(pk.column)} = v.c0"
    )


def _update_many(
    model: type[models.Model], names: frozenset[str], objs: list[models.Model], using: str
) -> None:
    """UPDATE the columns ``names`` of saved rows, each to its own values, in one statement (PostgreSQL) or
    one ``executemany`` (SQLite)."""
    connection = connections[using]
    sql, fields, _ = _update_sql(model, names, using)
    columns = _columns(fields)
    rows = []
    for obj in objs:
        values = _values(obj, columns, False, connection)
        values.append(obj._meta.pk.get_db_prep_value(obj.pk, connection))
        rows.append(values)
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(rows) > 1:
            arrays = [list(column) for column in zip(*[[row[-1], *row[:-1]] for row in rows], strict=True)]
            cursor.execute(_update_many_sql(model, names, using), arrays)
        else:
            cursor.executemany(sql, rows)
