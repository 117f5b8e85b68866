"""``esalog report``: a digest of dispositions and abort causes (terminal, JSON, one HTML page)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from esalog.cli.common import add_parse_options, check_not_an_input, pipeline_from, read_all
from esalog.cli.options import add_settings, settings_from
from esalog.errors import EXIT_FAILURE, EXIT_OK, ConfigError, SinkError
from esalog.settings import check_writable, integer, positive, setting, validate
from esalog.tracking.report import Report, render_html, render_text, to_json


@dataclass(frozen=True)
class ReportCommandConfig:
    """The options of ``esalog report`` itself."""

    top: int = setting(5, flag="--top", metavar="N", parse=integer, check=positive,
                       help="how many source IPs / names / sender groups per category (default 5)")

    def __post_init__(self) -> None:
        validate(self)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="digest of dispositions and abort causes (terminal, --json, --html)",
        description="Read ESA mail logs with session tracking and print a digest: messages by disposition, "
        "abort categories with the sources behind them, a time histogram and Cisco's advice.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="log files (plain or .gz), globs, '-' for stdin")
    p.add_argument("--json", action="store_true", help="print the digest as JSON")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page with charts")
    add_settings(p, ReportCommandConfig)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on the terminal")
    add_parse_options(p)
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    command = settings_from(ReportCommandConfig, args)
    if args.stateless:
        raise ConfigError("report needs session state: drop --stateless")
    check_writable("--html", args.html)
    check_not_an_input("--html", args.html, tuple(args.paths))
    pipeline = pipeline_from(args, summaries=True)
    report = Report(top=command.top)
    damaged = read_all(pipeline, args.paths, report.add_record, quiet=args.quiet)
    digest = report.digest()
    if args.html:
        try:
            with open(args.html, "w", encoding="utf-8") as out:
                out.write(render_html(digest))
        except OSError as exc:  # a full disk: the page is not there
            raise SinkError(f"cannot write --html {args.html!r}: {exc.strerror or exc}") from None
    sys.stdout.write(to_json(digest) if args.json else render_text(digest))
    return EXIT_FAILURE if damaged else EXIT_OK
