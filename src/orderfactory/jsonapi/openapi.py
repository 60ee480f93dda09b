"""An OpenAPI 3.1 document of exactly what the engine serves, generated from the resource declarations.

Per served type: its operations (by its actions), its attributes with their types, flags (``x-flags``, the
contract's legend ``CUFfs``), enums and integer ranges, its relationships and the targets they take, the
relationship endpoints, the ``filter[q]`` keys each filterable attribute accepts, and the ``include``,
``fields``, ``sort`` and ``page`` parameters; every error a request may get, with the JSON:API error
schema. The document is the contract the fuzzing in the test suite holds the server to (tests/test_fuzz.py).
"""

from __future__ import annotations

import re
from typing import Any

from orderfactory.jsonapi import filters, query, registry
from orderfactory.jsonapi import resource as r

JSONAPI = "application/vnd.api+json"
ID_PATTERN = "^[A-Za-z0-9]{10}$"

# The errors each kind of operation may answer (besides the transient 503 every one may get).
_ERRORS = {
    "list": (400, 401, 406, 414, 429),
    "retrieve": (400, 401, 404, 406, 414, 429),
    "create": (400, 401, 404, 406, 413, 414, 415, 422, 429),
    "update": (400, 401, 404, 406, 413, 414, 415, 422, 423, 429),
    "delete": (400, 401, 404, 406, 414, 422, 423, 429),
}
REASONS = {
    400: "Bad request",
    401: "Unauthorized: no token, or an invalid one",
    404: "Not found",
    406: "Not acceptable",
    413: "Payload too large",
    414: "URI too long",
    415: "Unsupported media type",
    422: "Validation error",
    423: "Locked: other resources depend on it",
    429: "Too many requests",
    503: "Service unavailable (transient database contention): retry",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "type": [schema["type"], "null"]} if "type" in schema else schema


def attribute_schema(attr: r.Attr, *, request: bool) -> dict[str, Any]:
    """The JSON schema of an attribute's value: in a request, with its enum, range and nullability; in a
    response, its type (and null)."""
    schema: dict[str, Any] = {"type": attr.type_name}
    if isinstance(attr, r.Datetime):
        schema = {"type": "string", "format": "date-time"}
    elif isinstance(attr, r.Float):
        schema = {"type": "number"}
    elif isinstance(attr, r.Integer) and request:
        schema["minimum"], schema["maximum"] = attr.minimum, attr.maximum
    elif isinstance(attr, r.String) and attr.max_length is not None and request:
        schema["maxLength"] = attr.max_length
    elif isinstance(attr, (r.Object, r.Array)) and request:
        schema["maxProperties" if isinstance(attr, r.Object) else "maxItems"] = 64
    if request and attr.enum:
        schema["enum"] = list(attr.enum)
    if not request or not attr.required:  # null stands for the default of an attribute not nullable
        schema = _nullable(schema)
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    schema["x-flags"] = attr.flags
    return schema


def _linkage(rel: r.Rel) -> dict[str, Any]:
    identifier = {
        "type": "object",
        "required": ["type", "id"],
        "properties": {"type": {"enum": list(rel.targets)}, "id": {"type": "string"}},
    }
    if rel.to_many:
        return {"type": "array", "items": identifier}
    return {"anyOf": [identifier, {"type": "null"}]}


def _resource_object(resource: type[r.Resource]) -> dict[str, Any]:
    attributes = {
        a.name: attribute_schema(a, request=False)
        for a in resource.all_attributes()
        if a.fetchable and a.name != "id"
    }
    relationships = {
        rel.name: {
            "type": "object",
            "required": ["links"],
            "properties": {"links": _ref("RelationshipLinks"), "data": _linkage(rel)},
            "additionalProperties": False,
        }
        for rel in resource.all_relationships()
    }
    return {
        "type": "object",
        "required": ["id", "type", "links", "attributes", "relationships", "meta"],
        "properties": {
            "id": {"type": "string"},
            "type": {"const": resource.type},
            "links": {
                "type": "object",
                "required": ["self"],
                "properties": {"self": {"type": "string"}},
                "additionalProperties": False,
            },
            "attributes": {"type": "object", "properties": attributes, "additionalProperties": False},
            "relationships": {"type": "object", "properties": relationships, "additionalProperties": False},
            "meta": {"type": "object"},
        },
        "additionalProperties": False,
    }


def _request_body(resource: type[r.Resource], action: str) -> dict[str, Any]:
    flag = "creatable" if action == "create" else "updatable"
    attributes = {
        a.name: attribute_schema(a, request=True) for a in resource.all_attributes() if getattr(a, flag)
    }
    relationships = {
        rel.name: {
            "type": "object",
            "required": ["data"],
            "properties": {"data": _linkage(rel)},
        }
        for rel in resource.all_relationships()
        if getattr(rel, flag)
    }
    data: dict[str, Any] = {
        "type": "object",
        "required": ["type", "id"] if action == "update" else ["type"],
        "properties": {
            "type": {"const": resource.type},
            "attributes": {
                "type": ["object", "null"],
                "properties": attributes,
                "additionalProperties": False,
            },
            "relationships": {
                "type": ["object", "null"],
                "properties": relationships,
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    }
    if action == "update":
        data["properties"]["id"] = {"type": "string"}
    return {
        "required": True,
        "content": {
            media: {"schema": {"type": "object", "required": ["data"], "properties": {"data": data}}}
            for media in (JSONAPI, "application/json")
        },
    }


def _reachable(resource: type[r.Resource]) -> list[str]:
    """The types ``include`` can bring into a document of ``resource``."""
    seen: set[str] = set()
    level = [resource]
    for _ in range(query.MAX_INCLUDE_DEPTH):
        nxt = []
        for res in level:
            for rel in res.all_relationships():
                if not rel.includable:
                    continue
                for target in rel.targets:
                    found = registry.get(target)
                    if found is not None and target not in seen:
                        seen.add(target)
                        nxt.append(found)
        level = nxt
    return sorted(seen)


def _document(resource: type[r.Resource], *, many: bool) -> dict[str, Any]:
    one = _ref(resource.type)
    properties: dict[str, Any] = {"data": {"type": "array", "items": one} if many else one}
    included = _reachable(resource)
    if included:
        properties["included"] = {"type": "array", "items": {"anyOf": [_ref(t) for t in included]}}
    if many:
        properties["meta"] = _ref("ListMeta")
        properties["links"] = _ref("PageLinks")
    return {"type": "object", "required": ["data"], "properties": properties, "additionalProperties": False}


def _responses(action: str, success: dict[str, Any] | None, status: int) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if success is None:
        responses[str(status)] = {"description": "Done"}
    else:
        responses[str(status)] = {"description": "OK", "content": {JSONAPI: {"schema": success}}}
    for code in (*_ERRORS[action], 503):
        responses[str(code)] = {
            "description": REASONS[code],
            "content": {JSONAPI: {"schema": _ref("Errors")}},
        }
    return responses


def _filter_keys(resource: type[r.Resource]) -> list[str]:
    return sorted(
        f"{a.name}_{predicate}"
        for a in resource.all_attributes()
        if a.filterable and a.lookup is not None
        for predicate in filters.PREDICATES
        if filters.applies(predicate, a)
    )


def _choice(names: list[str]) -> str:
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


def _read_parameters(resource: type[r.Resource], *, many: bool) -> list[dict[str, Any]]:
    includable = [rel.name for rel in resource.all_relationships() if rel.includable]
    parameters: list[dict[str, Any]] = [
        {
            "name": "fields",
            "in": "query",
            "style": "deepObject",
            "explode": True,
            "description": "Sparse fieldsets: fields[<type>]=<comma-separated names>",
            "schema": {
                "type": "object",
                "properties": {t: {"type": "string"} for t in [resource.type, *_reachable(resource)]},
                "additionalProperties": False,
            },
        }
    ]
    if includable:
        path = rf"(?:{_choice(includable)})(?:\.[a-z_]+){{0,{query.MAX_INCLUDE_DEPTH - 1}}}"
        parameters.append(
            {
                "name": "include",
                "in": "query",
                "schema": {"type": "string", "pattern": rf"^{path}(?:,{path})*$"},
            }
        )
    if not many:
        return parameters
    sortable = [a.name for a in resource.all_attributes() if a.sortable and a.lookup is not None]
    if sortable:
        key = rf"-?(?:{_choice(sortable)})"
        parameters.append(
            {"name": "sort", "in": "query", "schema": {"type": "string", "pattern": rf"^{key}(?:,{key})*$"}}
        )
    parameters.append(
        {
            "name": "page",
            "in": "query",
            "style": "deepObject",
            "explode": True,
            "schema": {
                "type": "object",
                "properties": {
                    "number": {"type": "integer", "minimum": 1, "maximum": query.MAX_PAGE_NUMBER},
                    "size": {"type": "integer", "minimum": 1, "maximum": query.MAX_PAGE_SIZE},
                },
                "additionalProperties": False,
            },
        }
    )
    keys = _filter_keys(resource)
    if keys:
        parameters.append(
            {
                "name": "filter[q]",
                "in": "query",
                "style": "deepObject",
                "explode": True,
                "description": "Ransack predicates: <attribute>_<predicate>, also through relationships "
                "(<relationship>_<attribute>_<predicate>) and joined by _or_/_and_; values are text.",
                "schema": {
                    "type": "object",
                    "propertyNames": {"enum": keys},
                    "additionalProperties": {"type": "string"},
                    "maxProperties": 3,
                },
            }
        )
    return parameters


# (action, method, on the collection rather than one row, the status of success)
_OPERATIONS = (
    ("list", "get", True, 200),
    ("create", "post", True, 201),
    ("retrieve", "get", False, 200),
    ("update", "patch", False, 200),
    ("delete", "delete", False, 204),
)
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "pattern": ID_PATTERN}}


def _paths_of(resource: type[r.Resource]) -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = {}
    t = resource.type
    one_path = f"/api/{t}" if resource.singleton else f"/api/{t}/{{id}}"
    id_parameters = [] if resource.singleton else [_ID]
    tag = [t]
    for action, method, collection, status in _OPERATIONS:
        if action not in resource.actions or (collection and resource.singleton):
            continue
        parameters = [] if collection else list(id_parameters)
        if action != "delete":
            parameters += _read_parameters(resource, many=action == "list")
        operation: dict[str, Any] = {"operationId": f"{action}_{t}", "tags": tag, "parameters": parameters}
        if action in ("create", "update"):
            operation["requestBody"] = _request_body(resource, action)
        success = None if action == "delete" else _document(resource, many=action == "list")
        operation["responses"] = _responses(action, success, status)
        paths.setdefault(f"/api/{t}" if collection else one_path, {})[method] = operation
    if "retrieve" not in resource.actions:
        return paths
    for rel in resource.all_relationships():
        paths[f"{one_path}/{rel.name}"] = {"get": _related(resource, rel, id_parameters)}
        paths[f"{one_path}/relationships/{rel.name}"] = {
            "get": {
                "operationId": f"{t}_relationships_{rel.name}",
                "tags": tag,
                "parameters": id_parameters,
                "responses": _responses(
                    "retrieve",
                    {
                        "type": "object",
                        "required": ["data"],
                        "properties": {"data": _linkage(rel)},
                        "additionalProperties": False,
                    },
                    200,
                ),
            }
        }
    for name in resource.endpoints:
        paths[f"{one_path}/{name}"] = {
            "get": {
                "operationId": f"{t}_{name}",
                "tags": tag,
                "description": "An extension endpoint (docs/compatibility.md).",
                "parameters": id_parameters,
                "responses": _responses("retrieve", {"type": "object", "required": ["data"]}, 200),
            }
        }
    return paths


def _related(resource: type[r.Resource], rel: r.Rel, id_parameters: list[dict[str, Any]]) -> dict[str, Any]:
    targets = [t for t in rel.targets if registry.get(t) is not None]
    if isinstance(rel, r.ToMany) and registry.get(rel.listed_as) is not None:
        target = registry.get(rel.listed_as)  # the resource its related rows are listed through
        assert target is not None
        success = _document(target, many=True)
        parameters = _read_parameters(target, many=True)
    elif rel.to_many:
        success = {
            "type": "object",
            "required": ["data"],
            "properties": {"data": {"type": "array", "maxItems": 0}},
        }
        parameters = []
    else:
        data = {"anyOf": [*(_ref(t) for t in targets), {"type": "null"}]}
        included = sorted({t for target in targets for t in _reachable(registry.get(target))})  # type: ignore[arg-type]
        properties: dict[str, Any] = {"data": data}
        if included:
            properties["included"] = {"type": "array", "items": {"anyOf": [_ref(t) for t in included]}}
        success = {
            "type": "object",
            "required": ["data"],
            "properties": properties,
            "additionalProperties": False,
        }
        parameters = _read_parameters(registry.get(targets[0]), many=False) if len(targets) == 1 else []  # type: ignore[arg-type]
    return {
        "operationId": f"{resource.type}_{rel.name}",
        "tags": [resource.type],
        "parameters": [*id_parameters, *parameters],
        "responses": _responses("retrieve", success, 200),
    }


def components() -> dict[str, Any]:
    schemas: dict[str, Any] = {
        t: _resource_object(res) for t, res in sorted(registry.all_resources().items())
    }
    schemas["Error"] = {
        "type": "object",
        "required": ["title", "detail", "code", "status"],
        "properties": {
            "title": {"type": "string"},
            "detail": {"type": "string"},
            "code": {"type": "string"},
            "status": {"type": "string", "pattern": "^[1-5][0-9][0-9]$"},
            "source": {
                "type": "object",
                "properties": {"pointer": {"type": "string"}, "parameter": {"type": "string"}},
                "additionalProperties": False,
            },
            "meta": {"type": "object"},
        },
        "additionalProperties": False,
    }
    schemas["Errors"] = {
        "type": "object",
        "required": ["errors"],
        "properties": {"errors": {"type": "array", "minItems": 1, "items": _ref("Error")}},
        "additionalProperties": False,
    }
    schemas["ListMeta"] = {
        "type": "object",
        "required": ["record_count", "page_count"],
        "properties": {"record_count": {"type": "integer"}, "page_count": {"type": "integer"}},
    }
    schemas["PageLinks"] = {
        "type": "object",
        "required": ["first", "last"],
        "properties": {k: {"type": "string"} for k in ("first", "prev", "next", "last")},
        "additionalProperties": False,
    }
    schemas["RelationshipLinks"] = {
        "type": "object",
        "required": ["self", "related"],
        "properties": {"self": {"type": "string"}, "related": {"type": "string"}},
        "additionalProperties": False,
    }
    return {
        "schemas": schemas,
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    }


def document(*, title: str, version: str, server: str, extra_paths: dict[str, Any]) -> dict[str, Any]:
    """The whole document: every served resource's paths, then ``extra_paths`` (endpoints outside the engine,
    such as the token endpoint), which carry their own security."""
    paths: dict[str, Any] = {}
    for _, resource in sorted(registry.all_resources().items()):
        paths.update(_paths_of(resource))
    paths.update(extra_paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "servers": [{"url": server}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": components(),
    }
