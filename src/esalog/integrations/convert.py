"""The batch converter: inputs to NDJSON, in this process or over N worker processes.

With workers, the work is dealt round-robin in input order: each input whole, parsed by one worker with its
own pipeline and flushed at its end (inputs do not share session state, so the output does not depend on
N), or with ``--stateless`` parts of plain files. Each worker writes its NDJSON to the output itself once
the work before it is written, keeping it until then (see :func:`convert_parallel`).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from esalog.errors import ConfigError, EsalogError
from esalog.parsers.parser import Settled, Stream
from esalog.parsers.record import Record
from esalog.pipeline import Counters, Pipeline, PipelineConfig, build_pipeline, build_stages
from esalog.sources.files import expand_paths, plain_size
from esalog.sources.native import encode_records
from esalog.sources.reader import Batch, Part, Source, SourceConfig
from esalog.sources.signals import Stopped, StopSignals
from esalog.writing import write_all, write_whole

if TYPE_CHECKING:  # multiprocessing is imported by --workers only (start-up)
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

Write = Callable[[bytes], object]
#: Records per batch when the end-of-input flush hands on what the stages still hold.
FLUSH_BATCH = 512
#: Bytes a waiting worker gathers (copied into one buffer it keeps) before writing them to its temporary
#: file in one go: a few large writes cost the file system about half as much per byte as many small ones.
KEEP_CHUNK = 1 << 20
#: Bytes of a plain file in one unit of work of ``--workers --stateless`` (a waiting worker keeps the NDJSON of
#: one in memory: about three times as much).
PART_BYTES = 2 << 20
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
        """The bytes read so far, without another batch."""
        return self.finished + self._offset


def batches(pipeline: Pipeline, source: Source) -> Iterator[tuple[Batch | list[Record], int]]:
    """Every batch of *source*, inputs in order, then what the stages flush at the end (as lists of records).

    Each batch comes with the bytes of the input files read so far (for progress, see :class:`ReadBytes`).
    Stopped (``source.stop``: a signal), it ends after the batch under way: the stages are not flushed
    (what is still open was not summarised by the input, only cut off).
    """
    read = ReadBytes()
    for batch in source.batches():
        yield batch, read.after(batch)
    if source.stop:
        return
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
            on_batch: Callable[[int], None] | None = None, *, expanded: bool = False,
            stop: StopSignals | None = None) -> Converted:
    """Parse *paths* through *pipeline* and write NDJSON with *write*; *on_batch* gets the bytes read.
    *expanded*: the paths are files already found and checked (a worker's), read as they are. *stop*: a
    signal ends reading after the batch under way (its events are written), or at once while it waits."""
    source = Source(pipeline, SourceConfig(paths=paths), encoded=True, expanded=expanded)
    if stop is not None:
        stop.watch(source)
    try:
        for batch, done in batches(pipeline, source):
            write(encode_records(pipeline, batch) if isinstance(batch, list) else batch_ndjson(pipeline, batch))
            if on_batch is not None:
                on_batch(done)
    except Stopped:  # waiting for input: nothing of it was read
        pass
    return Converted(pipeline.counters, source.damaged)


def batch_ndjson(pipeline: Pipeline, batch: Batch) -> bytes:
    """The NDJSON of *batch*'s lines: what the compiled core wrote, else their records encoded."""
    return batch.ndjson if batch.ndjson is not None else encode_records(pipeline, batch.records)


class _OutputFailed(Exception):
    """Writing the output failed in a worker: the parent raises it again as the OSError it was."""


class _Waiting:
    """A worker's side of the output of one unit of work: kept until the unit's turn comes (the parent says
    so on *channel* once the units before it are written), then written straight to the output (the
    parent's file descriptor, inherited): what was kept first, then the rest as it comes."""

    def __init__(self, target: int, channel: Connection) -> None:
        self.target = target
        self.channel = channel
        self.direct = False

    def write(self, data: bytes) -> None:
        if not self.direct and self.channel.poll():
            self.hand_over()
        if self.direct:
            _out(self.target, data)
        else:
            self.keep(data)

    def hand_over(self) -> None:
        """Its turn: what it kept goes to the output; what follows goes there straight."""
        try:
            handed: Handed = self.channel.recv()
        except EOFError:  # the parent is gone: nobody reads the rest
            raise SystemExit(1) from None
        self.direct = True
        self.release(handed)

    def finish(self) -> None:
        """Its lines are read: wait for its turn, if it has not come, and hand over."""
        if not self.direct:
            self.hand_over()

    def keep(self, data: bytes) -> None:
        """Keep *data* until the turn."""
        raise NotImplementedError

    def release(self, handed: Handed) -> None:
        """Write what was kept (*handed*: what the unit before handed on)."""
        raise NotImplementedError


class _Output(_Waiting):
    """An input read whole keeps its output in a temporary file (*kept*), gathered in large writes."""

    def __init__(self, kept: int, target: int, channel: Connection) -> None:
        super().__init__(target, channel)
        self.kept = kept
        self.kept_bytes = 0
        self.buffer = bytearray(KEEP_CHUNK)  # what goes to the file next, in one write
        self.filled = 0

    def keep(self, data: bytes) -> None:
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
        """What the buffer holds, to the temporary file."""
        write_all(self.kept, memoryview(self.buffer)[:self.filled])
        self.kept_bytes += self.filled
        self.filled = 0

    def release(self, handed: Handed) -> None:
        sent = 0
        while sent < self.kept_bytes:
            try:
                sent += _send(self.target, self.kept, sent, self.kept_bytes - sent)
            except OSError as exc:
                raise _OutputFailed(exc.errno, exc.strerror) from None
        if self.filled:
            _out(self.target, memoryview(self.buffer)[:self.filled])
        self.buffer = bytearray()


class _Redo(Exception):
    """A part's turn came, and the part before it did not end where it began or left the stream otherwise than
    it guessed: it is read again from *next_offset* with the stream as *settled* says."""

    def __init__(self, next_offset: int, settled: Settled | None) -> None:
        super().__init__(next_offset)
        self.next_offset = next_offset
        self.settled = settled


class _PartOutput(_Waiting):
    """A part keeps its output in memory (a part is a few megabytes). At its turn it checks the part before it
    against what it assumed, and raises :class:`_Redo` when that was wrong."""

    def __init__(self, target: int, channel: Connection, part: Part) -> None:
        super().__init__(target, channel)
        self.part = part
        self.kept: list[bytes] = []

    def keep(self, data: bytes) -> None:
        self.kept.append(data)

    def release(self, handed: Handed) -> None:
        kept, self.kept = self.kept, []
        part = self.part
        if handed is not None and handed != (part.first, part.guessed):
            raise _Redo(*handed)
        for data in kept:
            _out(self.target, data)


#: What a part hands on to the next part of its file: where its lines ended, and how it left the stream.
Handed = tuple[int, "Settled | None"] | None
#: A unit of work of ``--workers``: an input read whole (its path), or a part of a plain file.
Unit = str | Part


def _out(target: int, data: bytes | memoryview) -> None:
    try:
        write_all(target, data)
    except OSError as exc:
        raise _OutputFailed(exc.errno, exc.strerror) from None


def _worker(pipeline: Pipeline, config: PipelineConfig, units: list[Unit], target: int, channel: Connection,
            parent_ends: list[Connection]) -> None:
    """In a worker process (forked, the parent's packs already loaded): each of its units in turn, its NDJSON
    written to *target* at the unit's turn, then ``("done", Converted, Handed)``, ``("error", message)`` or
    ``("unwritable", (errno, strerror))`` on *channel*.

    It closes its copies of the parent's channel ends (*parent_ends*: its own and the earlier workers'), so
    that the channel ends when the parent does (SIGTERM, kill -9): the worker then exits at its next look
    for its turn, or when it reports, instead of waiting for ever.
    """
    for end in parent_ends:
        end.close()
    # SIGINT/SIGTERM (the parent passes its own on, Ctrl-C reaches every process): the batch under way is
    # written whole, then the unit ends and reports (the parent writes no later unit)
    stop = StopSignals(insist=False).__enter__()
    streams: dict[str, Stream] = {}  # per file, the stream as this worker's last part of it left it
    for unit in units:
        outcome = _run_unit(pipeline, config, unit, target, channel, streams, stop)
        try:
            channel.send(outcome)
        except OSError:  # the parent is gone: nobody reads the rest
            raise SystemExit(1) from None
        if outcome[0] != "done":
            return


def _run_unit(pipeline: Pipeline, config: PipelineConfig, unit: Unit, target: int, channel: Connection,
              streams: dict[str, Stream], stop: StopSignals) -> tuple[str, object] | tuple[str, object, Handed]:
    def fresh() -> Pipeline:
        return pipeline.with_stages(build_stages(config.tracking))

    try:
        try:
            if isinstance(unit, str):
                import tempfile

                with tempfile.TemporaryFile() as kept:
                    whole = _Output(kept.fileno(), target, channel)
                    converted = convert(fresh(), (unit,), whole.write, expanded=True, stop=stop)
                    whole.finish()
                return "done", converted, None
            side = _PartOutput(target, channel, unit)
            try:
                converted = convert_part(fresh(), unit, side.write, streams, stop)
                side.finish()
            except _Redo as redo:  # read again, straight to the output: its turn has come
                unit = Part(unit.path, redo.next_offset, unit.end, redo.settled,
                            cut_before=redo.next_offset < unit.start)
                converted = convert_part(fresh(), unit, side.write, streams, stop)
            return "done", converted, (unit.next_offset, unit.settled_after)
        except EsalogError as exc:  # re-raised in the parent as a plain error
            return "error", str(exc)
    except _OutputFailed as exc:
        return "unwritable", exc.args


def convert_part(pipeline: Pipeline, part: Part, write: Write, streams: dict[str, Stream],
                 stop: StopSignals | None = None) -> Converted:
    """Parse the lines of *part* through *pipeline* and write their NDJSON with *write* (*streams*: see
    :meth:`Source.read_part`; *stop*: as for :func:`convert`)."""
    source = Source(pipeline, SourceConfig(paths=(part.path,)), encoded=True)
    if stop is not None:
        stop.watch(source)
    for batch in source.read_part(part, streams):
        write(batch_ndjson(pipeline, batch))
    return Converted(pipeline.counters, source.damaged)


def work_units(files: list[str], part_bytes: int | None) -> list[Unit]:
    """The work in input order: each input whole or, with *part_bytes*, a plain file longer than that in parts
    of about that many bytes (the last one reads to the end, however far the file has grown)."""
    units: list[Unit] = []
    for path in files:
        size = plain_size(path) if part_bytes else None
        if part_bytes is None or size is None or size <= part_bytes:
            units.append(path)
            continue
        starts = range(0, size, part_bytes)
        units += [Part(path, start, start + part_bytes) for start in starts[:-1]]
        units.append(Part(path, starts[-1], sys.maxsize))
    return units


def convert_parallel(config: PipelineConfig, paths: tuple[str, ...], workers: int, output: BinaryIO,
                     part_bytes: int = PART_BYTES, stop: StopSignals | None = None) -> Converted:
    """Parse the inputs over *workers* processes, writing to *output* in input order as results stream in.

    The work (:func:`work_units`) is each input whole; with ``--stateless``, which keeps no state from line to
    line, a plain file is cut in parts of *part_bytes*. The units are dealt round-robin to the workers, in
    input order. The worker of the unit being written writes its NDJSON straight to *output* (its file
    descriptor, shared with the parent); the others keep theirs meanwhile (a part in memory, a whole input in
    a temporary file, sent with ``sendfile``) until their turn comes. A part starts with the stream as the
    file's header leaves it; at its turn it is checked against where the part before it ended and how it
    left the stream (a header line further down: then it is read again from there), so the output is the
    same for any N. Memory stays bounded. *output* must have a file descriptor (the command's output file
    or stdout). *stop* (its handlers installed): a signal ends the unit being written after its batch under
    way, each worker's passed the signal on; no later unit is written.
    """
    files = expand_paths(paths)
    if "-" in files:
        raise ConfigError("--workers reads files: give file names or globs, not stdin ('-')")
    pipeline = build_pipeline(config)  # packs loaded once: the workers are forked from here
    units = work_units(files, part_bytes if config.tracking.stateless else None) if workers > 1 else []
    total = Converted()
    if len(units) <= 1:
        for path in files:
            total.add(convert(pipeline.with_stages(build_stages(config.tracking)), (path,),
                              lambda data: write_whole(output, data), stop=stop))
            if stop is not None and stop.signum is not None:
                break
        return total
    output.flush()
    target = output.fileno()
    from multiprocessing import get_context

    context = get_context("fork")
    crew: list[_Worker] = []
    for k in range(min(workers, len(units))):
        crew.append(_Worker(context, pipeline, config, units[k::workers], target, [w.channel for w in crew]))
    if stop is not None:
        stop.on_stop = lambda: _pass_on(crew)
    handed: Handed = None
    finished = False
    try:
        for index, unit in enumerate(units):
            converted, handed = crew[index % len(crew)].turn(unit, handed if isinstance(unit, Part) and unit.start
                                                            else None)
            total.add(converted)
            if stop is not None and stop.signum is not None:  # the unit written ended at the stop
                break
        finished = stop is None or stop.signum is None
    finally:
        for worker in crew:
            worker.close(stop=not finished)
    return total


def _pass_on(crew: list[_Worker]) -> None:
    """The parent's stop signal, as SIGTERM, to each worker still running (they stop after the batch under
    way)."""
    for worker in crew:
        if worker.process.exitcode is None:
            with contextlib.suppress(OSError):
                worker.process.terminate()


class _Worker:
    """One worker process, seen from the parent: its channel (the turns of its units, their outcomes)."""

    def __init__(self, context: Any, pipeline: Pipeline, config: PipelineConfig, units: list[Unit],
                 target: int, earlier: list[Connection]) -> None:
        self.channel, worker_end = context.Pipe()
        self.process: BaseProcess = context.Process(
            target=_worker, args=(pipeline, config, units, target, worker_end, [*earlier, self.channel]), daemon=True)
        self.process.start()
        worker_end.close()  # the worker holds the only other end: its exit ends the channel

    def turn(self, unit: Unit, handed: Handed) -> tuple[Converted, Handed]:
        """*unit*'s turn (*handed*: what the part before it handed on): the worker writes its NDJSON; its
        counters and what it hands on (EsalogError when the worker died, ConfigError when it failed, OSError
        when the output did)."""
        path = unit if isinstance(unit, str) else unit.path
        with contextlib.suppress(OSError):  # a worker that failed at its start has reported and ended:
            self.channel.send(handed)  # its report is still in the channel
        try:
            outcome = self.channel.recv()
        except (EOFError, OSError):  # the channel's other end closed: the worker is gone
            self.process.join()
            raise EsalogError(f"the worker reading {path} stopped (exit code {self.process.exitcode})") from None
        kind, payload = outcome[0], outcome[1]
        if kind == "unwritable":
            raise OSError(*payload)
        if kind == "error":
            raise ConfigError(str(payload))
        assert isinstance(payload, Converted)
        return payload, outcome[2]

    def close(self, *, stop: bool) -> None:
        """Wait for the process to end (*stop*: end it at once, a failure elsewhere ended the command)."""
        if stop:
            self.process.kill()
        self.process.join()
        self.channel.close()


def _send(target: int, source: int, offset: int, count: int) -> int:
    """Bytes of the file *source* from *offset* to *target* (``sendfile``; copied where it cannot)."""
    try:
        return os.sendfile(target, source, offset, min(count, SEND_CHUNK))
    except OSError:
        chunk = os.pread(source, min(count, SEND_CHUNK), offset)
        write_all(target, chunk)
        return len(chunk)
