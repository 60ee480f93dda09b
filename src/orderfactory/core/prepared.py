"""Queries built and compiled once, then run with new values.

Django builds a queryset's SQL anew each time it runs: the filters, the joins of ``select_related``, the
columns, each quoted. For the queries every order copy runs, that compiling cost more Python than the rest of
the query, the database's part included. A ``Prepared`` query is built once per database by its ``build``
function, with markers in place of the values, compiled once, and then run with the values put where the
markers were: the active scope's organization and mode, and the named values of each call.

    _lines_of = Prepared(lambda order_id: LineItem.objects.filter(order_id=order_id).select_related("sku"))
    lines = _lines_of.all(order_id=order.pk)

What ``build`` may use: model querysets (tenant or unscoped managers), filters whose values are the named
values (a value given as a list or tuple stands for that many values, e.g. ``pk__in``; the statement is
compiled once per length), ``select_related``, ``only``, ordering, slicing, ``select_for_update``. A value
that Django does not pass through as a parameter as given (a transformed value, e.g. ``__icontains``) is
refused when the query is compiled, so a mistake shows the first time it runs, in tests. ``PreparedValues``
does the same for a ``values()`` query, whose rows are dicts.

Everything else ``build`` puts in the query is compiled in as it was the first time: a value that varies (the
time, say) must come in as a named value. ``build`` runs under a scope of markers: it must read nothing of the
caller but the organization and mode that its managers filter by (a queryset narrowed by a token's markets,
say, is not for this: built under the markers' scope, which has no markets, the compiled query would narrow by
none). With no scope active, a run of a scoped query raises ScopeMissing, as the manager does.
"""

from __future__ import annotations

import contextvars
import copy
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections, models, router
from django.db.models.query import ModelIterable, ValuesIterable, get_related_populators  # type: ignore[attr-defined]
from django.db.transaction import TransactionManagementError

from orderfactory.core import scope as scopes

M = TypeVar("M", bound=models.Model)

_ORGANIZATION = "\x00organization\x00"
_MODE = "\x00mode\x00"
_MAX_SHAPES = 64  # compiled statements kept per query (one per shape of its values)


class NotPreparable(Exception):
    """``build`` made a query whose values cannot be put back by position: a programming error."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str, int | None], ...]  # (position in params, value's name, index in a list)
    compiler: Any
    for_update: bool
    fields: list[Any]  # the selected expressions, their converters, whether any is a composite key
    converters: dict[int, Any]
    composite: bool
    # model rows: the model, the columns of its own (init_list, between start and end), its related rows'
    # populators and its annotations; values rows: the names of the columns
    model: type[models.Model]
    init_list: tuple[str, ...] = ()
    start: int = 0
    end: int = 0
    populators: tuple[Any, ...] = ()
    annotations: tuple[tuple[str, int], ...] = ()
    names: tuple[str, ...] = ()


def _marker(name: str, index: int | None = None) -> str:
    return f"\x00{name}\x00" if index is None else f"\x00{name}.{index}\x00"


class _Base:
    """Compiling once per shape of values, and running with the values of a call."""

    iterable: type = ModelIterable

    def __init__(self, build: Callable[..., models.QuerySet[Any]], *, shared: bool = False) -> None:
        self._build = build
        self._compiled: dict[tuple[Any, ...], _Compiled] = {}
        # Whether its rows, read once inside ``ahead()``, serve every later call with the same values there.
        self.shared = shared

    def _ahead(self, values: dict[str, Any], run: Callable[[], list[Any]]) -> list[Any]:
        """The rows of the call, from ``ahead()``'s reads when it holds them."""
        known = _read.get()
        if known is None:
            return run()
        key = (self, _key(values))
        rows = known.get(key)
        if rows is None:
            rows = run()
            if not self.shared:
                return rows
            known[key] = rows
        return list(rows)

    def fill(self, rows_by_values: Iterable[tuple[dict[str, Any], list[Any]]]) -> None:
        """Inside ``ahead()``: what later calls with these values answer, read set-wise by the caller (the
        lines of many orders in one query, say), as the query itself would answer (its order, its columns)."""
        known = _read.get()
        if known is not None:
            known.update(((self, _key(values)), rows) for values, rows in rows_by_values)

    def _execute(self, values: dict[str, Any]) -> tuple[_Compiled, Any, list[tuple[Any, ...]]]:
        """(compiled query, its compiler bound to this thread's connection, rows with converted values)."""
        compiled, alias = self._prepare(values)
        connection = connections[alias]
        if compiled.for_update and connection.get_autocommit():
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        params = list(compiled.params)
        current = None
        for position, name, index in compiled.slots:
            if name in (_ORGANIZATION, _MODE):
                current = current or scopes.current()
                params[position] = current.organization_id if name == _ORGANIZATION else current.mode
            else:
                value = values[name]
                params[position] = value if index is None else value[index]
        compiler = copy.copy(compiled.compiler)
        compiler.connection = connection
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiler.has_extra_select:
            rows = [row[: compiler.col_count] for row in rows]
        # as compiler.results_iter does, with the converters found once
        if compiled.converters:
            rows = list(compiler.apply_converters(rows, compiled.converters))
        if compiled.composite:
            rows = list(compiler.composite_fields_to_tuples(rows, compiled.fields))
        return compiled, compiler, rows

    def _prepare(self, values: dict[str, Any]) -> tuple[_Compiled, str]:
        shape = tuple(
            (name, len(value) if isinstance(value, (list, tuple)) else None)
            for name, value in sorted(values.items())
        )
        compiled = self._compiled.get(shape)
        if compiled is None:
            if len(self._compiled) >= _MAX_SHAPES:
                self._compiled.clear()  # lists of many lengths: keep the number of statements bounded
            compiled = self._compiled[shape] = self._compile(shape)
        return compiled, compiled.compiler.using

    def _compile(self, shape: Sequence[tuple[str, int | None]]) -> _Compiled:
        markers = {
            name: _marker(name) if length is None else [_marker(name, i) for i in range(length)]
            for name, length in shape
        }
        marked_scope = scopes.Scope(organization_id=_ORGANIZATION, organization_slug="", mode=_MODE)
        with scopes.active(marked_scope):
            queryset = self._build(**markers)
        internals: Any = queryset  # what Django keeps of a queryset, not in its stubs
        if (
            internals._iterable_class is not self.iterable
            or internals._prefetch_related_lookups
            or internals._known_related_objects
        ):
            raise NotPreparable(f"{type(self).__name__} runs {self.iterable.__name__} queries, unprefetched")
        alias = internals._db or router.db_for_read(queryset.model)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        where: dict[str, tuple[str, int | None]] = {}
        for name, length in shape:
            if length is None:
                where[_marker(name)] = (name, None)
            else:
                where.update({_marker(name, i): (name, i) for i in range(length)})
        slots: list[tuple[int, str, int | None]] = []
        for position, param in enumerate(params):
            if isinstance(param, str) and param in (_ORGANIZATION, _MODE):
                # the scope's, as often as the query names it (a table's filter, a join's condition)
                slots.append((position, param, None))
            elif isinstance(param, str) and param in where:
                slots.append((position, *where.pop(param)))
            elif isinstance(param, str) and "\x00" in param:
                raise NotPreparable(f"a value used twice or transformed: {param!r}")
        unplaced = list(where)
        if unplaced or "\x00" in sql:
            raise NotPreparable(f"values not passed through as parameters: {unplaced or sql}")
        fields = [expression for expression, *_ in compiler.select[0 : compiler.col_count]]
        common = dict(
            fields=fields,
            converters=compiler.get_converters(fields),
            composite=compiler.has_composite_fields(fields),
            sql=sql,
            params=tuple(params),
            slots=tuple(slots),
            compiler=compiler,
            for_update=queryset.query.select_for_update,
            model=queryset.model,
        )
        query = queryset.query
        if self.iterable is ValuesIterable:
            # as ValuesIterable names them
            names = tuple(
                query.selected or (*query.extra_select, *query.values_select, *query.annotation_select)
            )
            return _Compiled(**common, names=names)  # type: ignore[arg-type]
        klass_info, select = compiler.klass_info, compiler.select
        own = klass_info["select_fields"]  # the positions of the model's own columns
        start, end = own[0], own[-1] + 1
        return _Compiled(
            **common,  # type: ignore[arg-type]
            init_list=tuple(f[0].target.attname for f in select[start:end]),
            start=start,
            end=end,
            populators=tuple(get_related_populators(klass_info, select, alias)),
            annotations=tuple(compiler.annotation_col_map.items()),
        )


class Prepared(_Base, Generic[M]):
    """A model query compiled once per (database, lengths of list values) and run with new values."""

    def __init__(self, build: Callable[..., models.QuerySet[M]], *, shared: bool = False) -> None:
        super().__init__(build, shared=shared)

    def all(self, **values: Any) -> list[M]:
        return self._ahead(values, lambda: self._run(values)[0])

    def _run(self, values: dict[str, Any]) -> tuple[list[M], type[models.Model]]:
        compiled, compiler, rows = self._execute(values)
        alias = compiler.using
        out = []
        model, init_list, start, end = compiled.model, compiled.init_list, compiled.start, compiled.end
        for row in rows:
            obj = model.from_db(alias, init_list, row[start:end])
            for populator in compiled.populators:
                populator.populate(row, obj)
            for attribute, column in compiled.annotations:
                setattr(obj, attribute, row[column])
            out.append(obj)
        return out, model  # type: ignore[return-value]

    def first(self, **values: Any) -> M | None:
        """The first row or None (``build`` orders and slices, as ``QuerySet.first`` would)."""
        rows = self.all(**values)
        return rows[0] if rows else None

    def get(self, **values: Any) -> M:
        """The one row, as ``QuerySet.get``: DoesNotExist or MultipleObjectsReturned otherwise."""
        rows, model = self._run(values)
        if len(rows) == 1:
            return rows[0]
        if not rows:
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")  # type: ignore[attr-defined]
        raise model.MultipleObjectsReturned(  # type: ignore[attr-defined]
            f"get() returned more than one {model._meta.object_name} -- it returned {len(rows)}!"
        )


class PreparedValues(_Base):
    """A ``values()`` query compiled once and run with new values: rows as dicts, as ``values()`` gives."""

    iterable = ValuesIterable

    def all(self, **values: Any) -> list[dict[str, Any]]:
        return self._ahead(values, lambda: self._rows(values))

    def _rows(self, values: dict[str, Any]) -> list[dict[str, Any]]:
        compiled, _, rows = self._execute(values)
        names = compiled.names
        return [dict(zip(names, row, strict=False)) for row in rows]


# --- reading ahead --------------------------------------------------------------------------------------

_read: contextvars.ContextVar[dict[tuple[Any, Any], list[Any]] | None] = contextvars.ContextVar(
    "orderfactory_read_ahead", default=None
)


def _key(values: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        (name, tuple(value) if isinstance(value, list) else value) for name, value in sorted(values.items())
    )


@contextmanager
def ahead() -> Iterator[None]:
    """Inside, a query's calls answer from what was read before: the rows a caller read set-wise and gave it
    (``fill``), and, for a ``shared`` query, what its first call with the same values read (a market's stock
    locations, read once for a group of copies). For a block that reads what it does not write meanwhile
    (a group of order copies holds its writes back until it ends: factories/groups.py)."""
    token = _read.set({})
    try:
        yield
    finally:
        _read.reset(token)
