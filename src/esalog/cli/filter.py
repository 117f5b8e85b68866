"""``esalog filter``: the streaming filter for rsyslog, syslog-ng, Logstash and Fluent Bit."""

from __future__ import annotations

import argparse
from typing import Any

from esalog.cli.common import add_parse_options, pipeline_from
from esalog.cli.options import add_settings, settings_from
from esalog.errors import EXIT_OK
from esalog.integrations.filter import FilterConfig, run_filter
from esalog.settings import check_writable


def register(sub: Any) -> None:
    f = sub.add_parser("filter", help="stdin to stdout, one JSON line per input line, answered as soon as it is read",
                       description="Streaming filter for rsyslog (omprog, mmexternal), Logstash, Fluent Bit: "
                                   "reads raw lines or JSON objects carrying the line in --field; "
                                   "never exits on bad input. SIGINT/SIGTERM: the lines read are answered, "
                                   "then it exits 130/143 saying how many lines were done.")
    add_settings(f, FilterConfig)
    f.add_argument("-o", dest="output", metavar="FILE", help="same as --output")
    add_parse_options(f)
    f.set_defaults(func=cmd_filter)


def cmd_filter(args: argparse.Namespace) -> int:
    config = settings_from(FilterConfig, args)
    check_writable("--output", config.output)
    pipeline = pipeline_from(args)
    try:
        return run_filter(config, pipeline)
    except BrokenPipeError:
        return EXIT_OK
