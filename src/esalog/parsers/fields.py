"""Dotted field names on nested events: ``cisco.esa.mid`` <-> ``event["cisco"]["esa"]["mid"]``."""

from __future__ import annotations

from typing import Any

Event = dict[str, Any]


def split_path(dotted: str) -> tuple[tuple[str, ...], str]:
    """``cisco.esa.mid`` -> ``(("cisco", "esa"), "mid")``; ``@timestamp`` stays one key."""
    parts = dotted.split(".")
    return tuple(parts[:-1]), parts[-1]


def parent_object(event: Event, parents: tuple[str, ...]) -> dict[str, Any]:
    """The object at *parents* in *event*, created on the way when missing."""
    target = event
    for key in parents:
        nxt = target.get(key)
        if nxt is None:
            nxt = target[key] = {}
        target = nxt
    return target


def put(target: Event, path: list[str] | tuple[str, ...], value: Any) -> None:
    """Store *value* at *path* (keys) in *target*; objects are made (or replace a non-object) on the way."""
    for key in path[:-1]:
        nxt = target.get(key)
        if not isinstance(nxt, dict):
            nxt = target[key] = {}
        target = nxt
    target[path[-1]] = value


def set_field(event: Event, dotted: str, value: Any) -> None:
    """Store *value* under a dotted field name, creating the objects on the way."""
    put(event, [dotted] if dotted == "@timestamp" else dotted.split("."), value)


def get_field(event: Event, dotted: str, default: Any = None) -> Any:
    """Read a dotted field name; *default* when any part is missing."""
    value: Any = event
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return default
        value = value[key]
    return value


def undeclared(name: str) -> str:
    """The error text for a field a rule sets that the event schema does not declare, with the way out."""
    leaf = name.rsplit(".", 1)[-1]
    return (f"field {name!r} is not declared in the event schema: set a declared field ('esalog schema' "
            f"lists them) or a key of your own under labels.* (e.g. 'labels.{leaf}')")
