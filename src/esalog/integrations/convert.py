"""The batch converter: inputs to NDJSON, in this process or, each file on its own, in N worker processes.

With workers, each input (file) is parsed whole by one worker process with its own pipeline, flushed at
the end of that input: inputs do not share session state, so the output does not depend on N. Each
worker streams its NDJSON back to the parent through a pipe, and the parent moves it to the output in
input order (see :func:`convert_parallel`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, BinaryIO

from esalog.encode import encode_lines
from esalog.errors import ConfigError, EsalogError
from esalog.parsers.record import Record
from esalog.pipeline import Counters, Pipeline, PipelineConfig, build_pipeline, build_stages
from esalog.sources.files import expand_paths
from esalog.sources.reader import Batch, Source, SourceConfig

Write = Callable[[bytes], object]
#: Records per batch when the end-of-input flush hands on what the stages still hold.
FLUSH_BATCH = 512
#: Bytes moved from a worker's pipe at a time.
PIPE_CHUNK = 1 << 20


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


class _Output:
    """A worker's side of its output: a temporary file until its input's turn comes (``turn`` set by the
    parent), then the pipe to the parent. It tells the parent how much went to the file (``"kept"``)."""

    def __init__(self, kept: int, pipe: int, result: Connection, turn: Any) -> None:
        self.kept = kept
        self.pipe = pipe
        self.result = result
        self.turn = turn
        self.kept_bytes = 0
        self.piped = False

    def write(self, data: bytes) -> None:
        if not self.piped and self.turn.is_set():
            self.hand_over()
        write_all(self.pipe if self.piped else self.kept, data)
        if not self.piped:
            self.kept_bytes += len(data)

    def hand_over(self) -> None:
        self.result.send(("kept", self.kept_bytes))
        self.piped = True


def _worker(pipeline: Pipeline, config: PipelineConfig, path: str, output: _Output) -> None:
    """In a worker process (forked, the parent's packs already loaded): *path*'s NDJSON to *output*, then
    ``("done", Converted)`` or ``("error", message)`` to the parent."""
    outcome: tuple[str, Converted | str]
    try:
        fresh = Pipeline(pipeline.parser, build_stages(config.tracking), config.parse)
        fresh.core = pipeline.core
        outcome = ("done", convert(fresh, (path,), output.write))
    except EsalogError as exc:  # re-raised in the parent as a plain error
        outcome = ("error", str(exc))
    if not output.piped:
        output.hand_over()
    os.close(output.pipe)
    output.result.send(outcome)


def convert_parallel(config: PipelineConfig, paths: tuple[str, ...], workers: int, output: BinaryIO) -> Converted:
    """Parse each input on its own over *workers* processes, writing to *output* in input order as results
    stream in.

    One process per input, at most *workers* at once, started in input order. The worker of the input
    being written streams its NDJSON to the parent through a pipe; the ones behind it write theirs to a
    temporary file meanwhile, which the parent sends on when their turn comes (then they switch to their
    pipe). No worker waits for another, and memory stays bounded. *output* must have a file descriptor
    (the command's output file or stdout); the kernel moves the bytes (``sendfile``, ``splice``).
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
    context = get_context("fork")
    running: list[_Running] = []
    queue = list(files)
    queue.reverse()
    try:
        while queue or running:
            while queue and len(running) < workers:
                running.append(_Running(context, pipeline, config, queue.pop()))
            total.add(running[0].write_to(target))
            running.pop(0).close()
    finally:
        for worker in running:
            worker.process.kill()
            worker.close()
    return total


class _Running:
    """One worker process, seen from the parent: its temporary file, its pipe and its messages."""

    def __init__(self, context: Any, pipeline: Pipeline, config: PipelineConfig, path: str) -> None:
        self.path = path
        self.kept = tempfile.TemporaryFile()
        self.turn = context.Event()
        pipe_read, pipe_write = os.pipe()
        self.result, result_write = context.Pipe(duplex=False)
        side = _Output(self.kept.fileno(), pipe_write, result_write, self.turn)
        self.process: BaseProcess = context.Process(target=_worker, args=(pipeline, config, path, side), daemon=True)
        self.process.start()
        os.close(pipe_write)  # the worker holds the only writing ends: its exit ends them
        result_write.close()
        self.pipe = pipe_read

    def write_to(self, target: int) -> Converted:
        """Its input's turn: what it kept, then its pipe, to the file descriptor *target*; its counters
        (EsalogError when the worker died, ConfigError when it failed)."""
        self.turn.set()
        try:
            _, kept = self.result.recv()
            sent = 0
            while sent < kept:
                sent += _send(target, self.kept.fileno(), sent, kept - sent)
            while _move(self.pipe, target):
                pass
            kind, payload = self.result.recv()
        except EOFError:
            self.process.join()
            raise EsalogError(f"the worker reading {self.path} stopped (exit code {self.process.exitcode})") from None
        self.process.join()
        if kind == "error":
            raise ConfigError(str(payload))
        assert isinstance(payload, Converted)
        return payload

    def close(self) -> None:
        os.close(self.pipe)
        self.result.close()
        self.kept.close()


def _send(target: int, source: int, offset: int, count: int) -> int:
    """Bytes of the file *source* from *offset* to *target* (``sendfile``; copied where it cannot)."""
    try:
        return os.sendfile(target, source, offset, min(count, PIPE_CHUNK))
    except OSError:
        chunk = os.pread(source, min(count, PIPE_CHUNK), offset)
        write_all(target, chunk)
        return len(chunk)


def _move(source: int, target: int) -> bool:
    """What the pipe *source* holds now, to *target* (``splice``; copied where it cannot); False at its end."""
    try:
        return os.splice(source, target, PIPE_CHUNK) > 0
    except OSError:  # an output splice cannot write to (a terminal)
        chunk = os.read(source, PIPE_CHUNK)
        write_all(target, chunk)
        return bool(chunk)


def write_all(target: int, data: bytes) -> None:
    """*data* to the file descriptor *target*, unbuffered."""
    written = os.write(target, data)
    if written < len(data):  # a pipe or a signal cut the write short
        view = memoryview(data)[written:]
        while view:
            view = view[os.write(target, view):]
