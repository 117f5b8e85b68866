"""Command-line glue of session tracking: the tracking options of every parsing command, and
``esalog report``."""

from __future__ import annotations

import argparse
import re
import sys

from esalog.errors import ConfigError
from esalog.pipeline import Stage
from esalog.tracking.tracker import (
    DEFAULT_INBOUND_TIMEOUT,
    DEFAULT_MAX_OPEN,
    DEFAULT_TTL,
    StatelessAborts,
    Tracker,
)

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``24h``, ``90m``, ``3600s``, ``2d`` or plain seconds -> seconds."""
    m = _DURATION.fullmatch(text.lower())
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: use e.g. 300, 3600s, 90m, 24h, 2d")
    return float(m.group(1)) * _UNIT[m.group(2)]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_tracking_options(parser: argparse.ArgumentParser) -> None:
    """The session-tracking options of every parsing command."""
    g = parser.add_argument_group("session tracking (on by default)")
    g.add_argument(
        "--stateless",
        action="store_true",
        help="no session state (parallel workers): abort categories from the abort line alone",
    )
    g.add_argument(
        "--no-enrich",
        action="store_true",
        help="track, but do not copy connection and recipient facts into the line events",
    )
    g.add_argument(
        "--summaries",
        action="store_true",
        help="emit one message-summary event per MID when it finishes, is evicted or input ends",
    )
    g.add_argument(
        "--max-open",
        type=_positive_int,
        default=DEFAULT_MAX_OPEN,
        metavar="N",
        help=f"most connections and messages held at once (default {DEFAULT_MAX_OPEN}); "
        "the stalest is evicted, its summary marked incomplete",
    )
    g.add_argument(
        "--session-ttl",
        type=parse_duration,
        default=DEFAULT_TTL,
        metavar="DURATION",
        help="forget a connection or message not seen for this long in LOG time (default 24h; e.g. 90m, 3600s)",
    )
    g.add_argument(
        "--inbound-timeout",
        type=parse_duration,
        default=DEFAULT_INBOUND_TIMEOUT,
        metavar="DURATION",
        help="the listener's 'Timeout for Unsuccessful Inbound Connections' (default 300s): "
        "an abort idle this long is inbound_timeout, shorter is connection_lost",
    )


def build_tracking_stages(args: argparse.Namespace) -> list[Stage]:
    """The tracker (or the one-line classifier with ``--stateless``) from the options."""
    if getattr(args, "stateless", False):
        if getattr(args, "summaries", False):
            raise ConfigError("--summaries needs session state: drop --stateless")
        return [StatelessAborts()]
    return [
        Tracker(
            enrich=not args.no_enrich,
            summaries=args.summaries,
            max_open=args.max_open,
            ttl=args.session_ttl,
            inbound_timeout=args.inbound_timeout,
        )
    ]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``esalog report``."""
    from esalog.cli import add_parse_options

    p = subparsers.add_parser(
        "report",
        help="digest of dispositions and abort causes (terminal, --json, --html)",
        description="Read ESA mail logs with session tracking and print a digest: messages by disposition, "
        "abort categories with the sources behind them, a time histogram and Cisco's advice.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="log files (plain or .gz), globs, '-' for stdin")
    p.add_argument("--json", action="store_true", help="print the digest as JSON")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page with charts")
    p.add_argument(
        "--top",
        type=_positive_int,
        default=5,
        metavar="N",
        help="how many source IPs / names / sender groups per category (default 5)",
    )
    add_parse_options(p)
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from esalog.cli import EXIT_OK, build_pipeline
    from esalog.tracking.report import Report, render_html, render_text, to_json

    if args.stateless:
        raise ConfigError("report needs session state: drop --stateless")
    args.summaries = True
    pipeline = build_pipeline(args)
    report = Report(top=args.top)
    for event, _pos in pipeline.run_paths(args.paths):
        report.add(event)
    digest = report.digest()
    if args.html:
        with open(args.html, "w", encoding="utf-8") as out:
            out.write(render_html(digest))
    sys.stdout.write(to_json(digest) if args.json else render_text(digest))
    return EXIT_OK
