"""Relationships of a resource declaration: to-one (a foreign key, or a computed target) and to-many (the rows
pointing back, or any set a function gives), with the contract's flags and whether they can be included.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from django.db import models

from orderfactory.jsonapi.attributes import Flagged


class Rel(Flagged):
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
        super().__init__(flags)
        self.name = name
        self.targets = (targets,) if isinstance(targets, str) else tuple(targets)
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
    A polymorphic one whose targets share one table may name in ``joins`` the resource listing them all (e.g.
    ``promotions``): association filters then join through it as through a single target.
    A ``resolve`` function may instead compute the target from the row (``depends`` columns). ``annotate``
    gives the targets, when included, values they have only as read through their parents (e.g. a
    shipping method's price for the shipment that chose it): ``annotate(targets, parent_rows)``."""

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
        annotate: Callable[[Any, Sequence[dict[str, Any]]], models.QuerySet] | None = None,
        joins: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(name, targets, flags, **kw)
        self.joins = joins
        self.resolve = resolve
        self.annotate = annotate
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
        target: str | Sequence[str],
        flags: str = "f",
        *,
        reverse: str | None = None,
        queryset: Callable[[Any, Sequence[str]], models.QuerySet] | None = None,
        listed_as: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(name, target, flags, **kw)
        self.reverse = reverse
        self.queryset = queryset
        # A polymorphic one (Commerce Layer's single-table kinds, e.g. an order's transactions) links and
        # includes each row as its own type, read through each target's queryset (one query per type, as a
        # polymorphic to-one); its related endpoint lists the rows through ``listed_as``, the resource that
        # serves them all (default: the first target).
        self.listed_as = listed_as or self.targets[0]
