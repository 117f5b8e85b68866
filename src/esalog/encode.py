"""The encoder: a :class:`~esalog.parsers.record.Record` becomes the nested ECS document, then NDJSON.

Only this module builds nested events. A record's document is, in order: ``@timestamp``, ``message``,
``event`` (kind, module, dataset, original, created, then the rule's static and captured ``event.*``),
``observer``, ``log``, ``tags``, ``cisco.esa.kind`` and the rule's fields in the rule's order, then the
fields set after the match (post-processors, derived ids, enrichment), each in the order set.

Where orjson is not importable (the Splunk app bundles only pure-Python code, and orjson is a compiled
wheel), the stdlib ``json`` module produces the same compact UTF-8 output, about ten times slower.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from esalog.names import MODULE
from esalog.parsers.fields import Event, split_path
from esalog.parsers.record import Record

#: dotted name -> (its parent objects' keys, its key); equal parents are one tuple (merge_fields compares
#: them by identity first)
_PLACES: dict[str, tuple[tuple[str, ...], str]] = {}
_PARENTS: dict[tuple[str, ...], tuple[str, ...]] = {}


def _place(dotted: str) -> tuple[tuple[str, ...], str]:
    parents, leaf = ((), dotted) if dotted == "@timestamp" else split_path(dotted)
    if len(_PLACES) < 65536:  # field names are declared, so few; stay bounded anyway
        parents = _PARENTS.setdefault(parents, parents)
        _PLACES[dotted] = (parents, leaf)
    return parents, leaf


def merge_fields(event: Event, fields: dict[str, Any]) -> None:
    """Assign each dotted field of *fields* into *event*, in order (objects made on the way)."""
    last_parent: tuple[str, ...] | None = None
    target: Event = event
    places = _PLACES
    for dotted, value in fields.items():
        parent, leaf = places.get(dotted) or _place(dotted)
        if not parent:
            event[leaf] = value
            continue
        if parent is not last_parent and parent != last_parent:  # consecutive fields of one object (cisco.esa.*)
            target = event  # walk to it once
            for key in parent:
                nxt = target.get(key)
                if not isinstance(nxt, dict):
                    nxt = target[key] = {}
                target = nxt
            last_parent = parent
        target[leaf] = value


def to_event(record: Record) -> Event:
    """The nested ECS document of *record* (a new object; shared parts such as ``observer`` are reused)."""
    document = record.document
    if document is not None:
        return document
    if record.encoded is not None:  # made by the compiled core: read back (sinks use the bytes instead)
        return decode(record.encoded)  # type: ignore[no-any-return]
    event_obj: dict[str, Any] = {"kind": record.kind, "module": MODULE, "dataset": record.dataset}
    if record.original is not None:
        event_obj["original"] = record.original
    if record.created is not None:
        event_obj["created"] = record.created
    event: Event = {"@timestamp": record.timestamp, "message": record.message, "event": event_obj,
                    "observer": record.observer}
    level, syslog = record.level, record.syslog
    if level is not None:
        event["log"] = {"level": level, "syslog": syslog} if syslog is not None else {"level": level}
    elif syslog is not None:
        event["log"] = {"syslog": syslog}
    if record.tags:
        event["tags"] = list(record.tags)
    rule = record.rule
    if rule is not None:
        event["cisco"] = {"esa": {"kind": rule.id}}
        if rule.updates_stream:
            event["observer"] = dict(record.observer)  # shared object: header facts go into a copy
        rule.build(record.values or (), event, event_obj)
    extra = record.extra
    if extra:
        merge_fields(event, extra)
    return event


try:
    import orjson
except ImportError:  # pragma: no cover - exercised by the Splunk app test, which runs without orjson
    import json

    _dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode

    def encode_event(event: dict[str, Any]) -> bytes:
        """``{...}\\n`` as UTF-8 bytes."""
        return (_dumps(event) + "\n").encode("utf-8")

    def decode(data: bytes | str) -> Any:
        """Parse one JSON document."""
        return json.loads(data)

else:
    _OPTS = orjson.OPT_APPEND_NEWLINE

    def encode_event(event: dict[str, Any]) -> bytes:
        """``{...}\\n`` as UTF-8 bytes."""
        return orjson.dumps(event, option=_OPTS)

    def decode(data: bytes | str) -> Any:
        """Parse one JSON document."""
        return orjson.loads(data)


def encode_line(record: Record) -> bytes:
    """One record as one NDJSON line."""
    encoded = record.encoded
    return encoded if encoded is not None else encode_event(to_event(record))


def encode_lines(records: Iterable[Record]) -> bytes:
    """Several records as NDJSON in one bytes object (one write for a batch)."""
    return b"".join([encode_line(record) for record in records])
