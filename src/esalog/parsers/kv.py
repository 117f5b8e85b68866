"""Declarative key=value mapping for rules whose line is a list of pairs (CEF extensions).

A rule may carry a ``kv`` table next to its ``match``::

    kv:
      from: _ext                  # the capture holding the pairs (a scratch name starting with "_")
      keys:                       # pair key -> "dotted.field[:converter]" or a list of them
        ESAMID: cisco.esa.mid:int
        MailPolicy: cisco.esa.policy       # a csN key is looked up by its csNLabel value first

The pairs are split the CEF way (``key=value``; a value runs to the next `` key=``; values that open
with ``{``, ``[`` or a quote run to their balanced end, so Python dicts with ``=`` inside stay whole),
``\\=`` and ``\\\\`` are unescaped, then each mapped value goes through its converter and is stored.
Keys absent from the table are ignored (the raw line stays in ``event.original``). Field names and
converter names are checked when the pack loads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from esalog.errors import PackError, SourceLocation
from esalog.parsers.converters import Converter
from esalog.parsers.fields import undeclared
from esalog.parsers.record import Record

_KEY = re.compile(r"(?:^|(?<= ))([A-Za-z][A-Za-z0-9_]*)=")
_TARGET = re.compile(r"([@A-Za-z0-9_.]+)(?::([A-Za-z_][A-Za-z0-9_]*))?")
_CEF_ESCAPE = re.compile(r"\\([\\=])")
_OPEN = {"{": "}", "[": "]"}


@dataclass(frozen=True)
class KvTarget:
    """One destination of a pair: a dotted field and an optional converter name."""

    field: str
    conv: str | None


@dataclass(frozen=True)
class KvSpec:
    """The ``kv`` table of a rule, validated for shape (names are checked at compile time)."""

    source: str
    keys: Mapping[str, tuple[KvTarget, ...]]

    _KEYS = frozenset({"from", "keys"})

    @classmethod
    def from_dict(cls, data: Any, loc: SourceLocation) -> KvSpec:
        """A rule's ``kv:`` mapping, checked; PackError at *loc* names what is wrong."""
        if not isinstance(data, dict):
            raise PackError("'kv' must be a mapping with 'from' and 'keys'", loc)
        unknown = set(data) - cls._KEYS
        if unknown:
            raise PackError(f"unknown kv keys: {', '.join(sorted(unknown))}", loc)
        source = data.get("from")
        if not isinstance(source, str) or not source.startswith("_"):
            raise PackError("kv 'from' must name a scratch capture starting with '_' (e.g. _ext)", loc)
        raw_keys = data.get("keys")
        if not isinstance(raw_keys, dict) or not raw_keys:
            raise PackError("kv 'keys' must map pair keys to 'field[:converter]'", loc)
        keys: dict[str, tuple[KvTarget, ...]] = {}
        for key, spec in raw_keys.items():
            specs = spec if isinstance(spec, list) else [spec]
            targets = []
            for item in specs:
                m = _TARGET.fullmatch(item) if isinstance(item, str) else None
                if m is None:
                    raise PackError(f"kv key {key!r}: {item!r} is not 'dotted.field[:converter]'", loc)
                targets.append(KvTarget(m.group(1), m.group(2)))
            keys[str(key)] = tuple(targets)
        return cls(source, keys)


def _balanced_end(text: str, start: int) -> int:
    """Index just past the bracket or quote that closes the one at *start*; -1 when it never closes."""
    opener = text[start]
    if opener in "'\"":
        i = start + 1
        while i < len(text):
            ch = text[i]
            if ch == "\\":
                i += 2
                continue
            if ch == opener:
                return i + 1
            i += 1
        return -1
    depth = 0
    quote = ""
    i = start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def split_pairs(text: str) -> dict[str, str]:
    """CEF extension text -> {key: raw value}; later duplicates win."""
    pairs: dict[str, str] = {}
    m = _KEY.search(text)
    while m is not None:
        key, start = m.group(1), m.end()
        nxt_from = start
        if start < len(text) and (text[start] in _OPEN or text[start] in "'\""):
            end = _balanced_end(text, start)
            if end > 0 and (end == len(text) or text[end] == " "):
                nxt_from = end
        nxt = _KEY.search(text, nxt_from)
        value = text[start:nxt.start()] if nxt else text[start:]
        pairs[key] = _CEF_ESCAPE.sub(r"\1", value.strip())
        m = nxt
    return pairs


_Setter = tuple[str, Converter | None]  # (dotted field, converter or None)


class KvMapper:
    """The compiled ``kv`` table: a rule post-processor that maps pairs to fields."""

    __slots__ = ("source", "table")

    def __init__(self, source: str, table: dict[str, tuple[_Setter, ...]]) -> None:
        self.source = source
        self.table = table

    def __call__(self, record: Record) -> None:
        text = record.get(self.source)
        if not text:
            return
        pairs = split_pairs(text)
        for key, value in pairs.items():
            if key.endswith("Label") and key[:-5] in pairs:
                continue
            setters = self.table.get(pairs.get(f"{key}Label", key)) or self.table.get(key)
            if not setters:
                continue
            for dotted, conv in setters:
                converted: object = value
                if conv is not None:
                    try:
                        converted = conv(value)
                    except (ValueError, TypeError, ArithmeticError):
                        continue  # a value the converter cannot read is left out, never fatal
                if converted is None or converted == "":
                    continue
                record.set(dotted, converted)


def compile_kv(spec: KvSpec, loc: SourceLocation, converters: Mapping[str, Converter],
               declared: Callable[[str], bool] | None) -> tuple[KvMapper, frozenset[str]]:
    """Resolve converter names and check fields; return the mapper and the fields it may set."""
    table: dict[str, tuple[_Setter, ...]] = {}
    fields: set[str] = set()
    for key, targets in spec.keys.items():
        setters = []
        for target in targets:
            conv = None
            if target.conv and target.conv != "str":
                conv = converters.get(target.conv)
                if conv is None:
                    raise PackError(f"kv key {key!r}: unknown converter {target.conv!r} "
                                    f"(known: {', '.join(sorted(converters))})", loc)
            if declared is not None and not declared(target.field):
                raise PackError(f"kv key {key!r}: {undeclared(target.field)}", loc)
            setters.append((target.field, conv))
            fields.add(target.field)
        table[key] = tuple(setters)
    return KvMapper(spec.source, table), frozenset(fields)
