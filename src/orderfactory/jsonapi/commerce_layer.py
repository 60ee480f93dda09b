"""Commerce Layer's relationships, served or not: the part of its schema the wire format needs at run time.

An ``include`` through a relationship Commerce Layer has but orderfactory does not serve (yet), or a request
to its relationship endpoint, is valid Commerce Layer and must not fail (docs/decisions.md, "Commerce Layer's
dashboard apps"); a name Commerce Layer does not have stays an error. ``commerce_layer_relationships.json``
holds, per JSON:API type, each relationship's cardinality and target types, derived from Commerce Layer's
resources.json (tests/data/commerce-layer); tests/test_compatibility.py checks that it still is.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import orjson

FILE = Path(__file__).with_name("commerce_layer_relationships.json")


@dataclass(frozen=True)
class Relationship:
    to_many: bool
    targets: tuple[str, ...]


@cache
def _relationships() -> dict[str, dict[str, Relationship]]:
    return {
        type_name: {name: Relationship(to_many, tuple(targets)) for name, (to_many, targets) in rels.items()}
        for type_name, rels in orjson.loads(FILE.read_bytes()).items()
    }


def relationship(type_name: str, name: str) -> Relationship | None:
    """Commerce Layer's relationship ``name`` of resources of type ``type_name``, or None."""
    return _relationships().get(type_name, {}).get(name)
