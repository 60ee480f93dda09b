"""Every resource we serve matches Commerce Layer's own schema (resources.json), field by field, except for the
deviations listed in docs/compatibility.md — and every listed deviation still deviates."""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from orderfactory.jsonapi import commerce_layer, filters, registry
from orderfactory.jsonapi.resource import Resource

REPO = Path(__file__).resolve().parents[1]
# Commerce Layer's own schema, kept in the repository with its source and version (tests/data/commerce-layer/SOURCES.md).
SCHEMA = Path(__file__).resolve().parent / "data" / "commerce-layer" / "resources.json"
DOC = REPO / "docs" / "compatibility.md"
FLAGS = ("creatable", "updatable", "fetchable", "filterable", "sortable")
RELATIONSHIP_FLAGS = ("creatable", "updatable", "filterable")  # the flags resources.json gives relationships
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
            for flag in RELATIONSHIP_FLAGS
            if getattr(rel, flag) != bool(theirs.get(flag))
        ]
        if rel.to_many != (theirs["type"] == "has_many"):
            problems.append(f"to_many is {rel.to_many}, not {theirs['type']}")
        if not (targets & served <= set(rel.targets) <= targets):
            problems.append(f"targets {rel.targets}, not {sorted(targets)}")
        if problems:
            found[name] = problems
    return found


def filter_deviations() -> dict[tuple[str, str], str]:
    """The `| resource | filter | why |` table under `## Filters`: filters of Commerce Layer's that we do not
    serve although their resource is served."""
    return _table("Filters", ["resource", "filter", "why"])


# Commerce Layer's `filters` also name, for every resource, keys outside Ransack's `filter[q]` (contract d:
# `ids`, and `<datetime>_from` / `_to` ranges), and `q` itself; the SDK sends every filter as `filter[q][...]`.
OUTSIDE_RANSACK = ("q", "ids")


def unresolved_filters(resource: type[Resource]) -> set[str]:
    """Commerce Layer's filters of the resource that `filter[q][<filter>_<predicate>]` does not reach here,
    but those whose field is a listed deviation and those through relationships to resources not served
    (omitted with their relationship, as docs/compatibility.md says)."""
    spec = schema()[singular(resource.type)]
    datetimes = {name for name, field in spec["fields"].items() if field["type"] == "datetime"}
    listed = {field for (type_name, field) in deviations() if type_name == resource.type}
    served = set(registry.all_resources())
    found = set()
    for name in spec["filters"]:
        stem, _, suffix = name.rpartition("_")
        if name in OUTSIDE_RANSACK or (suffix in ("from", "to") and stem in datetimes) or name in listed:
            continue
        if filters.resolve_path(resource, name) is not None:
            continue
        relationship = spec["relationships"].get(name.removesuffix("_id"))
        if name.endswith("_id") and relationship is not None and not target_types(relationship) & served:
            continue
        found.add(name)
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


@pytest.mark.parametrize("type_name", SERVED)
def test_filters_match_commerce_layer(type_name: str) -> None:
    """Every filter resources.json lists for the resource, attributes and relationships alike, is served, or
    docs/compatibility.md says why not; a listed one that is served fails, so the list stays honest."""
    listed = {name for (resource, name) in filter_deviations() if resource == type_name}
    found = unresolved_filters(registry.all_resources()[type_name])
    assert not found - listed, (
        f"{type_name}: Commerce Layer filters by {sorted(found - listed)}, which filter[q] does not reach here "
        "and docs/compatibility.md (## Filters) does not list"
    )
    assert not listed - found, f"{type_name}: {sorted(listed - found)} listed under ## Filters but served"


def test_filter_deviations_name_served_resources_and_commerce_layer_filters() -> None:
    for type_name, name in filter_deviations():
        assert type_name in SERVED, f"## Filters lists {type_name}, which is not served"
        assert name in schema()[singular(type_name)]["filters"], f"{type_name} has no filter {name}"


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


def relationships_file() -> str:
    """What src/orderfactory/jsonapi/commerce_layer_relationships.json holds: per JSON:API type, each
    relationship's [to_many, target types], one type per line."""
    rels = {
        type_of(resource_id): {
            name: [spec["type"] == "has_many", sorted(target_types(spec))]
            for name, spec in entry["relationships"].items()
        }
        for resource_id, entry in schema().items()
    }
    lines = [
        f"{json.dumps(t)}: {json.dumps(rels[t], sort_keys=True, separators=(',', ':'))}" for t in sorted(rels)
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def test_the_packaged_relationships_are_commerce_layers() -> None:
    """The engine knows Commerce Layer's relationships (the ones not served included) from a file derived from
    resources.json; `ORDERFACTORY_REGENERATE=1 pytest tests/test_compatibility.py` rewrites it after the schema
    changed."""
    expected = relationships_file()
    if os.environ.get("ORDERFACTORY_REGENERATE") == "1":
        commerce_layer.FILE.write_text(expected)
    assert commerce_layer.FILE.read_text() == expected, (
        "commerce_layer_relationships.json is not derived from resources.json: regenerate it "
        "(ORDERFACTORY_REGENERATE=1 pytest tests/test_compatibility.py)"
    )


@pytest.mark.parametrize("type_name", [t for t in SERVED if "list" in registry.all_resources()[t].actions])
def test_every_commerce_layer_filter_runs(api: Any, type_name: str) -> None:
    """Each served filter of Commerce Layer's is a query the database runs (a join path that does not exist
    would be a 500): every attribute at once, each relationship on its own and all of them for rows without
    related rows, which take another branch."""
    resource = registry.all_resources()[type_name]
    spec = schema()[singular(type_name)]
    served = [name for name in spec["filters"] if filters.resolve_path(resource, name) is not None]
    related = [name for name in served if name.endswith("_id") and name[:-3] in spec["relationships"]]
    attributes = [name for name in served if name not in related]
    queries = [
        {f"filter[q][{name}_null]": "false" for name in attributes},
        {f"filter[q][{name}_null]": "true" for name in related},
        *({f"filter[q][{name}_eq]": "XAyRWNUzyN"} for name in related),
    ]
    for params in queries:
        r = api.get(type_name, {**params, "sort": "-id"})
        assert r.status == 200, (params, r)
