"""Request bodies: shape, attributes and relationships checked against the declaration.

Shape errors are 400s (the request cannot be understood); missing or invalid values are 422s, all reported
at once. Relationship ids are loaded through the target resource's scoped queryset, so an id from another
organization or mode is simply not found (404).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from django.db import DataError

from orderfactory.core.errors import DomainError
from orderfactory.core.prepared import Prepared
from orderfactory.jsonapi import errors, registry
from orderfactory.jsonapi import resource as r

MAX_BODY = 2 * 1024 * 1024


def decode(raw: bytes) -> Any:
    if len(raw) > MAX_BODY:
        raise errors.payload_too_large()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise errors.bad_request(
            "The request body is not valid JSON.", code="INVALID_DATA_FORMAT", title="Invalid data format"
        ) from None


def _data(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict) or "data" not in document:
        raise errors.ApiError(
            400,
            "PARAM_MISSING",
            "Missing parameter",
            "The required parameter, data, is missing.",
            pointer="/data",
        )
    data = document["data"]
    if not isinstance(data, dict):
        raise errors.bad_request(
            "data must be an object.",
            code="INVALID_DATA_FORMAT",
            title="Invalid data format",
            pointer="/data",
        )
    return data


def parse(resource: type[r.Resource], document: Any, *, action: str, url_id: str | None = None) -> r.Payload:
    """Validate a create (``action="create"``) or update (``"update"``) body into a Payload."""
    data = _data(document)
    unknown_keys = set(data) - {"type", "id", "attributes", "relationships", "meta", "links"}
    if unknown_keys:
        raise errors.param_not_allowed(sorted(unknown_keys)[0], pointer=f"/data/{sorted(unknown_keys)[0]}")
    type_name = data.get("type")
    if type_name != resource.type:
        raise errors.ApiError(
            400,
            "INVALID_RESOURCE",
            "Invalid resource",
            f"{str(type_name)[:60]} is not a valid resource.",
            pointer="/data/type",
        )
    if action == "update":
        if data.get("id") != url_id:
            raise errors.ApiError(
                400,
                "KEY_NOT_INCLUDED_IN_URL",
                "Key is not included in URL",
                f"The URL does not include the key {str(data.get('id'))[:40]}.",
                pointer="/data/id",
            )
    elif "id" in data:
        raise errors.param_not_allowed("id", pointer="/data/id")

    # null stands for none, as Commerce Layer's OpenAPI document allows
    attributes = {} if data.get("attributes") is None else data["attributes"]
    relationships = {} if data.get("relationships") is None else data["relationships"]
    for name, value in (("attributes", attributes), ("relationships", relationships)):
        if not isinstance(value, dict):
            raise errors.bad_request(
                f"{name} must be an object.",
                code="INVALID_DATA_FORMAT",
                title="Invalid data format",
                pointer=f"/data/{name}",
            )

    payload = r.Payload()
    flag = "creatable" if action == "create" else "updatable"
    problems: list[errors.ApiError] = []
    for name, value in attributes.items():
        attr = resource.attribute(name)
        if attr is None or not getattr(attr, flag):
            raise errors.param_not_allowed(name, pointer=f"/data/attributes/{name}")
        try:
            parsed = attr.parse(value, f"/data/attributes/{name}")
        except errors.ApiError as exc:
            if exc.status != 422:
                raise
            problems.append(exc)  # a rule broken (a JSON attribute's bounds): reported with every other one
            continue
        beyond = attr.beyond_column(parsed, f"/data/attributes/{name}")
        if beyond is not None:
            payload.refused.append(beyond)
        if attr.trigger:
            payload.triggers[name] = parsed
        else:
            payload.attributes[name] = parsed

    for name, value in relationships.items():
        rel = resource.relationship(name)
        if rel is None or not getattr(rel, flag):
            raise errors.param_not_allowed(name, pointer=f"/data/relationships/{name}")
        payload.relationships[name] = _load_relationship(rel, value)

    for attr in resource.all_attributes():
        if attr.name not in payload.attributes or attr.trigger:
            if (
                action == "create"
                and attr.required
                and attr.creatable
                and attr.default is r.NO_DEFAULT
                and not attr.trigger
            ):
                problems.append(errors.blank(attr.name))
            continue
        value = payload.attributes[attr.name]
        if value is None and (attr.required or not attr.nullable):
            if attr.default is not r.NO_DEFAULT and not attr.required:
                payload.attributes[attr.name] = attr.default
                continue
            problems.append(errors.blank(attr.name))
        elif attr.enum is not None and value is not None and value not in attr.enum:
            problems.append(
                errors.validation(attr.name, "is not included in the list", "inclusion", value=value)
            )
    if action == "create":
        for rel in resource.all_relationships():
            if rel.required and rel.creatable and payload.relationships.get(rel.name) is None:
                problems.append(errors.blank(rel.name, relationship=True))
    elif action == "update":
        for name, target in payload.relationships.items():
            rel = resource.relationship(name)
            if rel is not None and rel.required and target is None:
                problems.append(errors.blank(name, relationship=True))
    if problems:
        raise errors.ApiErrors(_with(problems, payload.refused))
    return payload


def _with(problems: list[errors.ApiError], more: list[errors.ApiError]) -> list[errors.ApiError]:
    """``problems``, then those of ``more`` about something else (one problem per pointer is enough)."""
    pointers = {p.pointer for p in problems}
    return problems + [p for p in more if p.pointer not in pointers]


def write(payload: r.Payload, run: Callable[[], Any]) -> Any:
    """Run a resource's write of ``payload``. When a value was refused for its column (``payload.refused``),
    the write still runs so that its own problems are reported with the refusal; nothing it wrote survives,
    since the refusal is raised out of the caller's transaction."""
    if not payload.refused:
        return run()
    try:
        run()
    except DomainError as exc:
        rendered = errors.from_domain(exc)
        if rendered.status != 422:
            raise rendered from None
        raise errors.ApiErrors(_with(rendered.errors, payload.refused)) from None
    except errors.ApiErrors as exc:
        if exc.status != 422:
            raise
        raise errors.ApiErrors(_with(exc.errors, payload.refused)) from None
    except errors.ApiError as exc:
        if exc.status != 422:
            raise
        raise errors.ApiErrors(_with([exc], payload.refused)) from None
    except (DataError, OverflowError):
        pass  # the value reached the database, which could not hold it either
    raise errors.ApiErrors(payload.refused)


def _load_relationship(rel: r.Rel, value: Any) -> Any:
    pointer = f"/data/relationships/{rel.name}"
    if not isinstance(value, dict) or "data" not in value:
        raise errors.bad_request(
            f"{rel.name} must be an object with data.",
            code="INVALID_DATA_FORMAT",
            title="Invalid data format",
            pointer=pointer,
        )
    linkage = value["data"]
    if rel.to_many:
        if not isinstance(linkage, list):
            raise errors.bad_request(
                f"{rel.name} data must be an array.",
                code="INVALID_DATA_FORMAT",
                title="Invalid data format",
                pointer=pointer,
            )
        return [_load_one(rel, item, pointer) for item in linkage]
    if linkage is None:
        return None
    return _load_one(rel, linkage, pointer)


def _load_one(rel: r.Rel, linkage: Any, pointer: str) -> Any:
    if (
        not isinstance(linkage, dict)
        or not isinstance(linkage.get("type"), str)
        or not isinstance(linkage.get("id"), str)
    ):
        raise errors.bad_request(
            f"{rel.name} data must have a type and an id.",
            code="INVALID_DATA_FORMAT",
            title="Invalid data format",
            pointer=pointer,
        )
    type_name, rid = linkage["type"], linkage["id"]
    target = registry.get(type_name)
    if type_name not in rel.targets or target is None:
        raise errors.ApiError(
            400,
            "INVALID_RELATIONSHIP",
            "Invalid relationship",
            f"{type_name[:60]} is not a valid type for {rel.name}.",
            pointer=f"{pointer}/data/type",
        )
    instance = _linked(target, rid, rel.reads) if len(rid) <= 64 and "\x00" not in rid else None
    if instance is None:
        raise errors.ApiError(
            404,
            "RECORD_NOT_FOUND",
            "Record not found",
            f"The {type_name} {rid[:40]} of {rel.name} was not found.",
            pointer=pointer,
        )
    return instance


def _link_query(target: type[r.Resource], reads: tuple[str, ...] | None, pk: str) -> Any:
    query = target.queryset().filter(pk=pk)
    if reads is not None:
        query = query.only("pk", *reads)
    return query[:1]  # the key is unique: no ordering needed


# The row a linkage names, by (resource, columns read), compiled once: every create and update that links a
# row runs one (for resources whose queryset is preparable: Resource.scope_only_queryset).
_LINKED: dict[tuple[type[r.Resource], tuple[str, ...] | None], Prepared[Any]] = {}


def _linked(target: type[r.Resource], rid: str, reads: tuple[str, ...] | None) -> Any:
    if not target.preparable():
        return next(iter(_link_query(target, reads, rid)), None)
    prepared = _LINKED.get((target, reads))
    if prepared is None:
        prepared = _LINKED[(target, reads)] = Prepared(lambda pk: _link_query(target, reads, pk))
    return prepared.first(pk=rid)
