"""The flat parsed record: the contract between parsing and every stage after it.

A :class:`Record` is what the parser knows about one line, without any nested document:

* header facts (time, level, syslog priority/host/app, the observer of its appliance);
* the rule that matched and its *values*: the converted captures, one slot per capture of the rule;
* ``extra``: dotted fields set after the match, in order (post-processors, derived ids, and the
  enrichment stages add, such as the session tracker's connection facts).

Stages read typed facts (:meth:`Record.get`, :meth:`Record.get_int`, ...) and add theirs with
:meth:`Record.set`; only the encoder (:mod:`esalog.encode`) builds the nested ECS document. Records
that are whole documents already (message summaries, lines that are not ESA lines) carry ``document``;
records the compiled core made carry their NDJSON line (``encoded``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from esalog.parsers.fields import put

if TYPE_CHECKING:
    from esalog.parsers.compiler import CompiledRule

__all__ = ["PIPELINE_ERROR", "Record"]
#: ``event.kind`` of a line that is not an ESA line at all
PIPELINE_ERROR = "pipeline_error"


class Record:
    """One line's parse (see the module docstring). Never mutated by the encoder."""

    __slots__ = (
        "appliance",
        "created",
        "dataset",
        "dcid",
        "document",
        "encoded",
        "extra",
        "extra_roots",
        "icid",
        "kind",
        "level",
        "message",
        "mid",
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
        self.rule: CompiledRule | None = None  # the rule that matched and its converted captures (LineParser)
        self.values: list[Any] | None = None
        self.extra: dict[str, Any] | None = None
        # the top-level names of the fields in extra, and which of them were set as whole objects
        self.extra_roots: dict[str, bool] | None = None
        self.document = document
        self.encoded: bytes | None = None  # the event's NDJSON line when the compiled core made it (of_encoded)
        # the ids every stage asks for, typed (None when absent or not an integer)
        self.mid: int | None = None
        self.icid: int | None = None
        self.dcid: int | None = None

    @classmethod
    def of_document(cls, document: dict[str, Any], appliance: str = "") -> Record:
        """A record that is a whole document already (message summaries, error events)."""
        event = document.get("event") or {}
        record = cls(document.get("@timestamp", ""), document.get("message", ""), event.get("dataset", ""),
                     document.get("observer") or {}, appliance, kind=event.get("kind", "event"),
                     document=document)
        record.read_ids()
        return record

    @classmethod
    def of_encoded(cls, line: bytes, timestamp: str, observer: dict[str, Any], dataset: str) -> Record:
        """A record whose event the compiled core encoded already (one NDJSON line): sinks send *line* as it is;
        ``timestamp``, ``observer`` and ``dataset`` are what they read besides (nothing else is known)."""
        record = cls(timestamp, "", dataset, observer, "")
        record.encoded = line
        return record

    def read_ids(self) -> None:
        """Fill the typed ids (``mid``, ``icid``, ``dcid``) from the fields."""
        self.mid = self.get_int("cisco.esa.mid")
        self.icid = self.get_int("cisco.esa.icid")
        self.dcid = self.get_int("cisco.esa.dcid")

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
            value = extra.get(name, _MISSING)
            if value is not _MISSING:
                return value
            roots = self.extra_roots
            if roots is not None and roots.get(_ROOTS.get(name) or root_of(name)):  # some object was set whole
                for prefix, rest in _PREFIXES.get(name) or prefixes_of(name):  # inside it (``cisco.esa.abort`` ->
                    whole = extra.get(prefix)  # ``cisco.esa.abort.reason``)
                    if isinstance(whole, dict):
                        return _dig(whole, rest, default)
        rule = self.rule
        if rule is not None:
            slot = rule.single_slots.get(name)
            if slot is not None:  # the usual field: one capture
                values = self.values
                assert values is not None
                value = values[slot]
                if value is not None:
                    return value
                static = rule.statics.get(name, _MISSING)
                return default if static is _MISSING else static
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
        """An integer field; None when absent or of another type (e.g. from a user pack)."""
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
        roots = self.extra_roots
        if roots is not None and (_ROOTS.get(name) or root_of(name)) in roots:
            extra = self.extra
            assert extra is not None
            if "." not in name or name in extra:
                return True
            prefix = name + "."
            if any(k.startswith(prefix) for k in extra):
                return True
        rule = self.rule
        if rule is None:
            return self.document is not None and _dig(self.document, name, None) is not None
        if name in rule.static_under:
            return True
        slots = rule.slots_under.get(name)
        if not slots:
            return False
        values = self.values
        assert values is not None
        return any(values[i] is not None for i in slots)

    def subtree(self, name: str) -> dict[str, Any] | None:
        """The fields under *name* as one object (``source`` -> ``{"ip": ..., "domain": ...}``)."""
        rule = self.rule
        extra = self.extra
        out: dict[str, Any] = {}
        if extra is None and rule is not None and self.values is not None:  # the usual case: a plain walk
            values = self.values
            for parts, slots, static in rule.subtree_plans.get(name, ()):
                value = static
                for slot in slots:
                    if values[slot] is not None:
                        value = values[slot]
                if value is not None:
                    put(out, parts, value)
            return out or None
        whole = self.get(name)
        if isinstance(whole, dict):
            out.update(whole)
        prefix = name + "."
        names: list[str] = []
        if rule is not None:
            names += [n for n in rule.under.get(name, ()) if n != name]
        if extra is not None:
            names += [n for n in extra if n.startswith(prefix)]
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
        root = _ROOTS.get(name) or root_of(name)
        whole = type(value) is dict
        if extra is None:
            self.extra = {name: value}
            self.extra_roots = {root: whole}
        else:
            extra[name] = value
            roots = self.extra_roots
            assert roots is not None
            if whole or root not in roots:
                roots[root] = whole or roots.get(root, False)

    def update(self, fields: dict[str, Any], roots: dict[str, bool]) -> None:
        """Set several fields at once (*roots*: their top-level names, True where set as a whole object)."""
        if not fields:
            return
        extra = self.extra
        if extra is None:
            self.extra = dict(fields)
            self.extra_roots = dict(roots)
            return
        extra.update(fields)
        known = self.extra_roots
        assert known is not None
        for root, whole in roots.items():
            if whole or root not in known:
                known[root] = whole or known.get(root, False)

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
#: dotted field name -> its top-level name (the hot path's cache of :func:`root_of`)
_ROOTS: dict[str, str] = {}


def root_of(name: str) -> str:
    """The top-level name of dotted field *name* (``cisco.esa.mid`` -> ``cisco``)."""
    root = name.partition(".")[0]
    if len(_ROOTS) < 65536 and root:  # field names are declared, so few; stay bounded anyway
        _ROOTS[name] = root
    return root


#: dotted field name -> its objects' names, innermost first, each with the rest of the name (the hot path's
#: cache of :func:`prefixes_of`)
_PREFIXES: dict[str, tuple[tuple[str, str], ...]] = {}


def prefixes_of(name: str) -> tuple[tuple[str, str], ...]:
    """The objects dotted field *name* is inside, innermost first, each with the rest of the name
    (``cisco.esa.mid`` -> ``(("cisco.esa", "mid"), ("cisco", "esa.mid"))``)."""
    found = []
    dot = name.rfind(".")
    while dot > 0:
        found.append((name[:dot], name[dot + 1:]))
        dot = name.rfind(".", 0, dot)
    prefixes = tuple(found)
    if len(_PREFIXES) < 65536:  # field names are declared, so few; stay bounded anyway
        _PREFIXES[name] = prefixes
    return prefixes


def _dig(node: Any, dotted: str, default: Any) -> Any:
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node
