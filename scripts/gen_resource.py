"""Print a starting point for a new resource: its declaration and a Django model skeleton, from resources.json.

    python scripts/gen_resource.py order_copy [--model OrderCopy] [--schema PATH]

The output is meant for hand editing: drop relationships to resources we do not serve, turn derived fields
into ``compute=`` attributes, and move the write rules into the app's services.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).resolve().parents[1] / "tests" / "data" / "commerce-layer" / "resources.json"
STANDARD = {"id", "created_at", "updated_at", "reference", "reference_origin", "metadata"}
FLAGS = (("C", "creatable"), ("U", "updatable"), ("F", "fetchable"), ("f", "filterable"), ("s", "sortable"))
ATTR_CLASSES = {
    "string": "String",
    "integer": "Integer",
    "float": "Float",
    "boolean": "Boolean",
    "datetime": "Datetime",
    "object": "Object",
    "array": "Array",
}
COLUMNS = {
    "string": "models.CharField(max_length=255, null=True, blank=True)",
    "integer": "models.IntegerField(null=True)",
    "float": "models.FloatField(null=True)",
    "datetime": "models.DateTimeField(null=True)",
    "object": "models.JSONField(null=True)",
    "array": "models.JSONField(null=True)",
}


def camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def snake(camel_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel_name).lower()


def pluralize(word: str) -> str:
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def py(value: Any) -> str:
    """A Python literal in the house quoting style (double quotes)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(py(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def flags(spec: dict[str, Any], letters: str = "CUFfs") -> str:
    return "".join(letter for letter, key in FLAGS if letter in letters and spec.get(key))


def is_required(spec: dict[str, Any]) -> bool:
    return spec.get("required") == "required" and bool(spec.get("creatable"))


def attribute_line(name: str, spec: dict[str, Any]) -> str:
    args = [py(name), py(flags(spec))]
    if is_required(spec):
        args.append("required=True")
    if spec.get("enum"):
        args.append(f"enum={py(spec['enum'])}")
    if "default" in spec:
        args.append(f"default={py(spec['default'])}")
    if spec.get("trigger") or name.startswith("_"):
        args.append("trigger=True")
    return f"        {ATTR_CLASSES[spec['type']]}({', '.join(args)}),"


def relationship_line(name: str, spec: dict[str, Any], resource_id: str) -> str:
    rel_flags = py(flags(spec, "CUf"))
    if spec["type"] == "has_many":
        target = pluralize(snake(spec["class_name"]))
        return f'        ToMany({py(name)}, {py(target)}, {rel_flags}, reverse="{resource_id}_id"),'
    polymorphic = spec.get("polymorphic") and spec.get("enum")
    targets = spec["enum"] if polymorphic else pluralize(snake(spec["class_name"]))
    required = ", required=True" if is_required(spec) else ""
    return f"        ToOne({py(name)}, {py(targets)}, {rel_flags}{required}),"


def column_line(name: str, spec: dict[str, Any]) -> str:
    if spec["type"] == "boolean":
        default = spec.get("default", False)
        return f"    {name} = models.BooleanField(default={py(default)})"
    return f"    {name} = {COLUMNS[spec['type']]}"


def foreign_key_lines(name: str, spec: dict[str, Any]) -> list[str]:
    if spec.get("polymorphic"):
        return [
            f"    {name}_id = models.CharField(max_length=10, null=True)",
            f"    {name}_type = models.CharField(max_length=64, null=True)",
        ]
    null = "" if is_required(spec) else "null=True, "
    return [
        f'    {name} = models.ForeignKey("{spec["class_name"]}", {null}on_delete=models.PROTECT, related_name="+")'
    ]


def generate(resource: dict[str, Any], model: str | None = None) -> str:
    resource_id = resource["id"]
    attrs = resource["attributes"]
    model = model or camel(resource_id)
    fields = {n: s for n, s in attrs["fields"].items() if n not in STANDARD}
    rels = attrs["relationships"]
    out = [
        "@registry.register",
        f"class {model}Resource(Resource):",
        f'    type = "{resource_id if attrs.get("singleton") else pluralize(resource_id)}"',
        f"    model = {model}",
    ]
    if tuple(attrs["actions"]) != ("list", "retrieve", "create", "update", "delete"):
        out.append(f"    actions = {py(attrs['actions'])}")
    if attrs.get("singleton"):
        out.append("    singleton = True")
    out += ["    attributes = ("] + [attribute_line(n, s) for n, s in fields.items()] + ["    )"]
    out += (
        ["    relationships = ("]
        + [relationship_line(n, s, resource_id) for n, s in rels.items()]
        + ["    )"]
    )
    out += ["", "", f"class {model}(TenantModel):"]
    out += [column_line(n, s) for n, s in fields.items() if not (s.get("trigger") or n.startswith("_"))]
    for name, spec in rels.items():
        if spec["type"] == "has_one":
            out += foreign_key_lines(name, spec)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("resource", help="the resources.json id (singular), e.g. order_copy")
    parser.add_argument("--model", help="the Django model class name (default: the id in CamelCase)")
    parser.add_argument("--schema", type=Path, default=SCHEMA, help="path to resources.json")
    args = parser.parse_args(argv)
    by_id = {r["id"]: r for r in json.loads(args.schema.read_text())}
    if args.resource not in by_id:
        parser.error(f"unknown resource {args.resource!r}; known: {', '.join(sorted(by_id))}")
    print(generate(by_id[args.resource], args.model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
