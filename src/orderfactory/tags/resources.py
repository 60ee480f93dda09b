"""The tags resource, and ``tagged``: the one line that makes a resource taggable."""

from __future__ import annotations

from typing import TypeVar

from django.db import models

from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import Payload, Resource, String, ToMany
from orderfactory.tags import services
from orderfactory.tags.models import Tag

TRIGGERS = ("_add_tags", "_remove_tags")

R = TypeVar("R", bound=type[Resource])


def tagged(resource: R) -> R:
    """Class decorator, under ``@registry.register``: the resource gets Commerce Layer's ``tags`` relationship
    and its ``_add_tags`` / ``_remove_tags`` triggers, written by the engine beside the resource's own write
    (Resource.side_writes) in the order Commerce Layer applies them: the relationship, additions, removals."""
    resource.attributes = (
        *(a for a in resource.attributes if a.name not in TRIGGERS),
        *(String(name, "U", trigger=True) for name in TRIGGERS),
    )
    # The tags of a row are the tags whose links name it: listed, included and filtered through the link table
    # in one join (docs/decisions.md, "Tags").
    resource.relationships = (
        *resource.relationships,
        ToMany("tags", "tags", "CUf", reverse="links__resource_id"),
    )
    resource.side_writes = {
        **resource.side_writes,
        "tags": services.set_tags,
        "_add_tags": services.add_tags,
        "_remove_tags": services.remove_tags,
    }
    return resource


@registry.register
class TagResource(Resource):
    type = "tags"
    model = Tag
    attributes = (String("name", "CUFfs", required=True),)

    @classmethod
    def create(cls, payload: Payload) -> models.Model:
        return services.save_tag(Tag(), payload.model_fields(cls))

    @classmethod
    def update(cls, instance: models.Model, payload: Payload) -> models.Model:
        assert isinstance(instance, Tag)
        return services.save_tag(instance, payload.model_fields(cls))
