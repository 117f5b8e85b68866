"""Compile a pack's rule into what the hot path runs: its regex, how captures become values, how values nest.

:class:`~esalog.parsers.engine.CompiledPack` calls :func:`compile_rule` when a line first reaches a rule,
so this module (and the converters, post-processors and pack model it needs) is imported then, not at
start.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from esalog.errors import PackError, SourceLocation
from esalog.parsers.converters import CONVERTERS, Converter
from esalog.parsers.fields import Event, parent_object, split_path, undeclared
from esalog.parsers.grok import GrokError, dispatch_key, expand
from esalog.parsers.kv import compile_kv
from esalog.parsers.matching import CONVERSION_ERRORS, USER_RULE_SECONDS, RuleMatch, RulePattern
from esalog.parsers.pack import Pack, Rule
from esalog.parsers.post import POSTPROCESSORS, PostProcessor

#: Fields whose value changes how later lines of the same input are read (header lines).
STREAM_FIELDS = frozenset({"observer.version", "observer.serial_number", "cisco.esa.utc_offset_seconds"})

#: What a rule stores under one parent object: (parent keys, ((leaf, static value), ...),
#: ((value slot, leaf), ...)). The encoder walks to each parent once per event.
StorePlan = tuple[tuple[str, ...], tuple[tuple[str, Any], ...], tuple[tuple[int, str], ...]]


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


#: The most a user rule's counted repetitions (``x{5}``, ``x{2,300}``, ``x{9,}``) may add up to: the
#: ``regex`` module builds a node per repetition when it compiles, about 270 bytes each (``\d{99999999}``
#: took minutes and would have taken 27 GB); 65,535 is PCRE2's bound for one of them.
MAX_COUNTED_REPETITIONS = 65_535
_COUNTED = re.compile(r"\\.|\[\^?\]?(?:\\.|[^\]\\])*\]?|\{(\d+)(?:,(\d*))?\}", re.DOTALL)


def counted_repetitions(text: str) -> int:
    """The sum of the largest bound of every counted repetition in the regex *text* (escapes and
    character classes, where braces are literal, skipped)."""
    total = 0
    for found in _COUNTED.finditer(text):
        low, high = found.group(1, 2)
        if low is not None:
            total += max(int(low), int(high or 0))
    return total


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
        repeats = counted_repetitions(regex_text)
        if repeats > MAX_COUNTED_REPETITIONS:
            raise PackError(f"counted repetitions add up to {repeats:,} (at most {MAX_COUNTED_REPETITIONS:,}): "
                            "the regex engine of user packs builds one node per repetition", loc)
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
                raise PackError(undeclared(name), loc)
    return CompiledRule(
        id=rule.id,
        order=order,
        pack=pack.name,
        dataset=pack.dataset,
        key=dispatch_key(rule.match),
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
