"""``esalog parse``: the batch converter on the command line."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, BinaryIO

from esalog.cli.common import Progress, add_parse_options, input_bytes, pipeline_config, settled, summary_line
from esalog.cli.options import int_at_least
from esalog.errors import EXIT_FAILURE, EXIT_OK, EXIT_STRICT, ConfigError
from esalog.integrations.convert import convert, convert_parallel
from esalog.pipeline import build_pipeline
from esalog.settings import check_writable


def register(sub: Any) -> None:
    p = sub.add_parser("parse", help="convert log files (plain or .gz) or stdin to NDJSON",
                       description="Convert ESA logs to NDJSON: one event per input line, in order.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or globs, '-' for stdin (default)")
    p.add_argument("-o", "--output", metavar="FILE", help="write NDJSON here instead of stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress and no closing summary")
    p.add_argument("--strict", action="store_true",
                   help="exit 3 when any line was unmatched or not an ESA line")
    p.add_argument("--workers", type=int_at_least(1), metavar="N",
                   help="parse the input files in N processes, each file on its own (no session state "
                        "shared between files); output stays in input order")
    add_parse_options(p)
    p.set_defaults(func=cmd_parse)


def cmd_parse(args: argparse.Namespace) -> int:
    config = pipeline_config(args)
    paths = tuple(args.paths or ["-"])
    check_writable("-o", args.output)
    if args.output and "-" not in paths and args.output in paths:
        raise ConfigError(f"-o {args.output!r} is also an input")
    start = time.monotonic()
    out: BinaryIO = open(args.output, "wb") if args.output else sys.stdout.buffer
    progress = None
    try:
        if args.workers is not None:
            result = convert_parallel(config, paths, args.workers, out)
        else:
            pipeline = settled(build_pipeline(config))
            progress = Progress(pipeline.counters, sys.stderr.isatty() and not args.quiet, input_bytes(list(paths)))
            result = convert(pipeline, paths, out.write, progress.tick)
        out.flush()
    finally:
        if progress is not None:
            progress.done()
        if args.output:
            out.close()
    counters = result.counters
    if not args.quiet:
        print(summary_line(counters, time.monotonic() - start), file=sys.stderr)
    for why in result.damaged:
        print(f"esalog: error: {why}", file=sys.stderr)
    if result.damaged:
        return EXIT_FAILURE
    if args.strict and (counters.unmatched or counters.errors):
        return EXIT_STRICT
    return EXIT_OK
