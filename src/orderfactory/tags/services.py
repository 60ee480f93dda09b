"""Tags and tagging: a tag's own writes, and the three ways a taggable row's tags change (its ``tags``
relationship replaced, its ``_add_tags`` and ``_remove_tags`` triggers), the same for every resource."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import IntegrityError, transaction

from orderfactory.core.errors import CommonErrorCode, DomainError, Problem, problem
from orderfactory.core.errors import blank as blank_problem
from orderfactory.tags.models import Tag, TagLink

# Commerce Layer's rules: at most 25 characters among a-z, 0-9, ``_``, ``-`` and ``:``, stored lower case; at
# most 10 tags on one row.
NAME = re.compile(r"[a-z0-9_:\-]+")
MAX_NAME = 25
MAX_TAGS = 10


def name_problems(tag: Tag) -> list[Problem]:
    name = tag.name
    if name is None or not name.strip():
        return [blank_problem("name")]
    if len(name) > MAX_NAME:
        return [
            problem(
                "name",
                f"is too long (maximum is {MAX_NAME} characters)",
                CommonErrorCode.TOO_LONG,
                count=MAX_NAME,
            )
        ]
    if not NAME.fullmatch(name):
        return [problem("name", "is invalid", CommonErrorCode.INVALID, value=name)]
    if Tag.objects.filter(name=name).exclude(pk=tag.pk).exists():
        return [problem("name", "has already been taken", CommonErrorCode.TAKEN, value=name)]
    return []


def save_tag(tag: Tag, changes: dict[str, Any]) -> Tag:
    """Create (an unsaved ``tag``) or update a tag; its name is stored lower case, as Commerce Layer does."""
    for column, value in changes.items():
        setattr(tag, column, value)
    if isinstance(tag.name, str):
        tag.name = tag.name.lower()
    found = name_problems(tag)
    if found:
        raise DomainError(found)
    try:
        with transaction.atomic():  # its own savepoint: a lost race on the name rolls back alone
            tag.save()
    except IntegrityError:
        raise DomainError([problem("name", "has already been taken", CommonErrorCode.TAKEN)]) from None
    return tag


def _names(text: Any) -> list[str]:
    """The names a trigger's comma-separated list gives, lower case, each once; blank items dropped."""
    if not isinstance(text, str):
        return []
    return list(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))


def _tagged(resource_id: str) -> list[str]:
    return list(TagLink.objects.filter(resource_id=resource_id).values_list("tag_id", flat=True))


def _write(resource_type: str, resource_id: str, current: Sequence[str], wanted: Iterable[str]) -> None:
    wanted = list(dict.fromkeys(wanted))
    if len(wanted) > MAX_TAGS:
        raise DomainError.of(
            CommonErrorCode.TOO_LONG,
            "tags",
            f"is too long (maximum is {MAX_TAGS} tags)",
            pointer="/data/relationships/tags",
            count=MAX_TAGS,
        )
    dropped = set(current) - set(wanted)
    if dropped:
        TagLink.objects.filter(resource_id=resource_id, tag_id__in=dropped).delete()
    added = [t for t in wanted if t not in set(current)]
    if added:
        # A concurrent request adding the same tag to the same row is no error: the row has it.
        TagLink.objects.bulk_create(
            [TagLink(tag_id=t, resource_type=resource_type, resource_id=resource_id) for t in added],
            ignore_conflicts=True,
        )


def set_tags(resource_type: str, resource_id: str, tags: Sequence[Tag]) -> None:
    """The ``tags`` relationship written: the row's tags become exactly these (linkage loaded in scope)."""
    _write(resource_type, resource_id, _tagged(resource_id), (t.pk for t in tags))


def add_tags(resource_type: str, resource_id: str, names: Any) -> None:
    """``_add_tags``: tag names, comma separated; duplicates, invalid and unknown names are discarded."""
    wanted = _names(names)
    if not wanted:
        return
    current = _tagged(resource_id)
    found = Tag.objects.filter(name__in=wanted).values_list("id", flat=True)
    _write(resource_type, resource_id, current, [*current, *found])


def remove_tags(resource_type: str, resource_id: str, names: Any) -> None:
    """``_remove_tags``: as ``_add_tags``, the names to take off (names the row lacks are discarded)."""
    unwanted = _names(names)
    if unwanted:
        TagLink.objects.filter(resource_id=resource_id, tag__name__in=unwanted).delete()
