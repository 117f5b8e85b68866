"""``esalog ship`` (read, parse, deliver at least once) and ``esalog es-template``.

Exit codes: 0 every event delivered; 1 some event not delivered (dead-lettered or given up on), a
sink stopped (bad token...), an input was damaged, or the run was interrupted before the input ended;
2 usage error.
"""

from __future__ import annotations

import argparse
import itertools
import operator
import os
import signal
import stat
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from esalog.cli import RawDescriptionHelpFormatter
from esalog.cli.common import (
    Progress,
    add_parse_options,
    check_not_an_input,
    hint_if_terminal,
    input_bytes,
    pipeline_from,
)
from esalog.cli.options import add_settings, settings_from
from esalog.cli.sinks import (
    ENVIRONMENT_HELP,
    add_sink_options,
    check_delivery_paths,
    delivery_config,
    report_delivery,
    sink_choice,
)
from esalog.connectors.base import Driver, RetryReporter
from esalog.connectors.config import build_driver, build_sink
from esalog.connectors.es import DEFAULT_INDEX, FLAVOURS, index_template
from esalog.errors import EXIT_FAILURE, EXIT_OK, ConfigError, warn
from esalog.integrations.convert import ReadBytes
from esalog.parsers.record import Record
from esalog.settings import check_writable
from esalog.sources.checkpoint import Checkpoint, CheckpointWriter, Ledger
from esalog.sources.files import has_glob
from esalog.sources.reader import Batch, Source, SourceConfig, stdin_origin
from esalog.tracking.persist import dump_state, load_state
from esalog.tracking.tracker import Tracker

#: End-of-input summaries are submitted in chunks of this many (bounded memory).
FLUSH_CHUNK = 1000

_EPILOG = ENVIRONMENT_HELP + """
delivery: at least once. The checkpoint moves only past lines whose events the sink confirmed;
after a crash the unconfirmed window is sent again (duplicates possible in Splunk, none in
Elasticsearch thanks to deterministic _id). Exit 0 only when every event was delivered.
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "ship",
        help="parse logs and deliver the events to stdout, a file, Splunk HEC or Elasticsearch",
        description="Read ESA logs (files, globs, stdin; --follow tails them through rotation), parse them "
        "and deliver every event at least once. SIGHUP reopens --out and --dead-letter (logrotate).",
        epilog=_EPILOG,
        formatter_class=RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or globs, '-' for stdin (default)")
    add_settings(p.add_argument_group("reading"), SourceConfig)
    add_sink_options(p)
    add_parse_options(p)
    p.set_defaults(func=cmd_ship)

    t = sub.add_parser("es-template", help="print the Elasticsearch/OpenSearch index template",
                       description="Index template with a mapping for every declared event field.")
    target = t.add_mutually_exclusive_group()
    target.add_argument("--es-index", metavar="NAME", help="index (pattern NAME and NAME-*; default esalog)")
    target.add_argument("--es-data-stream", metavar="NAME", help="data stream name (template enables data_stream)")
    t.add_argument("--es-flavour", choices=FLAVOURS, default="elasticsearch",
                   help="opensearch maps object fields as flat_object instead of flattened")
    t.set_defaults(func=cmd_es_template)


def cmd_es_template(args: argparse.Namespace) -> int:
    target = args.es_data_stream or args.es_index or DEFAULT_INDEX
    template = index_template(target, data_stream=bool(args.es_data_stream), flavour=args.es_flavour)
    sys.stdout.write(orjson.dumps(template, option=orjson.OPT_INDENT_2).decode() + "\n")
    return EXIT_OK


class Interrupted(Exception):
    """A signal arrived while the reader was waiting for input."""


def cmd_ship(args: argparse.Namespace) -> int:
    source_config = settings_from(SourceConfig, args, paths=tuple(args.paths or ["-"]))
    delivery = delivery_config(args)
    choice = sink_choice(args)
    check_delivery_paths(choice.to, delivery, "shipping")
    for flag, path in (("--out", choice.file.out if choice.to == "file" else None),
                       ("--dead-letter", delivery.dead_letter), ("--checkpoint", source_config.checkpoint)):
        check_not_an_input(flag, path, source_config.paths)
    if source_config.checkpoint is not None:
        _check_checkpoint(source_config.checkpoint)
        if "-" in source_config.paths and not args.quiet:
            warn("--checkpoint: stdin has no resume point (a rerun sends its lines again); only files are "
                 "checkpointed")
    if source_config.follow:
        _check_followed(source_config.paths, quiet=args.quiet)
    checkpoint = Checkpoint(source_config.checkpoint) if source_config.checkpoint else None
    if checkpoint is not None:
        checkpoint.claim().load().forget_missing()
    pipeline = pipeline_from(args)
    tracker = next((stage for stage in pipeline.stages if isinstance(stage, Tracker)), None)
    if checkpoint is not None and tracker is not None and (saved := checkpoint.track_state()) is not None:
        load_state(tracker, saved)
    sink = build_sink(choice, delivery, keep_original=pipeline.parser.keep_original,
                      sourcetypes=pipeline.parser.sourcetypes())
    ledger = Ledger()
    writer = (CheckpointWriter(checkpoint, ledger, source_config.checkpoint_interval, time.monotonic, warn)
              if checkpoint else None)
    driver = build_driver(sink, delivery, ledger, on_progress=writer)
    source = Source(pipeline, source_config, checkpoint=checkpoint, idle=driver.tick,
                    seen=writer.save_now if writer is not None else None, encoded_records=True)
    signals = {"count": 0}

    def on_signal(signum: int, _frame: Any) -> None:
        signals["count"] += 1
        source.stop = True
        if signals["count"] == 1:
            # stop promptly: what is queued is sent once, nothing is retried (a rerun with the same
            # checkpoint sends it again); the checkpoint moves only past what was confirmed
            driver.give_up_retries()
            print(f"esalog: {signal.Signals(signum).name}: stopping: reading ends, what is queued is sent once "
                  "without retries" + ("; the checkpoint keeps what is not confirmed for the next run"
                                       if checkpoint else "") + " (again to exit at once)",
                  file=sys.stderr, flush=True)
        else:
            _exit_now(driver, writer)
        if source.waiting:
            raise Interrupted(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, lambda _signum, _frame: driver.reopen_files())
    hint_if_terminal(f"ship --to {choice.to}", source_config.paths, quiet=args.quiet)
    start = time.monotonic()
    interrupted = False
    last_origin = "start"
    progress = Progress(pipeline.counters, sys.stderr.isatty() and not args.quiet,
                        None if source_config.follow else input_bytes(list(source_config.paths)))
    snapshots = _Snapshots(checkpoint, tracker, source, source_config.state_interval)
    reporter = RetryReporter(driver, delivery.report_interval)
    read = ReadBytes()  # over every input, not the offset in the current one
    try:
        sink.open()
        driver.start()
        reporter.start()
        try:
            for batch in source.batches():
                last_origin = _submit(batch, ledger, driver)
                progress.tick(read.after(batch), f"{driver.stats.acknowledged:,} delivered")
                snapshots.tick()
                if driver.fatal or source.stop:
                    break
        except Interrupted:
            pass
        interrupted = source.stop
        pending: Iterator[Record] = iter(())
        if snapshots.enabled:
            # with a checkpoint the open messages go on at the next run (rotated files continue each
            # other): their state is saved, they are summarised when they finish, not now as incomplete
            snapshots.take()
        else:  # end-of-input summaries stream out in chunks: there may be as many as --max-open
            pending = pipeline.flush()
        while not driver.fatal:
            chunk = list(itertools.islice(pending, FLUSH_CHUNK))
            if not chunk:
                break
            ticket = ledger.open_line(None, "", "", 0, len(chunk))
            for index, record in enumerate(chunk):
                driver.submit(record, f"flush after {last_origin}", index, ticket)
        driver.close()
    finally:
        reporter.stop()
        progress.done(f"{driver.stats.acknowledged:,} delivered")
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if writer is not None:
            writer.save(force=True)
    seconds = time.monotonic() - start
    report_delivery(driver, seconds=seconds, quiet=args.quiet, stats=args.stats, dead_letter=delivery.dead_letter,
                    interrupted=interrupted)
    for why in source.damaged:
        print(f"esalog: error: {why}", file=sys.stderr)
    write_errors = [e for e in (writer.error if writer else None, driver.dead_letter.error) if e]
    for error in write_errors:
        print(f"esalog: error: {error}", file=sys.stderr)
    if driver.stats.undelivered or driver.fatal or source.damaged or write_errors:
        return EXIT_FAILURE
    if interrupted and not source_config.follow:
        warn("interrupted before the end of the input"
             + ("; run again with the same --checkpoint to resume" if checkpoint else ""))
        return EXIT_FAILURE
    return EXIT_OK


def _exit_now(driver: Driver, writer: CheckpointWriter | None) -> None:
    """A second signal: record what was confirmed, say what is left, exit without waiting for anyone."""
    driver.abort()
    saved = writer.save(force=True) if writer is not None else False
    stats = driver.stats
    print(f"esalog: stopped at once: {stats.received:,} received, {stats.acknowledged:,} delivered, "
          f"{stats.dead_lettered:,} dead-lettered, {stats.failed:,} failed, {stats.pending:,} pending (not confirmed)"
          + ("; the checkpoint resumes before every event not confirmed" if saved else ""),
          file=sys.stderr, flush=True)
    os._exit(EXIT_FAILURE)


class _Snapshots:
    """The session tracker's state offered to the checkpoint every *interval* seconds (see Checkpoint)."""

    def __init__(self, checkpoint: Checkpoint | None, tracker: Tracker | None, source: Source,
                 interval: float) -> None:
        self.checkpoint, self.tracker, self.source = checkpoint, tracker, source
        self.enabled = checkpoint is not None and tracker is not None
        self.interval = interval
        self._next = time.monotonic() + interval

    def tick(self) -> None:
        if self.enabled and time.monotonic() >= self._next:
            assert self.checkpoint is not None
            if self.checkpoint.wants_state:
                self.take()
            self._next = time.monotonic() + self.interval

    def take(self) -> None:
        assert self.checkpoint is not None and self.tracker is not None
        offsets = {file_id: entry.offset for file_id, entry in self.checkpoint.entries.items()}
        offsets.update(self.source.positions)
        self.checkpoint.offer_state(dump_state(self.tracker), offsets)


def _check_checkpoint(path: str) -> None:
    """ConfigError unless *path* can hold a checkpoint: a regular file (it is replaced by rename) that can
    be written, or a name a new file can take."""
    if os.path.exists(path) and not os.path.isdir(path) and not os.path.isfile(path):
        raise ConfigError(f"--checkpoint {path!r}: not a regular file (the checkpoint is replaced by a rename)")
    check_writable("--checkpoint", path)


def _check_followed(paths: tuple[str, ...], *, quiet: bool) -> None:
    """--follow waits for files that are not there yet (a rotation in progress), but not for a directory
    or a directory that does not exist: those are mistakes, said at once."""
    for path in paths:
        if has_glob(path):
            continue
        if os.path.isdir(path):
            raise ConfigError(f"{path!r} is a directory; give files or a glob such as "
                              f"{os.path.join(path, 'mail.current')}")
        if os.path.exists(path) and not os.path.isfile(path):
            kind = "a named pipe (FIFO)" if stat.S_ISFIFO(os.stat(path).st_mode) else "not a regular file"
            raise ConfigError(f"--follow {path!r}: {kind}: it has no offsets to follow; read it without --follow "
                              "(esalog reads a pipe until its writer closes it)")
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise ConfigError(f"--follow {path!r}: no such directory {directory!r}")
        if not os.path.exists(path) and not quiet:
            warn(f"{path!r} does not exist yet: waiting for it")


def _submit(batch: Batch, ledger: Ledger, driver: Driver) -> str:
    """Hand the events of the lines of *batch* to the driver with a checkpoint ticket per line; the last
    line's origin ("" when none was handed over).

    Lines delivered before a restart (``replayed``) were read again for the tracker's state only: their
    events (and the summaries they finish) are not sent again.
    """
    source = batch.input
    next_offsets = batch.next_offsets()
    first = batch.replayed(next_offsets)
    records, ends = batch.records, batch.ends
    if first == len(ends):
        return ""
    if first:
        start = ends[first - 1]
        records, ends, next_offsets = records[start:], [end - start for end in ends[first:]], next_offsets[first:]
    offsets, texts, number, key = batch.offsets, batch.texts, batch.first_number, source.key
    origin: Callable[[int], str]
    if source.is_stdin:
        def origin(line: int) -> str:
            return stdin_origin(number + first + line, texts[first + line])
    else:
        def origin(line: int) -> str:
            return f"{key}:{offsets[first + line]}"

    emitted = list(map(operator.sub, ends, [0, *ends]))
    tickets = ledger.open_lines(source.file_id, source.key, source.path, next_offsets, emitted, batch.done_size)
    if driver.dead_letter.path and batch.raws:  # the dead letter keeps each event's line (its replay source)
        for ticket, raw in zip(tickets, batch.raws[first:], strict=True):
            ticket.line = raw
    driver.submit_lines(records, ends, origin, tickets)
    return origin(len(ends) - 1)
