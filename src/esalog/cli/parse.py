"""``esalog parse``: the batch converter on the command line."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from esalog.cli.common import (
    Progress,
    add_parse_options,
    check_not_an_input,
    gc_tuned,
    hint_if_terminal,
    input_bytes,
    pipeline_config,
    summary_line,
)
from esalog.cli.options import add_settings, settings_from
from esalog.errors import EXIT_FAILURE, EXIT_OK, EXIT_STRICT, SinkError
from esalog.integrations.convert import Converted, convert, convert_parallel
from esalog.pipeline import build_pipeline
from esalog.settings import check_writable, integer, positive, setting, validate
from esalog.sources.signals import StopSignals
from esalog.writing import write_whole


@dataclass(frozen=True)
class ParseCommandConfig:
    """The options of ``esalog parse`` itself (the parsing and tracking ones are the pipeline's)."""

    workers: int | None = setting(
        None, flag="--workers", metavar="N", parse=integer, check=positive,
        help="parse the input files in N processes, each file on its own (no session state shared between "
             "files; with --stateless, plain files in parts too); output stays in input order")

    def __post_init__(self) -> None:
        validate(self)


def register(sub: Any) -> None:
    p = sub.add_parser("parse", help="convert log files (plain or .gz) or stdin to NDJSON",
                       description="Convert ESA logs to NDJSON: one event per input line, in order. "
                                   "SIGINT/SIGTERM: the events of the lines read are written whole, then it "
                                   "exits 130/143 saying how many lines were done.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or globs, '-' for stdin (default)")
    p.add_argument("-o", "--output", metavar="FILE", help="write NDJSON here instead of stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress and no closing summary")
    p.add_argument("--strict", action="store_true",
                   help="exit 3 when any line was unmatched or not an ESA line")
    add_settings(p, ParseCommandConfig)
    add_parse_options(p)
    p.set_defaults(func=cmd_parse)


def cmd_parse(args: argparse.Namespace) -> int:
    command = settings_from(ParseCommandConfig, args)
    config = pipeline_config(args)
    paths = tuple(args.paths or ["-"])
    check_writable("-o", args.output)
    check_not_an_input("-o", args.output, paths)
    hint_if_terminal("parse", paths, quiet=args.quiet)
    start = time.monotonic()
    out: BinaryIO = open(args.output, "wb") if args.output else sys.stdout.buffer
    where = f"-o {args.output!r}" if args.output else "stdout"
    progress = None
    stop = StopSignals()
    try:
        workers = command.workers
        if workers is not None:  # the workers' output reaches the file descriptor straight
            with stop:
                result = cast(Converted, _finish(lambda: convert_parallel(config, paths, workers, out, stop=stop),
                                                 where))
        else:
            pipeline = gc_tuned(build_pipeline(config))
            progress = Progress(pipeline.counters, sys.stderr.isatty() and not args.quiet, input_bytes(list(paths)))
            with stop:
                result = convert(pipeline, paths, _writer(out, where), progress.tick, stop=stop)
        _finish(out.flush, where)
    finally:
        if progress is not None:
            progress.done()
        if args.output:
            _finish(out.close, where)
    counters = result.counters
    if not args.quiet:
        print(summary_line(counters, time.monotonic() - start), file=sys.stderr)
    for why in result.damaged:
        print(f"esalog: error: {why}", file=sys.stderr)
    if stop.signum is not None:
        print(stop.said(counters.lines), file=sys.stderr)
        return stop.exit_code
    if result.damaged:
        return EXIT_FAILURE
    if args.strict and (counters.unmatched or counters.errors):
        return EXIT_STRICT
    return EXIT_OK


def _writer(out: BinaryIO, where: str) -> Callable[[bytes], object]:
    """``out.write`` of the whole of its data that turns a write error (disk full...) into one line naming the
    output (exit 1)."""

    def write(data: bytes) -> object:
        return _finish(lambda: write_whole(out, data), where)

    return write


def _finish(step: Callable[[], object], where: str) -> object:
    try:
        return step()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise SinkError(f"cannot write {where}: {exc.strerror or exc}") from None
