"""Generic endpoints serving every declared resource.

    GET|POST          /api/<type>
    GET|PATCH|DELETE  /api/<type>/<id>
    GET               /api/<type>/<id>/<relationship>
    GET               /api/<type>/<id>/relationships/<relationship>
    GET               /api/<singleton>

The caller (orderfactory.api) has authenticated the request and activated its scope; everything here reads
through scoped querysets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import orjson
from django.db import IntegrityError, models, transaction
from django.http import HttpRequest, HttpResponse

from orderfactory.jsonapi import body, commerce_layer, errors, filters, query, registry
from orderfactory.jsonapi import resource as r
from orderfactory.jsonapi.documents import Context, attach_included, document_as_written, document_for
from orderfactory.jsonapi.render import Renderer

JSONAPI = errors.JSONAPI


def respond(document: dict[str, Any] | None, status: int = 200) -> HttpResponse:
    if document is None:
        return HttpResponse(status=status)
    return HttpResponse(orjson.dumps(document), status=status, content_type=JSONAPI)


def _items(request: HttpRequest) -> list[tuple[str, str]]:
    if len(request.META.get("QUERY_STRING", "")) > query.MAX_QUERY_STRING:
        raise errors.ApiError(
            414,
            "URI_TOO_LONG",
            "URI too long",
            f"The query string is longer than {query.MAX_QUERY_STRING} characters.",
        )
    return [(k, v) for k, values in request.GET.lists() for v in values]


def resolve(type_name: str) -> type[r.Resource]:
    resource = registry.get(type_name)
    if resource is None:
        raise errors.ApiError(
            404, "RECORD_NOT_FOUND", "Record not found", f"{type_name[:60]} is not a valid resource."
        )
    return resource


def _allow(resource: type[r.Resource], action: str, method: str, ctx: Context | None = None) -> None:
    if action not in resource.actions:
        raise errors.method_not_allowed(method)
    if ctx is not None and ctx.public and action not in resource.sales_channel_actions:
        raise errors.unauthorized()


def _allow_public(target: type[r.Resource], ctx: Context) -> None:
    """A relationship endpoint needs the relationship declared, not the target's own list action (event_stores
    has no list endpoint but every resource lists its own); public callers still need to be able to read it."""
    if ctx.public and "retrieve" not in target.sales_channel_actions:
        raise errors.unauthorized()


def _get_instance(resource: type[r.Resource], rid: str, *, lock: bool = False) -> models.Model:
    if len(rid) > 64 or "\x00" in rid:
        raise errors.not_found()
    qs = resource.queryset()
    if lock:
        qs = qs.select_for_update()
    instance = qs.filter(pk=rid).first()
    if instance is None:
        raise errors.not_found()
    return instance


def dispatch(
    request: HttpRequest, ctx: Context, type_name: str, rid: str | None, rel_name: str | None, linkage: bool
) -> HttpResponse:
    resource = resolve(type_name)
    method = request.method or "GET"
    if method == "HEAD":  # a GET whose body the caller (orderfactory.api) leaves out
        method = "GET"
    if resource.singleton:
        if method != "GET":
            raise errors.method_not_allowed(method)
        _allow(resource, "retrieve", method, ctx)
        if rid is None:
            return retrieve(request, ctx, resource, None)
        # /api/<singleton>/<relationship> and /api/<singleton>/relationships/<relationship>
        if linkage or (rel_name is not None and rid != "relationships"):
            raise errors.not_found()
        instance = resource.queryset().first()
        if instance is None:
            raise errors.not_found()
        if rel_name is not None:
            return related(request, ctx, resource, instance.pk, rel_name, True)
        return related(request, ctx, resource, instance.pk, rid, False)
    if rel_name is not None:
        if method != "GET":
            raise errors.method_not_allowed(method)
        _allow(resource, "retrieve", method, ctx)
        assert rid is not None
        return related(request, ctx, resource, rid, rel_name, linkage)
    if rid is None:
        if method == "GET":
            _allow(resource, "list", method, ctx)
            return list_(request, ctx, resource)
        if method == "POST":
            _allow(resource, "create", method, ctx)
            return create(request, ctx, resource)
        raise errors.method_not_allowed(method)
    if method == "GET":
        _allow(resource, "retrieve", method, ctx)
        return retrieve(request, ctx, resource, rid)
    if method == "PATCH":
        _allow(resource, "update", method, ctx)
        return update(request, ctx, resource, rid)
    if method == "DELETE":
        _allow(resource, "delete", method, ctx)
        return delete(request, ctx, resource, rid)
    raise errors.method_not_allowed(method)


# --- reads ------------------------------------------------------------------------------------------------


def _page_links(request: HttpRequest, ctx: Context, q: query.Query, page_count: int) -> dict[str, str]:
    kept = [(k, v) for k, v in q.params if k not in ("page[number]", "page[size]")]
    base = f"{ctx.base_url}{request.path}"

    def link(number: int) -> str:
        return f"{base}?{urlencode([*kept, ('page[number]', str(number)), ('page[size]', str(q.page_size))])}"

    last = max(page_count, 1)
    links = {"first": link(1)}
    if q.page_number > 1:
        links["prev"] = link(min(q.page_number - 1, last))
    if q.page_number < page_count:
        links["next"] = link(q.page_number + 1)
    links["last"] = link(last)
    return links


def render_list(
    request: HttpRequest, ctx: Context, resource: type[r.Resource], qs: models.QuerySet
) -> HttpResponse:
    q = query.parse(resource, _items(request), collection=True)
    with filters.planned_for_the_tenant(q.filters):
        return _render_list(request, ctx, resource, qs, q)


def _render_list(
    request: HttpRequest, ctx: Context, resource: type[r.Resource], qs: models.QuerySet, q: query.Query
) -> HttpResponse:
    qs = query.filtered(resource, qs, q)
    ordering = query.order_by(resource, q.sort)
    ordered = qs.order_by(*ordering)
    filter_params = tuple((k, v) for k, v in q.params if k.startswith("filter["))
    record_count = ctx.count((ctx.public, request.path, filter_params), ordered)
    page_count = math.ceil(record_count / q.page_size)
    offset = (q.page_number - 1) * q.page_size
    renderer = Renderer(ctx.base_url, ctx.meta, q.fields, public=ctx.public)
    if offset >= record_count:
        data: list[dict[str, Any]] = []
    else:
        page = ordered[offset : offset + q.page_size]
        if offset:
            # A deferred join: the keys of the page are found in the list's index alone (the rows skipped are
            # never read), then only the page's rows are read.
            page = resource.queryset().filter(pk__in=page.values("pk")).order_by(*ordering)
        data = renderer.render_with_includes(resource, page, q.include)
    document: dict[str, Any] = {"data": data}
    attach_included(document, renderer, data)
    document["meta"] = {"record_count": record_count, "page_count": page_count}
    document["links"] = _page_links(request, ctx, q, page_count)
    return respond(document)


def list_(request: HttpRequest, ctx: Context, resource: type[r.Resource]) -> HttpResponse:
    return render_list(request, ctx, resource, resource.queryset())


def render_one(
    request: HttpRequest | None,
    ctx: Context,
    resource: type[r.Resource],
    rid: str | None,
    status: int = 200,
    items: list[tuple[str, str]] | None = None,
) -> HttpResponse:
    document = document_for(
        ctx, resource, rid, items if items is not None else (_items(request) if request else [])
    )
    return respond(document, status)


def retrieve(request: HttpRequest, ctx: Context, resource: type[r.Resource], rid: str | None) -> HttpResponse:
    return render_one(request, ctx, resource, rid)


def related(
    request: HttpRequest, ctx: Context, resource: type[r.Resource], rid: str, rel_name: str, linkage: bool
) -> HttpResponse:
    endpoint = resource.endpoints.get(rel_name) if not linkage else None
    if endpoint is not None:
        return endpoint(request, ctx, _get_instance(resource, rid))
    rel = resource.relationship(rel_name)
    if rel is None:
        known = commerce_layer.relationship(resource.type, rel_name)
        if known is None:
            raise errors.ApiError(
                404,
                "RECORD_NOT_FOUND",
                "Record not found",
                f"{rel_name[:60]} is not a valid relationship of {resource.type}.",
            )
        # Commerce Layer's, to resources not served: nothing is related (docs/decisions.md); the query string
        # names a resource we do not have, so there is nothing to check it against.
        _get_instance(resource, rid)
        if not known.to_many:
            return respond({"data": None})
        return respond(
            {"data": []} if linkage else {"data": [], "meta": {"record_count": 0, "page_count": 0}}
        )
    parent = _get_instance(resource, rid)
    if isinstance(rel, r.ToOne):
        parent_row = resource.queryset().filter(pk=parent.pk).values("id", *rel.fetch_columns).first()
        ident = rel.identifier(parent_row) if parent_row else None
        target = registry.get(ident[0]) if ident else None
        if target is not None:
            _allow_public(target, ctx)
        if ident is None or target is None or not target.queryset().filter(pk=ident[1]).exists():
            return respond({"data": None})
        if linkage:
            return respond({"data": {"type": ident[0], "id": ident[1]}})
        return render_one(request, ctx, target, ident[1])
    assert isinstance(rel, r.ToMany)

    def rows_of(target: type[r.Resource]) -> models.QuerySet:
        _allow_public(target, ctx)
        if rel.queryset is not None:
            return rel.queryset(target.queryset(), [parent.pk])
        assert rel.reverse is not None
        return target.queryset().filter(**{rel.reverse: parent.pk})

    if linkage:
        linked: list[tuple[Any, dict[str, str]]] = []
        for type_name in rel.targets:
            target = registry.get(type_name)
            if target is None:
                continue
            ordered = rows_of(target).order_by(*query.order_by(target, []))
            rows = ordered.values_list("created_at", "id")[: query.MAX_PAGE_SIZE * 40]
            linked += [((at, i) if rel.polymorphic else (), {"type": target.type, "id": i}) for at, i in rows]
        if rel.polymorphic:  # the kinds in the order they were written, as the include links them
            linked.sort(key=lambda pair: pair[0])
        return respond({"data": [ident for _when, ident in linked]})
    target = registry.get(rel.listed_as)
    if target is None:
        return respond({"data": [], "meta": {"record_count": 0, "page_count": 0}})
    return render_list(request, ctx, target, rows_of(target))


# --- writes -----------------------------------------------------------------------------------------------


def _document(request: HttpRequest) -> Any:
    return body.decode(request.body)


def _snapshot(resource: type[r.Resource], instance: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


SideWrites = list[tuple[Callable[[str, str, Any], None], Any]]


def _take_side_writes(resource: type[r.Resource], payload: r.Payload, ctx: Context) -> SideWrites:
    """The payload's relationships and triggers the engine writes itself (Resource.side_writes), taken out of
    it so that the resource's own write never sees them. A sales channel may pass none of them (Commerce
    Layer's tags "cannot be passed by sales channels")."""
    taken: SideWrites = []
    for name, write in resource.side_writes.items():
        for section, part in (("relationships", payload.relationships), ("attributes", payload.triggers)):
            if name in part:
                if ctx.public:
                    raise errors.param_not_allowed(name, pointer=f"/data/{section}/{name}")
                taken.append((write, part.pop(name)))
    return taken


def _only_side_writes(payload: r.Payload, side: SideWrites) -> bool:
    """Whether the PATCH changes nothing but what the engine writes itself: the resource's own write is not
    run (Commerce Layer tags an order that is no longer editable when the PATCH carries only its tags)."""
    return bool(side) and not (payload.attributes or payload.relationships or payload.triggers)


def _side_write(resource: type[r.Resource], rid: str, side: SideWrites) -> None:
    for write, value in side:
        write(resource.type, rid, value)


def _parsed_ahead(resource: type[r.Resource]) -> bool:
    """Whether a create's body may be parsed before its transaction: the rows it links are read for their key
    only (every creatable relationship declares ``reads=()``), so all it learns of them is that they exist
    in the caller's scope, which the foreign keys hold until the commit. On SQLite the transaction is the
    database's one writer: the parsing and its reads then happen before it starts."""
    return all(rel.reads == () for rel in resource.all_relationships() if rel.creatable)


def create(request: HttpRequest, ctx: Context, resource: type[r.Resource]) -> HttpResponse:
    document = _document(request)
    items = _items(request)
    ahead = body.parse(resource, document, action="create") if _parsed_ahead(resource) else None
    try:
        with transaction.atomic():
            payload = ahead or body.parse(resource, document, action="create")
            side = _take_side_writes(resource, payload, ctx)

            def run() -> models.Model:
                instance = resource.create(payload)
                _side_write(resource, instance.pk, side)
                return instance

            instance = body.write(payload, run)
            if ctx.on_write:
                ctx.on_write("create", resource.type, instance, None)
            written = None
            if resource.created_as_written and not items and not side:
                written = document_as_written(ctx, resource, instance)  # not read back
            if written is None:
                return render_one(None, ctx, resource, instance.pk, status=201, items=items)
    except IntegrityError:
        if ahead is None:
            raise
        # A row the body links, found when it was parsed ahead, was deleted before the commit (its foreign
        # key refused the write): parsed again, the body gets the answer it gets once that row is gone.
        body.parse(resource, document, action="create")
        raise
    return respond(written, 201)  # serialized once committed: the transaction ends sooner


def update(request: HttpRequest, ctx: Context, resource: type[r.Resource], rid: str) -> HttpResponse:
    document = _document(request)
    items = _items(request)
    if resource.changed_by is not None:
        _get_instance(resource, rid)  # 404 before anything else, as the engine's own PATCH
        payload = body.parse(resource, document, action="update", url_id=rid)
        if payload.refused:  # the service's writes commit as they go: refused before any
            raise errors.ApiErrors(payload.refused)
        side = _take_side_writes(resource, payload, ctx)
        if not _only_side_writes(payload, side):
            resource.changed_by(rid, payload)
        if side:
            with transaction.atomic():  # after the service's: a refused change tags nothing
                _side_write(resource, rid, side)
        return render_one(None, ctx, resource, rid, items=items)
    with transaction.atomic():
        instance = _get_instance(resource, rid, lock=True)
        payload = body.parse(resource, document, action="update", url_id=rid)
        before = _snapshot(resource, instance)
        side = _take_side_writes(resource, payload, ctx)

        def run() -> models.Model:
            updated = instance if _only_side_writes(payload, side) else resource.update(instance, payload)
            _side_write(resource, rid, side)
            return updated

        instance = body.write(payload, run)
        if ctx.on_write:
            ctx.on_write("update", resource.type, instance, before)
        return render_one(None, ctx, resource, rid, items=items)


def delete(request: HttpRequest, ctx: Context, resource: type[r.Resource], rid: str) -> HttpResponse:
    with transaction.atomic():
        instance = _get_instance(resource, rid, lock=True)
        before = _snapshot(resource, instance)
        if ctx.on_write:
            ctx.on_write("destroy", resource.type, instance, before)
        resource.delete(instance)
    return respond(None, 204)
