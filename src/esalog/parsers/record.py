"""The flat parsed record: the contract between parsing and every stage after it.

A :class:`Record` is what the parser knows about one line, without any nested document:

* header facts (time, level, syslog priority/host/app, the observer of its appliance);
* the rule that matched and its *values*: the converted captures, one slot per capture of the rule;
* ``extra``: dotted fields set after the match, in order (post-processors, derived ids, and the
  enrichment stages add, such as the session tracker's connection facts).

Stages read typed facts (:meth:`Record.get`, :meth:`Record.get_int`, ...) and add theirs with
:meth:`Record.set`; only the encoder (:mod:`esalog.encode`) builds the nested ECS document. Records
that are whole documents already (message summaries, lines that are not ESA lines) carry ``document``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from esalog.names import MODULE
from esalog.parsers.fields import put

if TYPE_CHECKING:
    from esalog.parsers.engine import CompiledRule

__all__ = ["MODULE", "PIPELINE_ERROR", "Record"]
#: ``event.kind`` of a line that is not an ESA line at all
PIPELINE_ERROR = "pipeline_error"


class Record:
    """One line's parse (see the module docstring). Never mutated by the encoder."""

    __slots__ = (
        "appliance",
        "created",
        "dataset",
        "document",
        "extra",
        "kind",
        "level",
        "message",
        "observer",
        "original",
        "rule",
        "syslog",
        "tags",
        "timestamp",
        "values",
    )

    def __init__(
        self,
        timestamp: str,
        message: str,
        dataset: str,
        observer: dict[str, Any],
        appliance: str,
        *,
        kind: str = "event",
        original: str | None = None,
        created: str | None = None,
        level: str | None = None,
        syslog: dict[str, Any] | None = None,
        tags: list[str] | None = None,
        rule: CompiledRule | None = None,
        values: list[Any] | None = None,
        document: dict[str, Any] | None = None,
    ) -> None:
        self.timestamp = timestamp
        self.message = message
        self.dataset = dataset
        self.observer = observer  # shared by the records of one appliance: never mutated
        self.appliance = appliance
        self.kind = kind
        self.original = original
        self.created = created  # the parse time, when the line carried no time of its own
        self.level = level
        self.syslog = syslog
        self.tags = tags
        self.rule = rule
        self.values = values
        self.extra: dict[str, Any] | None = None
        self.document = document

    @classmethod
    def of_document(cls, document: dict[str, Any], appliance: str = "") -> Record:
        """A record that is a whole document already (message summaries, error events)."""
        event = document.get("event") or {}
        return cls(document.get("@timestamp", ""), document.get("message", ""), event.get("dataset", ""),
                   document.get("observer") or {}, appliance, kind=event.get("kind", "event"),
                   document=document)

    # ------------------------------------------------------------------------------------- facts

    @property
    def rule_id(self) -> str | None:
        """The id of the rule that read the line (``cisco.esa.kind``), None when none did."""
        rule = self.rule
        return rule.id if rule is not None else None

    @property
    def action(self) -> str | None:
        """``event.action`` (the hot path's :meth:`get`)."""
        extra = self.extra
        if extra is not None and "event.action" in extra:
            return extra["event.action"]  # type: ignore[no-any-return]
        rule = self.rule
        if rule is not None and rule.action is not None:
            return rule.action
        return self.get_str("event.action")

    def get(self, name: str, default: Any = None) -> Any:
        """The value of dotted field *name*: set after the match, else captured, else the rule's static."""
        extra = self.extra
        if extra is not None:
            if name in extra:
                return extra[name]
            dot = name.rfind(".")
            while dot > 0:  # inside an object set whole (``cisco.esa.abort`` -> ``cisco.esa.abort.reason``)
                whole = extra.get(name[:dot])
                if whole is not None:
                    return _dig(whole, name[dot + 1:], default)
                dot = name.rfind(".", 0, dot)
        rule = self.rule
        if rule is not None:
            slots = rule.slots.get(name)
            if slots is not None:
                values = self.values
                assert values is not None
                found = _MISSING
                for index in slots:  # alternatives: the last one that holds a value wins
                    value = values[index]
                    if value is not None:
                        found = value
                if found is not _MISSING:
                    return found
            static = rule.statics.get(name, _MISSING)
            return default if static is _MISSING else static
        document = self.document
        if document is not None:
            return _dig(document, name, default)
        return default

    def get_int(self, name: str) -> int | None:
        """An integer field (an id); None when absent or of another type (e.g. from a user pack)."""
        value = self.get(name)
        return value if type(value) is int else None

    def get_str(self, name: str) -> str | None:
        """A text field; None when absent or not text."""
        value = self.get(name)
        return value if isinstance(value, str) else None

    def get_list(self, name: str) -> list[Any] | None:
        """A list field; None when absent or not a list."""
        value = self.get(name)
        return value if isinstance(value, list) else None

    def has(self, name: str) -> bool:
        """Whether the event has field *name* or any field under it (``source`` -> ``source.ip``...)."""
        prefix = name + "."
        extra = self.extra
        if extra is not None and any(k == name or k.startswith(prefix) for k in extra):
            return True
        rule = self.rule
        if rule is None:
            return self.document is not None and _dig(self.document, name, None) is not None
        if name.split(".", 1)[0] not in rule.roots:
            return False
        values = self.values
        assert values is not None
        for field, slots in rule.slots.items():
            if (field == name or field.startswith(prefix)) and any(values[i] is not None for i in slots):
                return True
        return any(k == name or k.startswith(prefix) for k in rule.statics)

    def subtree(self, name: str) -> dict[str, Any] | None:
        """The fields under *name* as one object (``source`` -> ``{"ip": ..., "domain": ...}``)."""
        out: dict[str, Any] = {}
        whole = self.get(name)
        if isinstance(whole, dict):
            out.update(whole)
        prefix = name + "."
        names: list[str] = []
        rule = self.rule
        if rule is not None and name.split(".", 1)[0] in rule.roots:
            names += [n for n in rule.statics if n.startswith(prefix)]
            names += [n for n in rule.slots if n.startswith(prefix)]
        if self.extra is not None:
            names += [n for n in self.extra if n.startswith(prefix)]
        for dotted in dict.fromkeys(names):
            value = self.get(dotted)
            if value is not None:
                put(out, dotted[len(prefix):].split("."), value)
        return out or None

    def set(self, name: str, value: Any) -> None:
        """Set dotted field *name* (added after the rule's fields, in the order set)."""
        if self.document is not None:
            put(self.document, name.split("."), value)
            return
        extra = self.extra
        if extra is None:
            self.extra = {name: value}
        else:
            extra[name] = value

    def pop(self, name: str) -> Any:
        """Remove and return a field set after the match (None when absent)."""
        extra = self.extra
        return extra.pop(name, None) if extra else None

    def add_tag(self, tag: str) -> None:
        """Append *tag* to the event's tags."""
        document = self.document
        if document is not None:
            document["tags"] = [*document.get("tags", ()), tag]
        elif self.tags is None:
            self.tags = [tag]
        else:
            self.tags.append(tag)


_MISSING: Any = object()


def _dig(node: Any, dotted: str, default: Any) -> Any:
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node
