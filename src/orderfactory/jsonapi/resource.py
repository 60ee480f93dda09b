"""Declarative resources, the way Commerce Layer's resources.json describes them.

A resource declares its attributes (type, flags, enum, default, required), its relationships (target type or
types, to-one or to-many, flags, required) and its actions. Flags use the contract's legend:
``C`` creatable, ``U`` updatable, ``F`` fetchable, ``f`` filterable, ``s`` sortable.

The engine (query, render, body, views) enforces the declaration; resources hold no HTTP code. Writes go
through the resource's ``create``/``update``/``delete`` hooks, which call domain services.

This module holds the resource itself and the payload its write hooks receive; attribute types live in
jsonapi.attributes and relationships in jsonapi.relationships, and are importable from here too, which is
where declarations import them from.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.db import models

from orderfactory.jsonapi import errors
from orderfactory.jsonapi.attributes import (
    JSON_NUMBER_LIMIT,
    JSON_SAFE_INTEGER,
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    NO_DEFAULT,
    Array,
    Attr,
    Boolean,
    Datetime,
    Flagged,
    Float,
    Integer,
    Object,
    String,
    format_datetime,
    json_problem,
    parse_datetime,
)
from orderfactory.jsonapi.relationships import Rel, ToMany, ToOne

# The declaration's parts, importable from here as they always were.
__all__ = [
    "ACTIONS_ALL",
    "JSON_NUMBER_LIMIT",
    "JSON_SAFE_INTEGER",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "NO_DEFAULT",
    "Array",
    "Attr",
    "Boolean",
    "Datetime",
    "Flagged",
    "Float",
    "Integer",
    "Object",
    "Payload",
    "Rel",
    "Resource",
    "String",
    "ToMany",
    "ToOne",
    "format_datetime",
    "json_problem",
    "parse_datetime",
    "resource_type_of",
    "standard_tail",
]

ACTIONS_ALL = ("list", "retrieve", "create", "update", "delete")


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
    # The service a PATCH is, when it owns its transactions (it may call out over the network between them and
    # records its own writes through core.hooks): called with the row's id and the parsed payload, with no
    # transaction of the engine's open. None: the engine's PATCH, ``update`` with the row locked and the audit
    # trail written, in the request's one transaction (views.update).
    changed_by: ClassVar[staticmethod[[str, Payload], object] | None] = None
    # Relationships and triggers the engine writes itself, after the resource's own write and in the same
    # transaction (the resource's hooks never see them): name -> write(type, row id, value), in the order they
    # apply. A declaration gains them from a helper of the domain that owns them (tags.resources.tagged).
    side_writes: ClassVar[dict[str, Callable[[str, str, Any], None]]] = {}
    # One of the resource classes Commerce Layer calls cacheable (contract d): its reads have the cacheable rate
    # limits (auth.ratelimit) and its GETs are served from the response cache (orderfactory.cache).
    cacheable: ClassVar[bool] = False
    # Whether ``create`` returns the row as its transaction leaves it: nothing changes the row after its INSERT
    # (no UPDATE through a queryset, no database default or trigger), and the row is one ``queryset()`` shows.
    # The engine then renders the 201 from that instance, after the commit, instead of reading it back inside
    # the transaction (jsonapi.documents.document_as_written; it reads it when a value is not plain).
    created_as_written: ClassVar[bool] = False
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
