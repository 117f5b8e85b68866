"""How much of a user's logs the packs recognise (``esalog patterns coverage``).

Counts, per rule, how many lines it read; then the lines no rule read, grouped by shape (numbers,
addresses, IPs and quoted strings masked), most frequent first, each with one real example.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from esalog.parsers.parser import UNSUPPORTED_TAG, LineParser
from esalog.parsers.record import PIPELINE_ERROR, Record

_SHAPE = re.compile(
    r"(?P<sq>'(?:[^'\\]|\\.)*')|(?P<dq>\"(?:[^\"\\]|\\.)*\")|(?P<addr><[^<>\s]*>|[\w.+-]+@[\w.-]+)"
    r"|(?P<ip>\b(?:\d{1,3}\.){3}\d{1,3}\b)|(?P<hex>\b[0-9a-fA-F]{32,}\b)|(?P<n>\d+(?:\.\d+)?)")
_MASK = {"sq": "'<q>'", "dq": '"<q>"', "addr": "<addr>", "ip": "<ip>", "hex": "<hex>", "n": "<n>"}


def shape(body: str) -> str:
    """*body* with its variable parts masked (``MID 12 at <a@b>`` -> ``MID <n> at <addr>``)."""
    return _SHAPE.sub(lambda m: _MASK[m.lastgroup or "n"], body)


@dataclass
class Coverage:
    """Counts of one coverage run."""

    lines: int = 0
    by_rule: Counter[tuple[str, str]] = field(default_factory=Counter)
    unmatched: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    unsupported: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, record: Record) -> None:
        """Count one line's record."""
        self.lines += 1
        message = record.message
        if record.kind == PIPELINE_ERROR:
            key = f"[{record.get('error.type')}] {shape(message)}"
            self.errors[key] += 1
            self.examples.setdefault(key, message)
        elif UNSUPPORTED_TAG in (record.get("tags") or ()):
            self.unsupported[record.dataset] += 1
        elif record.rule is None:
            key = shape(message)
            self.unmatched[key] += 1
            self.examples.setdefault(key, message)
        else:
            self.by_rule[(record.dataset.removeprefix("cisco_esa."), record.rule.id)] += 1

    @property
    def recognised(self) -> int:
        """Lines some rule read."""
        return sum(self.by_rule.values())


def report(result: Coverage, parser: LineParser, *, top: int, show_all: bool) -> str:
    """The text report printed by the command."""
    out: list[str] = ["lines  log type            rule"]
    rules = [(lt, r.id) for lt, pack in sorted(parser.packs.items()) for r in pack.rules]
    silent = 0
    for key in sorted(rules, key=lambda k: (-result.by_rule.get(k, 0), k)):
        count = result.by_rule.get(key, 0)
        if count or show_all:
            out.append(f"{count:5d}  {key[0]:<18}  {key[1]}")
        else:
            silent += 1
    if silent:
        out.append(f"({silent} rules matched no line; --all lists them)")
    share = 100.0 * result.recognised / result.lines if result.lines else 0.0
    out.append("")
    out.append(f"{result.lines} lines: {result.recognised} recognised ({share:.1f}%), "
               f"{sum(result.unmatched.values())} unmatched in {len(result.unmatched)} shapes, "
               f"{sum(result.unsupported.values())} of log types without a pack, "
               f"{sum(result.errors.values())} not ESA lines")
    for dataset, count in sorted(result.unsupported.items()):
        out.append(f"  {count:5d}  {dataset} (no pack: tagged {UNSUPPORTED_TAG})")
    for title, groups in (("unmatched lines by shape", result.unmatched), ("not ESA lines", result.errors)):
        if not groups:
            continue
        out.append("")
        out.append(f"{title}, most frequent first:")
        for shape_key, count in groups.most_common(top):
            out.append(f"  {count:5d}  {shape_key}")
            example = result.examples[shape_key]
            if example.strip() and example != shape_key:
                out.append(f"         e.g. {example}")
        if len(groups) > top:
            out.append(f"  ... {len(groups) - top} more shapes (--top N)")
    return "\n".join(out) + "\n"
