"""The event contract: field declarations (``fields.yaml``) and the JSON Schema generated from them.

Run ``python -m esalog.schemas --write`` after editing ``fields.yaml``; a test checks the committed
``event.schema.json`` is up to date.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from esalog import yamlcache

#: The folder of the declarations and the schema (plain files: importlib.resources would cost start-up).
_HERE = Path(__file__).parent
SCHEMA_ID = "https://esalog.dev/schemas/event.schema.json"
#: A time stamp as esalog writes it: RFC 3339 with a four-digit year and a zone (``2014-08-14T11:05:36.000Z``).
#: A pattern as well as ``format: date-time``: a validator checks a pattern even where it does not check
#: formats (jsonschema checks ``date-time`` only with an extra package; :func:`validator` brings its own).
DATE_TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$"
_DATE_TIME = re.compile(DATE_TIME_PATTERN)
_JSON_TYPES = {
    "keyword": {"type": "string"},
    "text": {"type": "string"},
    "ip": {"type": "string"},
    "date": {"type": "string", "format": "date-time", "pattern": DATE_TIME_PATTERN},
    "long": {"type": "integer"},
    "float": {"type": "number"},
    "boolean": {"type": "boolean"},
    "object": {"type": "object"},
}


@functools.cache
def field_declarations() -> dict[str, dict[str, Any]]:
    """Every declared field: dotted name -> {type, description, array?, enum?}."""
    path = _HERE / "fields.yaml"
    return dict(yamlcache.load(path.read_text(encoding="utf-8"), str(path), _safe_load))


def _safe_load(text: str) -> Any:
    import yaml  # (start-up: the cache answers most runs)

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: 5x faster


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


def is_date_time(value: object) -> bool:
    """Whether *value* is a time stamp of the schema's ``date-time`` format (non-strings are not its business)."""
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:  # 2014-13-45T...
        return False
    return True


@functools.cache
def validator() -> Any:
    """A jsonschema validator for the committed schema, with every format it uses really checked.

    jsonschema's own format checker skips ``date-time`` unless the optional ``rfc3339-validator`` is
    installed: this one carries its own check of it (and keeps jsonschema's others).
    """
    import jsonschema

    schema = json.loads((_HERE / "event.schema.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    checker = jsonschema.FormatChecker(formats=())
    checker.checkers = dict(cls.FORMAT_CHECKER.checkers)
    checker.checks("date-time")(is_date_time)
    return cls(schema, format_checker=checker)
