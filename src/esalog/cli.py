"""The ``esalog`` command line: parse, filter, patterns, schema (and the commands of other modules).

Exit codes: 0 success; 1 runtime failure (I/O, delivery); 2 usage or configuration error (bad option,
malformed pack, missing file); 3 ``--strict`` and some line was unmatched or not an ESA line.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable, Sequence
from typing import BinaryIO

from esalog import __version__
from esalog.encode import encode_lines
from esalog.errors import ConfigError, EsalogError, PackError
from esalog.integrations.filter import add_filter_options, run_filter
from esalog.parsers.header import parse_tz
from esalog.parsers.parser import LineParser
from esalog.pipeline import ClockOptions, Counters, Pipeline, Stage
from esalog.tracking.cli import add_tracking_options, build_tracking_stages

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_STRICT = 0, 1, 2, 3

#: Modules that add sub-commands: each has ``register(subparsers)``.
COMMAND_MODULES: tuple[str, ...] = (
    "esalog.coverage",
    "esalog.connectors.ship",
    "esalog.tracking.cli",
    "esalog.integrations.listener",
    "esalog.integrations.splunk",
)

#: Functions that add options to every parsing command and build pipeline stages from them.
#: Each entry: (add_options(parser), build_stages(args) -> list[Stage]).
STAGE_PROVIDERS: list[tuple[Callable[[argparse.ArgumentParser], None],
                            Callable[[argparse.Namespace], list[Stage]]]] = [
    (add_tracking_options, build_tracking_stages),
]


def add_parse_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that parses lines."""
    g = parser.add_argument_group("parsing")
    g.add_argument("--pack", action="append", default=[], metavar="FILE",
                   help="extra parser pack (YAML); its rules take precedence (repeatable)")
    g.add_argument("--tz", default="UTC", metavar="ZONE",
                   help="zone of time stamps when no 'Time offset from UTC' header was seen: "
                        "IANA name or +HH:MM (default UTC)")
    g.add_argument("--year", type=int, metavar="YYYY",
                   help="year of syslog time stamps that carry none (default: this year, Dec read in Jan = last year)")
    g.add_argument("--host", metavar="NAME", help="observer.hostname when the line carries no host")
    g.add_argument("--no-original", action="store_true", help="do not keep the raw line in event.original")
    g.add_argument("--log-type", choices=("mail_logs", "bounce_logs", "consolidated_event"),
                   help="force the pack instead of picking it from the subscription or file name")
    for add_options, _ in STAGE_PROVIDERS:
        add_options(parser)


def build_pipeline(args: argparse.Namespace) -> Pipeline:
    """Parser + stages from the parsing options."""
    parser = LineParser.from_options(args.pack, keep_original=not args.no_original, log_type=args.log_type)
    stages: list[Stage] = []
    for _, build in STAGE_PROVIDERS:
        stages.extend(build(args))
    clock = ClockOptions(tz=parse_tz(args.tz), year=args.year, host=args.host)
    return Pipeline(parser, stages, clock)


# ------------------------------------------------------------------------------------------- parse

class Progress:
    """A one-line progress report on stderr, only when stderr is a terminal."""

    def __init__(self, counters: Counters, enabled: bool) -> None:
        self.counters = counters
        self.enabled = enabled
        self.start = time.monotonic()
        self._next = self.start + 0.5

    def tick(self) -> None:
        now = time.monotonic()
        if self.enabled and now >= self._next:
            self._next = now + 0.5
            rate = self.counters.lines / max(now - self.start, 1e-9)
            sys.stderr.write(f"\r{self.counters.lines:,} lines  {rate:,.0f} lines/s")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\x1b[K")


def summary_line(counters: Counters, seconds: float) -> str:
    """The closing summary printed on stderr."""
    rate = counters.lines / seconds if seconds > 0 else 0.0
    return (f"esalog: {counters.lines} lines, {counters.events} events "
            f"({counters.extra} summaries), {counters.unmatched} unmatched, {counters.errors} errors, "
            f"{rate:,.0f} lines/s")


def cmd_parse(args: argparse.Namespace) -> int:
    out: BinaryIO = open(args.output, "wb") if args.output else sys.stdout.buffer
    start = time.monotonic()
    write = out.write
    progress = None
    try:
        if args.workers is not None:
            from esalog.workers import parse_independently

            counters = parse_independently(args, build_pipeline, write)
        else:
            pipeline = build_pipeline(args)
            counters = pipeline.counters
            progress = Progress(counters, sys.stderr.isatty() and not args.quiet)
            for events, _pos in pipeline.run_batches(args.paths):
                write(encode_lines(events))
                progress.tick()
        out.flush()
    except BrokenPipeError:
        return EXIT_OK
    finally:
        if progress is not None:
            progress.done()
        if args.output:
            out.close()
    if not args.quiet:
        print(summary_line(counters, time.monotonic() - start), file=sys.stderr)
    if args.strict and (counters.unmatched or counters.errors):
        return EXIT_STRICT
    return EXIT_OK


# ------------------------------------------------------------------------------------------ filter

def cmd_filter(args: argparse.Namespace) -> int:
    try:
        return run_filter(args, build_pipeline(args))
    except BrokenPipeError:
        return EXIT_OK


# ---------------------------------------------------------------------------------------- patterns

def cmd_patterns_list(args: argparse.Namespace) -> int:
    parser = LineParser.from_options(args.pack)
    rows = []
    for log_type, pack in sorted(parser.packs.items()):
        for rule in pack.rules:
            rows.append((log_type, rule.id, " ".join(rule.key) or "*", str(len(rule.source.examples)),
                         rule.pack))
    widths = [max(len(r[i]) for r in [*rows, ("log type", "rule", "dispatch", "examples", "pack")])
              for i in range(5)]
    header = ("log type", "rule", "dispatch", "examples", "pack")
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(f"{len(rows)} rules", file=sys.stderr)
    return EXIT_OK


def cmd_patterns_test(args: argparse.Namespace) -> int:
    from esalog.testing import run_pack_examples

    parser = LineParser.from_options(args.pack)
    results = run_pack_examples(parser)
    failures = [r for r in results if not r.ok]
    for r in failures:
        print(f"FAIL {r.rule_id}: {r.line}\n     {r.problem}", file=sys.stderr)
    print(f"{len(results) - len(failures)} passed, {len(failures)} failed")
    return EXIT_FAILURE if failures else EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from esalog.schemas import schema_text

    sys.stdout.write(schema_text())
    return EXIT_OK


# -------------------------------------------------------------------------------------------- main

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esalog",
        description="Parse, track and ship Cisco Secure Email Gateway (ESA) mail logs as ECS-like JSON.",
    )
    parser.add_argument("--version", action="version", version=f"esalog {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("parse", help="convert log files (plain or .gz) or stdin to NDJSON",
                       description="Convert ESA logs to NDJSON: one event per input line, in order.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or globs, '-' for stdin (default)")
    p.add_argument("-o", "--output", metavar="FILE", help="write NDJSON here instead of stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress and no closing summary")
    p.add_argument("--strict", action="store_true",
                   help="exit 3 when any line was unmatched or not an ESA line")
    p.add_argument("--workers", type=int, metavar="N",
                   help="parse the input files in N processes, each file on its own (no session state "
                        "shared between files); output stays in input order")
    add_parse_options(p)
    p.set_defaults(func=cmd_parse)

    f = sub.add_parser("filter", help="stdin to stdout, one JSON line per input line, flushed per line",
                       description="Streaming filter for rsyslog (omprog, mmexternal), Logstash, Fluent Bit: "
                                   "reads raw lines or JSON objects carrying the line in --field; "
                                   "never exits on bad input.")
    add_filter_options(f)
    add_parse_options(f)
    f.set_defaults(func=cmd_filter)

    pt = sub.add_parser("patterns", help="list and test the parser packs")
    psub = pt.add_subparsers(dest="patterns_command", required=True, metavar="ACTION")
    pl = psub.add_parser("list", help="every rule with its dispatch key")
    pl.add_argument("--pack", action="append", default=[], metavar="FILE", help="extra pack (repeatable)")
    pl.set_defaults(func=cmd_patterns_list)
    ptest = psub.add_parser("test", help="run every rule's examples; non-zero exit on a failure")
    ptest.add_argument("--pack", action="append", default=[], metavar="FILE", help="extra pack (repeatable)")
    ptest.set_defaults(func=cmd_patterns_test)

    s = sub.add_parser("schema", help="print the JSON Schema of an event")
    s.set_defaults(func=cmd_schema)

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except EsalogError as exc:
        print(f"esalog: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ConfigError | PackError) else EXIT_FAILURE
    except BrokenPipeError:  # the reader went away (esalog ... | head): not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
