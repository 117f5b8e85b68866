"""The batch converter: inputs to NDJSON, in this process or, each file on its own, in N worker processes.

With workers, each input (file) is parsed whole by one worker process with its own pipeline, flushed at
the end of that input: inputs do not share session state, so the output does not depend on N. Each
worker writes its NDJSON to the output itself once the inputs before it are written, keeping it in a
temporary file until then (see :func:`convert_parallel`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from esalog.encode import encode_lines
from esalog.errors import ConfigError, EsalogError
from esalog.parsers.record import Record
from esalog.pipeline import Counters, Pipeline, PipelineConfig, build_pipeline, build_stages
from esalog.sources.files import expand_paths
from esalog.sources.reader import Batch, Source, SourceConfig

if TYPE_CHECKING:  # multiprocessing is imported by --workers only (start-up)
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

Write = Callable[[bytes], object]
#: Records per batch when the end-of-input flush hands on what the stages still hold.
FLUSH_BATCH = 512
#: Bytes a waiting worker gathers (copied into one buffer it keeps) before writing them to its temporary
#: file in one go: a few large writes cost the file system about half as much per byte as many small ones.
KEEP_CHUNK = 1 << 20
#: Bytes sent from a temporary file at a time.
SEND_CHUNK = 1 << 20


@dataclass
class Converted:
    """What a conversion read: the pipeline's counters and what could not be read."""

    counters: Counters = field(default_factory=Counters)
    damaged: list[str] = field(default_factory=list)

    def add(self, other: Converted) -> None:
        self.counters.add(other.counters)
        self.damaged += other.damaged


class ReadBytes:
    """How many bytes of the inputs on disk were read so far, over all the inputs (for a percentage).

    Inputs read to their end count whole; the current one counts up to its offset (a compressed one,
    whose offsets are uncompressed bytes, counts its size on disk once read to its end).
    """

    def __init__(self) -> None:
        self.finished = 0
        self._current: tuple[str, object] | None = None
        self._offset = 0

    def after(self, batch: Batch) -> int:
        """The bytes read once *batch* is read."""
        source = batch.input
        key = (source.path, source.file_id)
        if key != self._current:
            self.finished += self._offset
            self._current, self._offset = key, 0
        if not source.compressed:
            self._offset = batch.next_offset
        elif batch.done_size is not None:
            self._offset = batch.done_size
        return self.finished + self._offset

    @property
    def total(self) -> int:
        return self.finished + self._offset


def batches(pipeline: Pipeline, source: Source) -> Iterator[tuple[Batch | list[Record], int]]:
    """Every batch of *source*, inputs in order, then what the stages flush at the end (as lists of records).

    Each batch comes with the bytes of the input files read so far (for progress, see :class:`ReadBytes`).
    """
    read = ReadBytes()
    for batch in source.batches():
        yield batch, read.after(batch)
    chunk: list[Record] = []
    for record in pipeline.flush():  # summaries of what is still open: possibly many, streamed
        chunk.append(record)
        if len(chunk) >= FLUSH_BATCH:
            yield chunk, read.total
            chunk = []
    if chunk:
        yield chunk, read.total


def records(pipeline: Pipeline, source: Source) -> Iterator[tuple[list[Record], int]]:
    """Like :func:`batches`, each batch as its records."""
    for batch, done in batches(pipeline, source):
        yield (batch if isinstance(batch, list) else batch.records), done


def convert(pipeline: Pipeline, paths: tuple[str, ...], write: Write,
            on_batch: Callable[[int], None] | None = None) -> Converted:
    """Parse *paths* through *pipeline* and write NDJSON with *write*; *on_batch* gets the bytes read."""
    source = Source(pipeline, SourceConfig(paths=paths), encoded=True)
    for batch, done in batches(pipeline, source):
        if isinstance(batch, list):
            write(encode_lines(batch))
        else:
            write(batch.ndjson if batch.ndjson is not None else encode_lines(batch.records))
        if on_batch is not None:
            on_batch(done)
    return Converted(pipeline.counters, source.damaged)


class _OutputFailed(Exception):
    """Writing the output failed in a worker: the parent raises it again as the OSError it was."""


class _Output:
    """A worker's side of its output: a temporary file until its input's turn comes (the parent says so on
    *channel* once the inputs before it are written), then the output itself (the parent's file
    descriptor, inherited): what the file kept first, then the rest as it comes."""

    def __init__(self, kept: int, target: int, channel: Connection) -> None:
        self.kept = kept
        self.target = target
        self.channel = channel
        self.parent = os.getpid()  # made in the parent, before the fork
        self.kept_bytes = 0
        self.buffer = bytearray(KEEP_CHUNK)  # what goes to the file next, in one write
        self.filled = 0
        self.direct = False

    def write(self, data: bytes) -> None:
        if not self.direct and self.channel.poll():
            self.hand_over()
        if self.direct:
            self._out(data)
            return
        size = len(data)
        if self.filled + size > KEEP_CHUNK:
            self._keep()
        if size >= KEEP_CHUNK:
            write_all(self.kept, data)
            self.kept_bytes += size
        else:
            self.buffer[self.filled:self.filled + size] = data
            self.filled += size

    def _keep(self) -> None:
        """What the buffer holds, to the temporary file (none of it when the parent is gone)."""
        self._exit_if_orphaned()
        write_all(self.kept, memoryview(self.buffer)[:self.filled])
        self.kept_bytes += self.filled
        self.filled = 0

    def hand_over(self) -> None:
        """Its turn: what it kept and what its buffer holds, to the output; what follows goes there straight."""
        try:
            while not self.channel.poll(0.5):  # every worker holds copies of the parent's ends: no EOF
                self._exit_if_orphaned()       # comes when the parent is killed (SIGTERM, kill -9)
            self.channel.recv()  # the turn
        except EOFError:  # the parent is gone: nobody reads the rest
            raise SystemExit(1) from None
        self.direct = True
        sent = 0
        while sent < self.kept_bytes:
            try:
                sent += _send(self.target, self.kept, sent, self.kept_bytes - sent)
            except OSError as exc:
                raise _OutputFailed(exc.errno, exc.strerror) from None
        if self.filled:
            self._out(memoryview(self.buffer)[:self.filled])
        self.buffer = bytearray()

    def _exit_if_orphaned(self) -> None:
        if os.getppid() != self.parent:  # the parent died: nobody gives the turn or reads the rest
            raise SystemExit(1)

    def finish(self) -> None:
        """Its input is read: wait for its turn, if it has not come, and hand over."""
        if not self.direct:
            self.hand_over()

    def _out(self, data: bytes | memoryview) -> None:
        try:
            write_all(self.target, data)
        except OSError as exc:
            raise _OutputFailed(exc.errno, exc.strerror) from None


def _worker(pipeline: Pipeline, config: PipelineConfig, path: str, output: _Output) -> None:
    """In a worker process (forked, the parent's packs already loaded): *path*'s NDJSON to *output*, then
    ``("done", Converted)``, ``("error", message)`` or ``("unwritable", (errno, strerror))`` to the parent
    on its channel (it exits at its turn if the parent is gone)."""
    outcome: tuple[str, object]
    try:
        try:
            fresh = Pipeline(pipeline.parser, build_stages(config.tracking), config.parse)
            fresh.core = pipeline.core
            outcome = ("done", convert(fresh, (path,), output.write))
        except EsalogError as exc:  # re-raised in the parent as a plain error
            outcome = ("error", str(exc))
        output.finish()
    except _OutputFailed as exc:
        outcome = ("unwritable", exc.args)
    output.channel.send(outcome)


def convert_parallel(config: PipelineConfig, paths: tuple[str, ...], workers: int, output: BinaryIO) -> Converted:
    """Parse each input on its own over *workers* processes, writing to *output* in input order as results
    stream in.

    One process per input, at most *workers* at once, started in input order. The worker of the input
    being written writes its NDJSON straight to *output* (its file descriptor, shared with the parent);
    the ones behind it write theirs to a temporary file meanwhile, which they send on when their turn
    comes (``sendfile``) before writing straight too. No worker waits for another, and memory stays
    bounded. *output* must have a file descriptor (the command's output file or stdout).
    """
    files = expand_paths(paths)
    if "-" in files:
        raise ConfigError("--workers reads files: give file names or globs, not stdin ('-')")
    pipeline = build_pipeline(config)  # packs loaded once: the workers are forked from here
    total = Converted()
    if workers <= 1 or len(files) == 1:
        for path in files:
            fresh = Pipeline(pipeline.parser, build_stages(config.tracking), config.parse)
            fresh.core = pipeline.core
            total.add(convert(fresh, (path,), output.write))
        return total
    output.flush()
    target = output.fileno()
    from multiprocessing import get_context

    context = get_context("fork")
    running: list[_Running] = []
    queue = list(files)
    queue.reverse()
    try:
        while queue or running:
            while queue and len(running) < workers:
                running.append(_Running(context, pipeline, config, queue.pop(), target))
            total.add(running[0].write_to())
            running.pop(0).close()
    finally:
        for worker in running:
            worker.process.kill()
            worker.close()
    return total


class _Running:
    """One worker process, seen from the parent: its temporary file and its channel (its turn, its outcome)."""

    def __init__(self, context: Any, pipeline: Pipeline, config: PipelineConfig, path: str, target: int) -> None:
        import tempfile

        self.path = path
        self.kept = tempfile.TemporaryFile()
        self.channel, worker_end = context.Pipe()
        side = _Output(self.kept.fileno(), target, worker_end)
        self.process: BaseProcess = context.Process(target=_worker, args=(pipeline, config, path, side), daemon=True)
        self.process.start()
        worker_end.close()  # the worker holds the only other end: its exit ends the channel

    def write_to(self) -> Converted:
        """Its input's turn: the worker writes what it kept, then the rest, to the output; its counters
        (EsalogError when the worker died, ConfigError when it failed, OSError when the output did)."""
        try:
            self.channel.send("turn")
            kind, payload = self.channel.recv()
        except (EOFError, OSError):  # the channel's other end closed: the worker is gone
            self.process.join()
            raise EsalogError(f"the worker reading {self.path} stopped (exit code {self.process.exitcode})") from None
        self.process.join()
        if kind == "unwritable":
            raise OSError(*payload)
        if kind == "error":
            raise ConfigError(str(payload))
        assert isinstance(payload, Converted)
        return payload

    def close(self) -> None:
        self.channel.close()
        self.kept.close()


def _send(target: int, source: int, offset: int, count: int) -> int:
    """Bytes of the file *source* from *offset* to *target* (``sendfile``; copied where it cannot)."""
    try:
        return os.sendfile(target, source, offset, min(count, SEND_CHUNK))
    except OSError:
        chunk = os.pread(source, min(count, SEND_CHUNK), offset)
        write_all(target, chunk)
        return len(chunk)


def write_all(target: int, data: bytes | memoryview) -> None:
    """*data* to the file descriptor *target*, unbuffered."""
    written = os.write(target, data)
    if written < len(data):  # a pipe or a signal cut the write short
        view = memoryview(data)[written:]
        while view:
            view = view[os.write(target, view):]
