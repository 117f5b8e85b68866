"""What the parsing commands share: the parsing and tracking options, the pipeline they describe,
progress on a terminal and the closing summary."""

from __future__ import annotations

import argparse
import fnmatch
import gc
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from esalog.cli.options import add_settings, settings_from
from esalog.errors import ConfigError
from esalog.integrations.convert import records
from esalog.parsers.config import ParseConfig
from esalog.parsers.record import Record
from esalog.pipeline import Counters, Pipeline, PipelineConfig, build_pipeline
from esalog.sources.files import expand_paths
from esalog.sources.reader import Source, SourceConfig
from esalog.tracking.config import TrackingConfig


def add_parse_options(parser: argparse.ArgumentParser, *, tracking: bool = True) -> None:
    """The options of every command that parses lines (and, with *tracking*, tracks sessions)."""
    add_settings(parser.add_argument_group("parsing"), ParseConfig)
    if tracking:
        add_settings(parser.add_argument_group("session tracking (on by default)"), TrackingConfig)


#: New container objects between two passes of the youngest generation of the garbage collector
GC_THRESHOLD = 20_000


def pipeline_config(args: argparse.Namespace, **tracking: Any) -> PipelineConfig:
    """The pipeline configuration the parsing options describe (*tracking* overrides some of them)."""
    return PipelineConfig(settings_from(ParseConfig, args), settings_from(TrackingConfig, args, **tracking))


def pipeline_from(args: argparse.Namespace, **tracking: Any) -> Pipeline:
    """The pipeline of a parsing command."""
    return gc_tuned(build_pipeline(pipeline_config(args, **tracking)))


def gc_tuned(pipeline: Pipeline) -> Pipeline:
    """*pipeline*, its packs (which live as long as the command) moved out of the garbage collector's
    sight: collections then walk only what the lines make, not the thousands of pack objects.

    The collector also runs less often: each line makes a few short-lived objects (records, events, batch
    items) and no cycles, and its default (a pass every 700 new objects) took about a tenth of a run.
    """
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    return pipeline


def hint_if_terminal(command: str, paths: Sequence[str], *, quiet: bool) -> None:
    """Reading stdin from a terminal (a first try: ``esalog parse`` and nothing else): say that esalog
    waits for lines, how to end them, and how to give files instead."""
    if "-" in paths and not quiet and sys.stdin.isatty() and sys.stderr.isatty():
        print(f"esalog: reading log lines from the terminal (stdin): type or paste them, end with Ctrl-D; "
              f"or give files: esalog {command} mail.@*.s", file=sys.stderr)


def check_not_an_input(flag: str, path: str | None, inputs: tuple[str, ...]) -> None:
    """ConfigError when the file esalog writes at *path* is one of the inputs (its name, a link to it, or a
    name an input glob matches): the input would be overwritten, or what esalog appends read back as input
    (with ``ship --follow``, for ever)."""
    if path is None or path == "-":
        return
    target = os.path.abspath(path)
    for pattern in inputs:
        if pattern == "-":
            continue
        full = os.path.abspath(pattern)
        named = target.count(os.sep) == full.count(os.sep) and fnmatch.fnmatchcase(target, full)
        if named or (os.path.exists(target) and os.path.exists(full) and os.path.samefile(target, full)):
            raise ConfigError(f"{flag} {path!r} is also an input ({pattern!r}): esalog would write over what it "
                              "reads")


def input_bytes(paths: list[str]) -> int | None:
    """The total size of the inputs on disk, when all are files (for a percentage)."""
    try:
        files = expand_paths(paths)
    except Exception:
        return None
    if "-" in files:
        return None
    return sum(os.path.getsize(path) for path in files)


class Progress:
    """One line of progress on stderr while a long command runs, only when stderr is a terminal.

    It shows the lines read, the rate and, when the inputs' size is known, the percentage of their
    bytes read over all of them; redrawn at most twice a second, drawn a last time and wiped at the
    end (the closing summary takes its place). Nothing at all when stderr is not a terminal.
    """

    def __init__(self, counters: Counters, enabled: bool, total_bytes: int | None = None) -> None:
        self.counters = counters
        self.enabled = enabled
        self.total = total_bytes
        self.start = time.monotonic()
        self._next = self.start + 0.5
        self._done_bytes: int | None = None
        self._extra = ""

    def tick(self, done_bytes: int | None = None, extra: str = "") -> None:
        """Redraw at most twice a second; *done_bytes* of the inputs read so far gives the percentage."""
        if not self.enabled:
            return
        self._done_bytes, self._extra = done_bytes, extra
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + 0.5
        self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.counters.lines / max(now - self.start, 1e-9)
        text = f"\r{self.counters.lines:,} lines  {rate:,.0f} lines/s"
        if self.total and self._done_bytes is not None:
            text += f"  {min(100.0, 100.0 * self._done_bytes / self.total):.0f}%"
        extra = self._extra
        sys.stderr.write(text + (f"  {extra}" if extra else "") + "\x1b[K")
        sys.stderr.flush()

    def done(self, extra: str | None = None) -> None:
        """The last state, then the line wiped."""
        if self.enabled:
            if extra is not None:
                self._extra = extra
            self._draw(time.monotonic())
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def read_all(pipeline: Pipeline, paths: list[str], consume: Callable[[Record], None], *, quiet: bool) -> list[str]:
    """Feed every record of *paths* (then the stages' flush) to *consume*, with progress on a terminal;
    returns what could not be read (each also reported on stderr)."""
    source = Source(pipeline, SourceConfig(paths=tuple(paths)))
    progress = Progress(pipeline.counters, sys.stderr.isatty() and not quiet, input_bytes(paths))
    try:
        for batch, done in records(pipeline, source):
            for record in batch:
                consume(record)
            progress.tick(done)
    finally:
        progress.done()
    for why in source.damaged:
        print(f"esalog: error: {why}", file=sys.stderr)
    return source.damaged


def summary_line(counters: Counters, seconds: float) -> str:
    """The closing summary printed on stderr."""
    rate = counters.lines / seconds if seconds > 0 else 0.0
    return (f"esalog: {counters.lines} lines, {counters.events} events "
            f"({counters.extra} summaries), {counters.unmatched} unmatched, {counters.errors} errors, "
            f"{rate:,.0f} lines/s")
