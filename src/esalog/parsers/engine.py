"""Packs of compiled rules, and dispatch of a message body to the few rules that can match it.

A rule is compiled (:mod:`esalog.parsers.compiler`) when dispatch first hands it a line. Dispatch: each
rule's pattern gives a key of literal words (see :func:`grok.dispatch_key`); a body computes the same keys
with :func:`grok.body_keys`. Only rules in the body's buckets (two-word key, then one-word key, then rules
with no literal prefix) are tried, in pack precedence order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from esalog.errors import PackError, SourceLocation
from esalog.parsers.fields import Event, get_field, set_field, split_path
from esalog.parsers.grok import BASE_PATTERNS, body_key, body_keys, dispatch_key

if TYPE_CHECKING:  # the rule compiler and the pack model are imported when a pack is first read (start-up)
    from esalog.parsers.compiler import CompiledRule
    from esalog.parsers.matching import RuleMatch
    from esalog.parsers.pack import Pack, Rule

#: Re-exported: the dotted-name helpers most callers import from here.
__all__ = ["CompiledPack", "Event", "get_field", "load_builtin_packs", "set_field", "split_path"]

_CACHE_LIMIT = 50_000


class RuleTimeout(Exception):
    """User rules ran out of time on a line; ``found`` is what matched among the other rules, if any."""

    def __init__(self, rules: list[CompiledRule], found: tuple[CompiledRule, RuleMatch] | None) -> None:
        super().__init__(", ".join(rule.id for rule in rules))
        self.rules = rules
        self.found = found


class CompiledPack:
    """The compiled rules of one log type (user packs first, then the built-in pack).

    A pack made by :meth:`deferred` is read on first use, and each of its rules is compiled when a line first
    reaches it through dispatch: a run pays only for the log types and the rules its lines need (the dispatch
    cache, the one attribute the hot path reads first, exists from the start). ``rules`` compiles them all.
    """

    _loading = threading.RLock()  # a deferred pack or rule is built once, whichever thread asks first
    _pending: tuple[Callable[[], Sequence[Pack]], Callable[[str], bool] | None]  # a deferred pack's loader
    rules: tuple[CompiledRule, ...]  # every rule, in precedence order (compiled on first access when deferred)

    def __init__(self, packs: Sequence[Pack], declared: Callable[[str], bool] | None = None) -> None:
        self._cache: dict[str, tuple[CompiledRule, ...]] = {}
        self._build(packs, declared)
        self.rules = self._every_rule()  # all now: a mistake in a pack is reported before any line is read

    @classmethod
    def deferred(cls, log_type: str, load: Callable[[], Sequence[Pack]],
                 declared: Callable[[str], bool] | None = None) -> CompiledPack:
        """The pack of *log_type*, built from ``load()`` when first used."""
        pack = cls.__new__(cls)
        pack.log_type = log_type
        pack._cache = {}
        pack._pending = (load, declared)
        return pack

    def __getattr__(self, name: str) -> Any:
        """Called only for an attribute not set yet: a deferred pack builds itself, then answers."""
        if name.startswith("__"):
            raise AttributeError(name)
        with self._loading:
            pending = self.__dict__.pop("_pending", None)
            if pending is not None:
                load, declared = pending
                self._build(load(), declared)
            if name == "rules" and "_sources" in self.__dict__:
                self.rules = self._every_rule()
        return object.__getattribute__(self, name)

    def _build(self, packs: Sequence[Pack], declared: Callable[[str], bool] | None) -> None:
        if not packs:
            raise ValueError("CompiledPack needs at least one pack")
        self.packs = tuple(packs)
        self.log_type = packs[-1].log_type
        self.dataset = packs[-1].dataset
        self.sourcetype = packs[-1].sourcetype
        self._declared = declared
        #: per rule, in precedence order: what compile_rule needs (rule, pack, patterns, user rule?)
        self._sources: list[tuple[Rule, Pack, dict[str, str], bool]] = []
        seen: dict[str, str] = {}
        self.timed = False  # whether some rule is a user rule with a time budget
        for position, pack in enumerate(packs):
            user = position < len(packs) - 1  # user packs come before the built-in one
            self.timed = self.timed or user
            patterns = {**BASE_PATTERNS, **pack.patterns}
            for rule in pack.rules:
                if rule.id in seen and seen[rule.id] == pack.path:
                    raise PackError("duplicate rule id", SourceLocation(pack.path, rule=rule.id))
                if rule.id in seen:  # a user rule overrides the built-in rule of the same id
                    continue
                seen[rule.id] = pack.path
                self._sources.append((rule, pack, patterns, user))
        self._compiled: list[CompiledRule | None] = [None] * len(self._sources)
        # dispatch buckets of rule orders (indices into _sources)
        self._by_key2: dict[str, list[int]] = {}
        self._by_key1: dict[str, list[int]] = {}
        self._generic: list[int] = []
        self._keyed_cache: dict[str, tuple[CompiledRule, ...]] = {}  # match_keyed's candidates by key
        for order, (rule, _, _, _) in enumerate(self._sources):
            key = dispatch_key(rule.match)
            if len(key) == 2:
                self._by_key2.setdefault(" ".join(key), []).append(order)
            elif len(key) == 1:
                self._by_key1.setdefault(key[0], []).append(order)
            else:
                self._generic.append(order)

    def _rule(self, order: int) -> CompiledRule:
        """The compiled rule of precedence *order* (compiled now if no line reached it before)."""
        compiled = self._compiled[order]
        if compiled is None:
            with self._loading:
                compiled = self._compiled[order]
                if compiled is None:
                    from esalog.parsers.compiler import compile_rule

                    rule, pack, patterns, user = self._sources[order]
                    compiled = compile_rule(rule, pack, order, patterns, self._declared, user=user)
                    self._compiled[order] = compiled
        return compiled

    def _every_rule(self) -> tuple[CompiledRule, ...]:
        return tuple(self._rule(order) for order in range(len(self._sources)))

    def _ordered(self, orders: Iterable[int]) -> tuple[CompiledRule, ...]:
        return tuple(self._rule(order) for order in sorted(orders))

    def candidates(self, body: str) -> tuple[CompiledRule, ...]:
        """The rules that may match *body*, in precedence order."""
        key2, key1 = body_keys(body)
        cands = self._cache.get(key2)
        if cands is None:
            merged = (
                self._by_key2.get(key2, []) + self._by_key1.get(key1, []) + self._generic
                if key2 != key1 else self._by_key1.get(key1, []) + self._generic
            )
            cands = self._ordered(merged)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key2] = cands
        return cands

    def match(self, body: str) -> tuple[CompiledRule, RuleMatch] | None:
        """The first rule whose pattern matches the whole *body*, with its match.

        Raises :class:`RuleTimeout` when a user rule ran out of time (the other rules were tried).
        """
        cands = self._cache.get(body_key(body))
        if cands is None:
            cands = self.candidates(body)
        if self.timed:
            return _first_timed(cands, body)
        for rule in cands:
            m = rule.regex.fullmatch(body)
            if m is not None:
                return rule, m
        return None

    def match_keyed(self, body: str, keys: tuple[str, str] | None = None) -> tuple[CompiledRule, RuleMatch] | None:
        """Like :meth:`match`, among the rules whose literal first words fit *body* only (no generic rule):
        a line of this pack's type that reached another pack (per-line routing fallback). *keys*: the body's
        :func:`body_keys`, when the caller has them."""
        key2, key1 = keys or body_keys(body)
        cands = self._keyed_cache.get(key2)
        if cands is None:
            cands = self._ordered(self._by_key2.get(key2, []) + (self._by_key1.get(key1, []) if key2 != key1 else []))
            if len(self._keyed_cache) >= _CACHE_LIMIT:
                self._keyed_cache.clear()
            self._keyed_cache[key2] = cands
        return _first_timed(cands, body) if cands else None

    def match_slow(self, body: str) -> list[CompiledRule]:
        """Every rule whose pattern matches *body*, ignoring dispatch (for tests and tooling)."""
        found = []
        for rule in self.rules:
            try:
                if rule.regex.fullmatch(body):
                    found.append(rule)
            except TimeoutError:
                continue
        return found


def _first_timed(cands: Iterable[CompiledRule], body: str) -> tuple[CompiledRule, RuleMatch] | None:
    """The first of *cands* that matches; a user rule out of time is skipped and reported at the end."""
    late: list[CompiledRule] = []
    found: tuple[CompiledRule, RuleMatch] | None = None
    for rule in cands:
        try:
            m = rule.regex.fullmatch(body)
        except TimeoutError:
            late.append(rule)
            continue
        if m is not None:
            found = rule, m
            break
    if late:
        raise RuleTimeout(late, found)
    return found


PACK_DIR = "packs"


def builtin_pack_paths() -> list[Path]:
    """The YAML packs shipped inside the package."""
    root = Path(__file__).parent / PACK_DIR  # (importlib.resources would cost start-up; packs are plain files)
    return sorted(p for p in root.iterdir() if p.name.endswith(".yaml"))


def builtin_log_types() -> tuple[str, ...]:
    """The log types of the built-in packs (a pack file is named after its log type)."""
    return tuple(p.stem for p in builtin_pack_paths())


def load_builtin_packs(user_packs: Iterable[str | Path] = (),
                       declared: Callable[[str], bool] | None = None) -> dict[str, CompiledPack]:
    """The built-in packs, each preceded by the user packs of the same ``log_type``.

    A built-in pack that no user pack extends is read and compiled when a line first needs it.
    """
    builtin = builtin_pack_paths()
    users = _read_packs(user_packs)
    types = {p.stem for p in builtin}
    for pack in users:
        if pack.log_type not in types:
            raise PackError(
                f"log_type {pack.log_type!r} has no built-in pack (known: {', '.join(sorted(types))})",
                SourceLocation(pack.path))
    compiled: dict[str, CompiledPack] = {}
    for path in builtin:
        log_type = path.stem
        chain = [p for p in users if p.log_type == log_type]
        if chain:  # compiled now: a user's mistake is reported before any line is read
            compiled[log_type] = CompiledPack([*chain, *_builtin_pack(path)], declared)
        else:
            compiled[log_type] = CompiledPack.deferred(log_type, partial(_builtin_pack, path), declared)
    return compiled


def _read_packs(paths: Iterable[str | Path]) -> list[Pack]:
    """The packs in the YAML files *paths*, read and checked."""
    paths = list(paths)
    if not paths:
        return []
    from esalog.parsers.pack import Pack

    return [Pack.from_yaml(path) for path in paths]


def _builtin_pack(path: Path) -> list[Pack]:
    (pack,) = _read_packs([path])
    if pack.log_type != path.stem:
        raise PackError(f"a built-in pack must be named after its log_type {pack.log_type!r}",
                        SourceLocation(str(path)))
    return [pack]
