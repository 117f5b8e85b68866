"""``esalog patterns list|test|coverage``: the rules, their examples, and how much of a log they read."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from esalog.cli.common import add_parse_options, pipeline_config, read_all
from esalog.cli.options import add_settings, settings_from
from esalog.errors import EXIT_FAILURE, EXIT_OK
from esalog.parsers.config import ParseConfig
from esalog.parsers.coverage import Coverage, report
from esalog.parsers.parser import LineParser
from esalog.pipeline import Pipeline
from esalog.settings import at_least, integer, setting, validate
from esalog.testing.examples import ExampleResult, run_pack_examples


@dataclass(frozen=True)
class CoverageCommandConfig:
    """The options of ``esalog patterns coverage`` itself."""

    top: int = setting(30, flag="--top", metavar="N", parse=integer, check=at_least(0),
                       help="shapes of unmatched lines to list (default 30; 0: none)")

    def __post_init__(self) -> None:
        validate(self)


def register(sub: Any) -> None:
    pt = sub.add_parser("patterns", help="list and test the parser packs, measure their coverage of a log")
    actions = pt.add_subparsers(dest="patterns_command", required=True, metavar="ACTION")
    pl = actions.add_parser("list", help="every rule with its dispatch key")
    pl.add_argument("--pack", action="append", default=[], metavar="FILE", help="extra pack (repeatable)")
    pl.set_defaults(func=cmd_list)
    ptest = actions.add_parser("test", help="run every rule's examples; non-zero exit on a failure")
    ptest.add_argument("--pack", action="append", default=[], metavar="FILE", help="extra pack (repeatable)")
    ptest.set_defaults(func=cmd_test)
    pc = actions.add_parser(
        "coverage", help="per rule, how many lines it matched; unmatched lines grouped by shape",
        description="Parse the files and report, per rule, the lines it read, then the lines no rule read "
                    "grouped by shape (numbers, addresses, quoted strings masked), most frequent first.")
    pc.add_argument("paths", nargs="+", metavar="PATH", help="log files or globs ('-' for stdin)")
    add_settings(pc, CoverageCommandConfig)
    pc.add_argument("--all", action="store_true", help="also list the rules that matched no line")
    pc.add_argument("-q", "--quiet", action="store_true", help="no progress on the terminal")
    add_parse_options(pc, tracking=False)
    pc.set_defaults(func=cmd_coverage)


def _parser(args: argparse.Namespace) -> LineParser:
    config = settings_from(ParseConfig, args, packs=tuple(args.pack))
    return LineParser.from_options(config.packs)


def cmd_list(args: argparse.Namespace) -> int:
    parser = _parser(args)
    rows = []
    for log_type, pack in sorted(parser.packs.items()):
        for rule in pack.rules:
            rows.append((log_type, rule.id, " ".join(rule.key) or "*", str(len(rule.source.examples)), rule.pack))
    header = ("log type", "rule", "dispatch", "examples", "pack")
    widths = [max(len(r[i]) for r in [*rows, header]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(f"{len(rows)} rules", file=sys.stderr)
    return EXIT_OK


def cmd_test(args: argparse.Namespace) -> int:
    parser = _parser(args)
    results = run_pack_examples(parser)
    failures = [r for r in results if not r.ok]
    for r in failures:
        print(f"FAIL {r.rule_id}: {r.line}\n     {r.problem}", file=sys.stderr)
    for line in _user_pack_lines(args.pack, parser, results):
        print(line)
    print(f"{len(results) - len(failures)} passed, {len(failures)} failed")
    return EXIT_FAILURE if failures else EXIT_OK


def _user_pack_lines(paths: list[str], parser: LineParser, results: list[ExampleResult]) -> list[str]:
    """One line per ``--pack`` file: how many of the examples above are its own, and each of its rules that
    has none (nothing tests it), so a user sees that their pack was read and what it checked."""
    from esalog.parsers.pack import Pack

    lines = []
    for path in paths:
        pack = Pack.from_yaml(path)  # read and checked already by _parser; from the YAML cache here
        compiled = {r.id: r for r in parser.packs[pack.log_type].rules if r.pack == pack.name}
        own = [r for r in results if r.log_type == pack.log_type and r.rule_id in compiled]
        failed = sum(not r.ok for r in own)
        rules = [r for r in pack.rules if r.id in compiled]
        lines.append(f"{path} (pack {pack.name!r}, {pack.log_type}): {_count(len(rules), 'rule')}, "
                     f"{_count(len(own) - failed, 'example')} passed, {failed} failed")
        lines += [f"  rule {r.id!r} has no examples, so nothing tests it: add 'examples:' with a real line "
                  f"and the fields it must give" for r in rules if not r.examples]
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def cmd_coverage(args: argparse.Namespace) -> int:
    command = settings_from(CoverageCommandConfig, args)
    p = pipeline_config(args).parse
    parser = LineParser.from_options(p.packs, keep_original=p.keep_original, log_type=p.log_type)
    pipeline = Pipeline(parser, (), p)  # no stages: what the packs alone read
    result = Coverage()
    damaged = read_all(pipeline, args.paths, result.add, quiet=args.quiet)
    sys.stdout.write(report(result, parser, top=command.top, show_all=args.all))
    return EXIT_FAILURE if damaged else EXIT_OK
