"""The document of one resource, as ``GET /api/<type>/<id>`` renders it: built here for the endpoints
(jsonapi.views) and for what is rendered outside any request (webhook payloads), so neither reaches into
the other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models

from orderfactory.jsonapi import errors, query
from orderfactory.jsonapi import resource as r
from orderfactory.jsonapi.render import Renderer, row_as_written


@dataclass
class Context:
    """What the glue layer hands the engine for one request."""

    base_url: str
    meta: dict[str, Any]
    # Hooks run inside the write transaction (events, audit): (action, resource type, instance, before) -> None
    on_write: Callable[[str, str, models.Model, dict[str, Any] | None], None] | None = None
    # Public (sales channel) callers may only do what a resource opens to them (Resource.sales_channel_actions).
    public: bool = False
    # How a list's meta.record_count is counted: (what names the list: caller kind, path, filters; its queryset
    # in list order) -> rows. The glue layer may keep counts (orderfactory.cache.count).
    count: Callable[[tuple[Any, ...], models.QuerySet], int] = lambda key, ordered: ordered.count()


def document_for(
    ctx: Context, resource: type[r.Resource], rid: str | None, items: list[tuple[str, str]]
) -> dict[str, Any]:
    """The document of one resource, as ``GET /api/<type>/<id>?<items>`` renders it (also used for webhook
    payloads, outside any request). Raises 404 when the caller cannot see it."""
    q = query.parse(resource, items, collection=False)
    if rid is not None and (len(rid) > 64 or "\x00" in rid):
        raise errors.not_found()
    renderer = Renderer(ctx.base_url, ctx.meta, q.fields, public=ctx.public, detail=True)
    if rid is None:  # a singleton
        data = renderer.render_with_includes(resource, resource.queryset()[:1], q.include)
    else:
        data = renderer.render_one_with_includes(resource, rid, q.include)
    if not data:
        raise errors.not_found()
    document: dict[str, Any] = {"data": data[0]}
    attach_included(document, renderer, data)
    return document


def document_as_written(
    ctx: Context, resource: type[r.Resource], instance: models.Model
) -> dict[str, Any] | None:
    """The document ``document_for`` renders for ``instance`` with no query parameters, from the instance as
    its write left it (Resource.created_as_written), without reading it back; None when a value of it is not
    what the database would give back (jsonapi.render.row_as_written): then it must be read, in the write's
    transaction still (a worker may move a committed row on)."""
    renderer = Renderer(ctx.base_url, ctx.meta, public=ctx.public, detail=True)
    plan = renderer.plan(resource)
    row = row_as_written(instance, plan)
    if row is None:
        return None
    return {"data": renderer.resource_object(resource, row, plan, detail=True)}


def attach_included(document: dict[str, Any], renderer: Renderer, data: list[dict[str, Any]]) -> None:
    if not renderer.included:
        return
    primary = {(o["type"], o["id"]) for o in data}
    document["included"] = [o for k, o in renderer.included.items() if k not in primary]
