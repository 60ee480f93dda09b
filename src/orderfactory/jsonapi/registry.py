"""The served resources, by JSON:API type."""

from __future__ import annotations

from orderfactory.jsonapi import resource as r

_BY_TYPE: dict[str, type[r.Resource]] = {}


def register(cls: type[r.Resource]) -> type[r.Resource]:
    """Class decorator: serve this resource. The first resource registered for a model names its type."""
    cls.prepare()
    if cls.type in _BY_TYPE:
        raise ValueError(f"resource type {cls.type} registered twice")
    _BY_TYPE[cls.type] = cls
    r._MODEL_TYPES.setdefault(cls.model, cls.type)
    return cls


def get(type_name: str) -> type[r.Resource] | None:
    return _BY_TYPE.get(type_name)


def cacheable(type_name: str) -> bool:
    """Whether ``type_name`` is a served resource declared cacheable (Resource.cacheable)."""
    resource = _BY_TYPE.get(type_name)
    return resource is not None and resource.cacheable


def all_resources() -> dict[str, type[r.Resource]]:
    return dict(_BY_TYPE)
