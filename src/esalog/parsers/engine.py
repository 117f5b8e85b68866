"""Compile packs into plain ``re`` and dispatch a message body to the few rules that can match it.

Dispatch: each rule's pattern gives a key of literal words (see :func:`grok.dispatch_key`); a body
computes the same keys with :func:`grok.body_keys`. Only rules in the body's buckets (two-word key,
then one-word key, then rules with no literal prefix) are tried, in pack precedence order.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from esalog.errors import PackError, SourceLocation
from esalog.parsers.converters import CONVERTERS, Converter
from esalog.parsers.fields import Event, get_field, parent_object, set_field, split_path
from esalog.parsers.grok import BASE_PATTERNS, GrokError, body_key, body_keys, dispatch_key, expand
from esalog.parsers.kv import compile_kv
from esalog.parsers.pack import Pack, Rule
from esalog.parsers.post import POSTPROCESSORS, PostProcessor

#: Re-exported: the dotted-name helpers most callers import from here.
__all__ = [
    "CompiledPack", "CompiledRule", "Event", "get_field", "load_builtin_packs", "set_field", "split_path",
]

#: What a rule stores under one parent object: (parent keys, ((leaf, static value), ...),
#: ((value slot, leaf), ...)). The encoder walks to each parent once per event.
StorePlan = tuple[tuple[str, ...], tuple[tuple[str, Any], ...], tuple[tuple[int, str], ...]]
#: What a converter may raise on text its pattern let through (user packs): the line gets a tagged
#: event naming the rule and field, never an exception.
CONVERSION_ERRORS = (ValueError, TypeError, ArithmeticError, LookupError, UnicodeError)

_CACHE_LIMIT = 50_000
#: Fields whose value changes how later lines of the same input are read (header lines).
STREAM_FIELDS = frozenset({"observer.version", "observer.serial_number", "cisco.esa.utc_offset_seconds"})


#: Seconds one rule of a user pack may take to match one line. Python's ``re`` cannot be interrupted, so
#: user rules (any pattern a user writes: nested quantifiers such as ``(?:x+x+)+y`` take exponential time)
#: run on the ``regex`` module (``re``-compatible VERSION0 syntax), whose matching stops at a timeout;
#: a line that exceeds it is kept as an event tagged ``esalog_rule_timeout``. Built-in rules keep ``re``.
USER_RULE_SECONDS = 0.05


class RuleMatch(Protocol):
    """What the parser reads of a match (``re.Match`` and the ``regex`` module's alike)."""

    def groups(self) -> tuple[str | None, ...]: ...


class RulePattern(Protocol):
    """A rule's compiled pattern: ``re.Pattern`` (built-in rules) or :class:`TimedPattern` (user rules)."""

    @property
    def pattern(self) -> str: ...

    @property
    def groupindex(self) -> Mapping[str, int]: ...

    def fullmatch(self, string: str) -> RuleMatch | None: ...


class RuleTimeout(Exception):
    """User rules ran out of time on a line; ``found`` is what matched among the other rules, if any."""

    def __init__(self, rules: list[CompiledRule], found: tuple[CompiledRule, RuleMatch] | None) -> None:
        super().__init__(", ".join(rule.id for rule in rules))
        self.rules = rules
        self.found = found


class TimedPattern:
    """A user rule's pattern compiled by the ``regex`` module, matched within :data:`USER_RULE_SECONDS`."""

    __slots__ = ("_compiled", "groupindex", "pattern")

    def __init__(self, text: str) -> None:
        import regex  # only user packs need it

        self._compiled = regex.compile(text, regex.VERSION0)
        self.pattern = text
        self.groupindex: Mapping[str, int] = dict(self._compiled.groupindex)

    def fullmatch(self, string: str) -> RuleMatch | None:
        """Raises TimeoutError past the time budget."""
        found: RuleMatch | None = self._compiled.fullmatch(string, timeout=USER_RULE_SECONDS)
        return found


def is_scratch(name: str) -> bool:
    """A capture named ``_x`` is a fact for post-processors and stages, never a field of the event."""
    return name.startswith("_")


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready for the hot path: its regex, how captures become values, and how values nest."""

    id: str
    order: int
    pack: str
    dataset: str
    key: tuple[str, ...]
    regex: RulePattern
    converters: tuple[tuple[int, Converter | None], ...]  # per value slot: (group index, converter)
    slot_fields: tuple[str, ...]  # per value slot: the dotted field it feeds
    slots: dict[str, tuple[int, ...]]  # dotted field -> its value slots (several with alternatives)
    single_slots: dict[str, int]  # the fields captured by one slot only (the fast path of Record.get)
    statics: dict[str, Any]  # every ``set:`` field, dotted
    event_static: dict[str, Any]  # the ``event.*`` part of ``set:``, by leaf
    action: str | None  # the static ``event.action`` (None when a capture may set it)
    post: tuple[PostProcessor, ...]
    source: Rule
    fields: frozenset[str]
    updates_stream: bool
    derives_mid: bool  # may carry the MID (email.local_id is derived from it)
    derives_ips: bool  # may carry source.ip or destination.ip (related.ip is derived from them)
    id_slots: tuple[int, int, int]  # value slot of the MID, ICID, DCID: -1 none, -2 several (read by name)
    roots: frozenset[str]  # top-level names the rule may write
    under: dict[str, tuple[str, ...]]  # object name (``source``, ``email.to``) -> the rule's fields under it
    static_under: frozenset[str]  # object names under which the rule sets a static field
    slots_under: dict[str, tuple[int, ...]]  # object name -> the value slots of the fields under it
    #: object name -> how Record.subtree builds it: (path below it, value slots, static value or None)
    subtree_plans: dict[str, tuple[tuple[tuple[str, ...], tuple[int, ...], Any], ...]]
    may_have_connection_facts: bool  # may write source, destination, related or tls itself
    names_files: bool  # may name a file hash (file.hash.sha256, email.attachments): the tracker links it
    plan: tuple[StorePlan, ...]  # statics and captures grouped by parent object, statics first

    def convert(self, groups: Sequence[str | None]) -> list[Any]:
        """The value of each slot from the match groups (None where the group did not take part).

        Raises one of :data:`CONVERSION_ERRORS` when a converter cannot read its text; the caller then
        uses :meth:`convert_each`.
        """
        return [None if (text := groups[index]) is None else text if conv is None else conv(text)
                for index, conv in self.converters]

    def convert_each(self, groups: Sequence[str | None]) -> tuple[list[Any], list[str]]:
        """Like :meth:`convert`, one slot at a time: a slot whose converter fails is left empty and named."""
        values: list[Any] = []
        failed: list[str] = []
        for (index, conv), name in zip(self.converters, self.slot_fields, strict=True):
            text = groups[index]
            if text is None or conv is None:
                values.append(text)
                continue
            try:
                values.append(conv(text))
            except CONVERSION_ERRORS as exc:
                values.append(None)
                failed.append(f"{name}: {type(exc).__name__}: {exc}")
        return values, failed

    def build(self, values: Sequence[Any], event: Event, event_obj: dict[str, Any]) -> None:
        """Store the static fields and the values in *event* (*event_obj* is ``event["event"]``)."""
        event_obj.update(self.event_static)
        for parents, statics, captures in self.plan:
            target = parent_object(event, parents) if statics else None
            for leaf, value in statics:
                target[leaf] = value  # type: ignore[index]
            for slot, leaf in captures:
                value = values[slot]
                if value is None:
                    continue
                if target is None:  # objects are made only when something goes in them
                    target = event  # (the walk of parent_object, inlined: this runs for nearly every capture)
                    for key in parents:
                        nxt = target.get(key)
                        if nxt is None:
                            nxt = target[key] = {}
                        target = nxt
                target[leaf] = value


def compile_rule(rule: Rule, pack: Pack, order: int, patterns: dict[str, str],
                 declared: Callable[[str], bool] | None, *, user: bool = False) -> CompiledRule:
    """Expand and compile one rule; raise :class:`PackError` naming the pack file and rule.

    A *user* rule is matched with a time budget (:class:`TimedPattern`).
    """
    loc = SourceLocation(pack.path, rule=rule.id, line=rule.line)
    try:
        regex_text, captures = expand(rule.match, patterns)
    except GrokError as exc:
        raise PackError(str(exc), loc) from None
    regex: RulePattern
    try:
        regex = re.compile(regex_text)
    except re.error as exc:
        raise PackError(f"invalid regular expression: {exc}", loc) from None
    if user:
        try:
            regex = TimedPattern(regex_text)
        except ImportError:
            raise PackError("user packs need the 'regex' module (pip install regex): their rules are matched "
                            "with a time limit", loc) from None
        except Exception as exc:  # regex.error: the other engine refuses what re took
            raise PackError(f"regular expression not supported for user packs: {exc}", loc) from None
    converters: list[tuple[int, Converter | None]] = []
    slot_fields: list[str] = []
    slots: dict[str, list[int]] = {}
    fields: set[str] = set()
    for cap in captures:
        conv: Converter | None = None
        if cap.conv and cap.conv != "str":
            try:
                conv = CONVERTERS[cap.conv]
            except KeyError:
                raise PackError(
                    f"unknown converter {cap.conv!r} for field {cap.field!r} "
                    f"(known: {', '.join(sorted(CONVERTERS))})", loc) from None
        slots.setdefault(cap.field, []).append(len(converters))
        converters.append((regex.groupindex[cap.group] - 1, conv))
        slot_fields.append(cap.field)
        if not is_scratch(cap.field):  # scratch captures are consumed, not kept
            fields.add(cap.field)
    event_static: dict[str, Any] = {}
    other_static: list[tuple[tuple[str, ...], str, Any]] = []
    for name, value in rule.set.items():
        parents, leaf = split_path(name)
        if parents == ("event",):
            event_static[leaf] = value
        else:
            other_static.append((parents, leaf, value))
        fields.add(name)
    post: list[PostProcessor] = []
    for name in rule.post:
        try:
            post.append(POSTPROCESSORS[name])
        except KeyError:
            raise PackError(f"unknown post-processor {name!r} (known: {', '.join(sorted(POSTPROCESSORS))})",
                            loc) from None
    if rule.kv is not None:
        if rule.kv.source not in slots:
            raise PackError(f"kv 'from' names {rule.kv.source!r}, which no capture of the rule fills", loc)
        mapper, kv_fields = compile_kv(rule.kv, loc, CONVERTERS, declared)
        post.insert(0, mapper)
        fields |= kv_fields
    plan: dict[tuple[str, ...], tuple[list[tuple[str, Any]], list[tuple[int, str]]]] = {}
    for parents, leaf, value in other_static:
        plan.setdefault(parents, ([], []))[0].append((leaf, value))
    for slot, name in enumerate(slot_fields):
        if not is_scratch(name):
            parents, leaf = split_path(name)
            plan.setdefault(parents, ([], []))[1].append((slot, leaf))
    if declared is not None:
        for name in sorted(fields):
            if not declared(name):
                raise PackError(f"field {name!r} is not declared in the event schema", loc)
    return CompiledRule(
        id=rule.id,
        order=order,
        pack=pack.name,
        dataset=pack.dataset,
        key=dispatch_key(rule.match, patterns),
        regex=regex,
        converters=tuple(converters),
        slot_fields=tuple(slot_fields),
        slots={name: tuple(indices) for name, indices in slots.items()},
        single_slots={name: indices[0] for name, indices in slots.items() if len(indices) == 1},
        statics=dict(rule.set),
        event_static=event_static,
        action=None if "event.action" in slots else rule.set.get("event.action"),
        post=tuple(post),
        source=rule,
        fields=frozenset(fields),
        updates_stream=any(f in STREAM_FIELDS for f in fields),
        derives_mid=bool(post) or "cisco.esa.mid" in fields,
        derives_ips=bool(post) or "source.ip" in fields or "destination.ip" in fields,
        id_slots=_id_slots(slots, bool(post)),
        **_prefix_index(rule.set, slots),
        roots=frozenset(name.split(".", 1)[0] for name in fields),
        names_files=bool({"file.hash.sha256", "email.attachments"} & fields) or bool(rule.kv),
        may_have_connection_facts=bool(post) or bool({"source", "destination", "related", "tls"}
                                                     & {name.split(".", 1)[0] for name in fields}),
        plan=tuple((parents, tuple(statics), tuple(caps)) for parents, (statics, caps) in plan.items()),
    )


def _prefix_index(statics: Mapping[str, Any], slots: dict[str, list[int]]) -> dict[str, Any]:
    """For each object name a rule's fields sit under (every dotted prefix, and the field itself): which
    fields, whether a static one, and which value slots (so ``Record.has``/``subtree`` need no scan)."""
    under: dict[str, list[str]] = {}
    static_under: set[str] = set()
    slots_under: dict[str, list[int]] = {}
    for name in [*statics, *(n for n in slots if not is_scratch(n))]:
        parts = name.split(".")
        for end in range(1, len(parts) + 1):
            prefix = ".".join(parts[:end])
            if name not in under.setdefault(prefix, []):
                under[prefix].append(name)
            if name in statics:
                static_under.add(prefix)
            slots_under.setdefault(prefix, []).extend(slots.get(name, ()))
    plans = {
        prefix: tuple((tuple(name[len(prefix) + 1:].split(".")), tuple(slots.get(name, ())), statics.get(name))
                      for name in names if name != prefix)
        for prefix, names in under.items()
    }
    return {"under": {k: tuple(v) for k, v in under.items()}, "static_under": frozenset(static_under),
            "slots_under": {k: tuple(v) for k, v in slots_under.items()}, "subtree_plans": plans}


def _id_slots(slots: dict[str, list[int]], post: bool) -> tuple[int, int, int]:
    """Where a rule's MID, ICID and DCID are: one value slot, -1 nowhere, -2 read by name (alternatives,
    or a post-processor may set them)."""
    out = []
    for name in ("cisco.esa.mid", "cisco.esa.icid", "cisco.esa.dcid"):
        found = slots.get(name)
        out.append(-2 if post or (found and len(found) > 1) else found[0] if found else -1)
    return out[0], out[1], out[2]


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
        for order, (rule, _, patterns, _) in enumerate(self._sources):
            try:
                key = dispatch_key(rule.match, patterns)
            except GrokError:  # compile_rule reports it, naming the rule
                key = ()
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

    def match_keyed(self, body: str) -> tuple[CompiledRule, RuleMatch] | None:
        """Like :meth:`match`, among the rules whose literal first words fit *body* only (no generic rule):
        a line of this pack's type that reached another pack (per-line routing fallback)."""
        key2, key1 = body_keys(body)
        keyed = self._by_key2.get(key2, []) + (self._by_key1.get(key1, []) if key2 != key1 else [])
        return _first_timed(self._ordered(keyed), body)

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
    users = [Pack.from_yaml(p) for p in user_packs]
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
            compiled[log_type] = CompiledPack([*chain, Pack.from_yaml(path)], declared)
        else:
            compiled[log_type] = CompiledPack.deferred(log_type, partial(_builtin_pack, path), declared)
    return compiled


def _builtin_pack(path: Path) -> list[Pack]:
    pack = Pack.from_yaml(path)
    if pack.log_type != path.stem:
        raise PackError(f"a built-in pack must be named after its log_type {pack.log_type!r}",
                        SourceLocation(str(path)))
    return [pack]
