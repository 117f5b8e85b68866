"""The event contract: field declarations (``fields.yaml``) and the JSON Schema generated from them.

Run ``python -m esalog.schemas --write`` after editing ``fields.yaml``; a test checks the committed
``event.schema.json`` is up to date.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import yaml

SCHEMA_ID = "https://esalog.dev/schemas/event.schema.json"
_JSON_TYPES = {
    "keyword": {"type": "string"},
    "text": {"type": "string"},
    "ip": {"type": "string"},
    "date": {"type": "string", "format": "date-time"},
    "long": {"type": "integer"},
    "float": {"type": "number"},
    "boolean": {"type": "boolean"},
    "object": {"type": "object"},
}


@functools.cache
def field_declarations() -> dict[str, dict[str, Any]]:
    """Every declared field: dotted name -> {type, description, array?, enum?}."""
    text = (resources.files("esalog.schemas") / "fields.yaml").read_text(encoding="utf-8")
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: much faster start-up
    return dict(data)


@functools.cache
def _declared_names() -> frozenset[str]:
    return frozenset(field_declarations())


def is_declared(dotted: str) -> bool:
    """Whether a pack may set *dotted*: declared, or free under ``labels.``."""
    return dotted in _declared_names() or dotted.startswith("labels.")


def build_schema() -> dict[str, Any]:
    """The draft 2020-12 JSON Schema of an esalog event, built from the declarations."""
    root: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "esalog event",
        "description": "One event per ESA log line (and one per message summary), ECS-like.",
        "type": "object",
        "properties": {},
        "additionalProperties": False,
    }
    for dotted, decl in field_declarations().items():
        node = root
        parts = dotted.split(".") if dotted != "@timestamp" else ["@timestamp"]
        for part in parts[:-1]:
            child = node["properties"].setdefault(
                part, {"type": "object", "properties": {}, "additionalProperties": False})
            node = child
        leaf: dict[str, Any] = dict(_JSON_TYPES[decl["type"]])
        if "enum" in decl:
            leaf["enum"] = list(decl["enum"])
        if decl["type"] == "object" and parts[-1] == "labels":
            leaf["additionalProperties"] = {"type": ["string", "number", "boolean"]}
        if decl.get("array"):
            leaf = {"type": "array", "items": leaf}
        if decl["type"] in ("float",):
            leaf = {"anyOf": [leaf, {"type": "null"}]} if decl.get("nullable") else leaf
        leaf["description"] = decl.get("description", "")
        existing = node["properties"].get(parts[-1])
        if existing and existing.get("type") == "object" and "properties" in existing:
            existing.update({k: v for k, v in leaf.items() if k not in ("type",)})
        else:
            node["properties"][parts[-1]] = leaf
    return root


def schema_text() -> str:
    """The schema as committed: pretty JSON with a final newline."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


@functools.cache
def validator() -> Any:
    """A jsonschema validator for the committed schema."""
    import jsonschema

    schema = json.loads((resources.files("esalog.schemas") / "event.schema.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)
