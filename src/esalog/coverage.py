"""``esalog patterns coverage PATH...``: how much of a user's logs the packs recognise.

Prints, per rule, how many lines it read; then the lines no rule read, grouped by shape (numbers,
addresses, IPs and quoted strings masked), most frequent first, each with one real example.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from esalog.parsers.engine import get_field
from esalog.parsers.parser import UNSUPPORTED_TAG, LineParser
from esalog.pipeline import ClockOptions, Pipeline

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

    def add(self, event: dict[str, Any]) -> None:
        """Count one line's event."""
        self.lines += 1
        ev = event["event"]
        if ev.get("kind") == "pipeline_error":
            key = f"[{get_field(event, 'error.type')}] {shape(event.get('message', ''))}"
            self.errors[key] += 1
            self.examples.setdefault(key, event.get("message", ""))
        elif UNSUPPORTED_TAG in event.get("tags", ()):
            self.unsupported[ev["dataset"]] += 1
        elif ev.get("action") == "unknown":
            key = shape(event.get("message", ""))
            self.unmatched[key] += 1
            self.examples.setdefault(key, event.get("message", ""))
        else:
            self.by_rule[(ev["dataset"].removeprefix("cisco_esa."), get_field(event, "cisco.esa.kind"))] += 1

    @property
    def recognised(self) -> int:
        return sum(self.by_rule.values())


def measure(parser: LineParser, paths: Iterable[str], clock: ClockOptions | None = None) -> Coverage:
    """Parse *paths* (no tracking stages) and count what each rule read."""
    pipeline = Pipeline(parser, (), clock)
    result = Coverage()
    for event, _pos in pipeline.run_paths(list(paths)):
        result.add(event)
    return result


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
        for key, count in groups.most_common(top):
            out.append(f"  {count:5d}  {key}")
            if result.examples[key].strip() and result.examples[key] != key:
                out.append(f"         e.g. {result.examples[key]}")
        if len(groups) > top:
            out.append(f"  ... {len(groups) - top} more shapes (--top N)")
    return "\n".join(out) + "\n"


def cmd_coverage(args: argparse.Namespace) -> int:
    from esalog.parsers.header import parse_tz

    parser = LineParser.from_options(args.pack, log_type=args.log_type)
    result = measure(parser, args.paths, ClockOptions(tz=parse_tz(args.tz)))
    sys.stdout.write(report(result, parser, top=args.top, show_all=args.all))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``coverage`` under the existing ``patterns`` command."""
    patterns = subparsers.choices["patterns"]
    actions = [a for a in patterns._actions if isinstance(a, argparse._SubParsersAction)]
    p = actions[0].add_parser(
        "coverage", help="per rule, how many lines it matched; unmatched lines grouped by shape",
        description="Parse the files and report, per rule, the lines it read, then the lines no rule read "
                    "grouped by shape (numbers, addresses, quoted strings masked), most frequent first.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="log files or globs ('-' for stdin)")
    p.add_argument("--pack", action="append", default=[], metavar="FILE", help="extra pack (repeatable)")
    p.add_argument("--log-type", choices=("mail_logs", "bounce_logs", "consolidated_event"),
                   help="force the pack instead of picking it from the subscription or file name")
    p.add_argument("--tz", default="UTC", metavar="ZONE", help="zone of zone-less time stamps (default UTC)")
    p.add_argument("--top", type=int, default=30, metavar="N", help="shapes to list (default 30)")
    p.add_argument("--all", action="store_true", help="also list the rules that matched no line")
    p.set_defaults(func=cmd_coverage)
