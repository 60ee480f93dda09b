"""Every resource we serve matches Commerce Layer's own schema (resources.json), field by field, except for the
deviations listed in docs/compatibility.md — and every listed deviation still deviates."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import Resource

REPO = Path(__file__).resolve().parents[1]
# Commerce Layer's own schema, kept in the repository with its source and version (tests/data/commerce-layer/SOURCES.md).
SCHEMA = Path(__file__).resolve().parent / "data" / "commerce-layer" / "resources.json"
DOC = REPO / "docs" / "compatibility.md"
FLAGS = ("creatable", "updatable", "fetchable", "filterable", "sortable")
RESOURCE_LEVEL = "(resource)"  # the "field" of a deviation in actions or singleton-ness

# Types the suffix rules of `singular` get wrong: the singletons, whose type is already singular.
IRREGULAR = {"organization": "organization", "application": "application"}


def singular(type_name: str) -> str:
    if type_name in IRREGULAR:
        return IRREGULAR[type_name]
    if type_name.endswith("ies"):
        return type_name[:-3] + "y"
    if re.search(r"(ss|x|z|ch|sh)es$", type_name):
        return type_name[:-2]
    return type_name.removesuffix("s")


@cache
def schema() -> dict[str, dict[str, Any]]:
    return {r["id"]: r["attributes"] for r in json.loads(SCHEMA.read_text())}


def type_of(resource_id: str) -> str:
    """The JSON:API type of a resources.json id: its plural, or the id itself for a singleton."""
    if schema()[resource_id]["singleton"]:
        return resource_id
    if re.search(r"[^aeiou]y$", resource_id):
        return resource_id[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", resource_id):
        return resource_id + "es"
    return resource_id + "s"


def target_types(spec: dict[str, Any]) -> set[str]:
    if spec.get("polymorphic") and spec.get("enum"):
        return set(spec["enum"])
    return {type_of(re.sub(r"(?<!^)(?=[A-Z])", "_", spec["class_name"]).lower())}


def _table(heading: str, columns: list[str]) -> dict[tuple[str, str], str]:
    section = DOC.read_text().split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip().strip("|").split("|") for line in section.splitlines() if line.startswith("|")]
    assert [c.strip() for c in rows[0]] == columns, rows[0]
    cells = [[c.strip().strip("`") for c in row] for row in rows[2:]]
    return {(row[0], row[1]): row[2] for row in cells}


def deviations() -> dict[tuple[str, str], str]:
    """The `| resource | field | deviation | why |` table under `## Deviations` in docs/compatibility.md."""
    return _table("Deviations", ["resource", "field", "deviation", "why"])


def extensions() -> dict[tuple[str, str], str]:
    """The `| resource | field | what | why |` table under `## Extensions`: additions of ours, never a change of
    a Commerce Layer field's meaning. `*` as the field marks a whole resource of ours."""
    return _table("Extensions", ["resource", "field", "what", "why"])


EXTENSION_RESOURCES = {resource for (resource, field) in extensions() if field == "*"}


def differences(resource: type[Resource]) -> dict[str, list[str]]:
    """Field (attribute or relationship) name -> how ours differs from Commerce Layer's."""
    spec = schema()[singular(resource.type)]
    found: dict[str, list[str]] = {}
    if tuple(resource.actions) != tuple(spec["actions"]) or resource.singleton != spec["singleton"]:
        found[RESOURCE_LEVEL] = [
            f"actions {resource.actions} singleton {resource.singleton}, not {spec['actions']}"
        ]

    ours = {a.name: a for a in resource.all_attributes()}
    for name in ours.keys() - spec["fields"].keys():
        found[name] = ["attribute not in Commerce Layer's schema"]
    for name, theirs in spec["fields"].items():
        attr = ours.get(name)
        if attr is None:
            found[name] = ["attribute missing"]
            continue
        problems = [
            f"{flag} is {getattr(attr, flag)}" for flag in FLAGS if getattr(attr, flag) != theirs[flag]
        ]
        if attr.type_name != theirs["type"]:
            problems.append(f"type {attr.type_name}, not {theirs['type']}")
        if attr.enum != (tuple(theirs["enum"]) if theirs.get("enum") else None):
            problems.append(f"enum {attr.enum}, not {theirs.get('enum')}")
        if problems:
            found[name] = problems

    served = set(registry.all_resources())
    rels = {r.name: r for r in resource.all_relationships()}
    for name in rels.keys() - spec["relationships"].keys():
        found[name] = ["relationship not in Commerce Layer's schema"]
    for name, theirs in spec["relationships"].items():
        rel = rels.get(name)
        targets = target_types(theirs)
        if rel is None:
            if targets & served:
                found[name] = [f"relationship to {sorted(targets & served)} missing"]
            continue
        problems = [
            f"{flag} is {getattr(rel, flag)}"
            for flag in FLAGS[:2]
            if getattr(rel, flag) != theirs.get(flag, False)
        ]
        if rel.to_many != (theirs["type"] == "has_many"):
            problems.append(f"to_many is {rel.to_many}, not {theirs['type']}")
        if not (targets & served <= set(rel.targets) <= targets):
            problems.append(f"targets {rel.targets}, not {sorted(targets)}")
        if problems:
            found[name] = problems
    return found


SERVED = sorted(set(registry.all_resources()) - EXTENSION_RESOURCES)


@pytest.mark.parametrize("type_name", SERVED)
def test_resource_matches_commerce_layer(type_name: str) -> None:
    listed = {field for (resource, field) in deviations() if resource == type_name}
    added = {field for (resource, field) in extensions() if resource == type_name}
    found = differences(registry.all_resources()[type_name])
    for field in added:
        assert all("not in Commerce Layer's schema" in p for p in found.get(field, ["absent"])), (
            f"{type_name}.{field} is listed as an extension but is not an addition: {found.get(field)}"
        )
    listed |= added
    unlisted = {field: problems for field, problems in found.items() if field not in listed}
    assert not unlisted, (
        f"{type_name} differs from resources.json and docs/compatibility.md does not say why: {unlisted}"
    )
    no_longer = listed - found.keys()
    assert not no_longer, f"{type_name}: {sorted(no_longer)} listed as deviations but match resources.json"


def test_extension_resources_are_ours() -> None:
    served = set(registry.all_resources())
    for type_name in EXTENSION_RESOURCES:
        assert type_name in served, f"{type_name} is listed as an extension resource but not served"
        assert singular(type_name) not in schema(), f"{type_name} exists in Commerce Layer: not an extension"


def test_deviations_name_served_resources() -> None:
    unserved = {resource for (resource, _field) in deviations()} - set(SERVED)
    assert not unserved, f"docs/compatibility.md lists deviations of resources we do not serve: {unserved}"


@pytest.mark.parametrize(
    ("type_name", "resource_id"),
    [
        ("addresses", "address"),
        ("inventory_stock_locations", "inventory_stock_location"),
        ("order_factories", "order_factory"),
        ("recurring_order_copies", "recurring_order_copy"),
        ("order_copies", "order_copy"),
        ("skus", "sku"),
        ("prices", "price"),
        ("organization", "organization"),
        ("application", "application"),
    ],
)
def test_singular_finds_the_schema_entry(type_name: str, resource_id: str) -> None:
    assert singular(type_name) == resource_id
    assert type_of(resource_id) == type_name


def test_every_schema_entry_has_a_type_that_maps_back() -> None:
    assert all(singular(type_of(resource_id)) == resource_id for resource_id in schema())
