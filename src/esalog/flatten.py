"""Nested event -> flat dotted names with text values (Splunk fields). Standard library only, so the
Splunk app can load it without orjson or requests."""

from __future__ import annotations

import json
from typing import Any


def flatten(event: dict[str, Any], skip: frozenset[str] = frozenset(), *,
            nested_lists: bool = True) -> dict[str, str | list[str]]:
    """Dotted names -> text; lists of scalars stay lists (multivalue), ``None`` is left out.

    Names in *skip* (and everything under them) are left out. A list holding objects becomes one JSON
    string when *nested_lists* is true, else it is left out (HEC indexed fields cannot nest).
    """
    out: dict[str, str | list[str]] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            name = prefix + key
            if name in skip or value is None:
                continue
            if isinstance(value, dict):
                walk(value, name + ".")
            elif isinstance(value, list):
                if all(not isinstance(v, dict | list) for v in value):
                    out[name] = [_text(v) for v in value if v is not None]
                elif nested_lists:
                    out[name] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            else:
                out[name] = _text(value)

    walk(event, "")
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
