"""The batch converter: inputs to NDJSON, in this process or, each file on its own, in N worker processes.

With workers, each input (file) is parsed whole by one worker with its own pipeline, flushed at the end
of that input: inputs do not share session state, so the output does not depend on N. Each worker
writes its NDJSON to a temporary file; the parent copies the files to the output in input order. At
most ``2 * N`` inputs are in flight, so the temporary files never hold much more than that many inputs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context

from esalog.encode import encode_lines
from esalog.errors import ConfigError, EsalogError
from esalog.parsers.record import Record
from esalog.pipeline import Counters, Pipeline, PipelineConfig, build_pipeline
from esalog.sources.files import expand_paths
from esalog.sources.reader import Batch, Source, SourceConfig

Write = Callable[[bytes], object]
#: Records per batch when the end-of-input flush hands on what the stages still hold.
FLUSH_BATCH = 512


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


def records(pipeline: Pipeline, source: Source) -> Iterator[tuple[list[Record], int]]:
    """Every record of *source* in batches, inputs in order, then what the stages flush at the end.

    Each batch comes with the bytes of the input files read so far (for progress, see :class:`ReadBytes`).
    """
    read = ReadBytes()
    for batch in source.batches():
        yield batch.records, read.after(batch)
    chunk: list[Record] = []
    for record in pipeline.flush():  # summaries of what is still open: possibly many, streamed
        chunk.append(record)
        if len(chunk) >= FLUSH_BATCH:
            yield chunk, read.total
            chunk = []
    if chunk:
        yield chunk, read.total


def convert(pipeline: Pipeline, paths: tuple[str, ...], write: Write,
            on_batch: Callable[[int], None] | None = None) -> Converted:
    """Parse *paths* through *pipeline* and write NDJSON with *write*; *on_batch* gets the bytes read."""
    source = Source(pipeline, SourceConfig(paths=paths))
    for batch, done in records(pipeline, source):
        write(encode_lines(batch))
        if on_batch is not None:
            on_batch(done)
    return Converted(pipeline.counters, source.damaged)


def _worker(config: PipelineConfig, path: str, target: str) -> Converted:
    """In a worker process: parse *path* into the file *target*."""
    try:
        with open(target, "wb") as out:
            return convert(build_pipeline(config), (path,), out.write)
    except EsalogError as exc:  # re-raised in the parent as a plain error that pickles
        raise ConfigError(str(exc)) from None


def convert_parallel(config: PipelineConfig, paths: tuple[str, ...], workers: int, write: Write) -> Converted:
    """Parse each input on its own over *workers* processes, writing in input order."""
    files = expand_paths(paths)
    if "-" in files:
        raise ConfigError("--workers reads files: give file names or globs, not stdin ('-')")
    total = Converted()
    if workers <= 1 or len(files) == 1:
        for path in files:
            total.add(convert(build_pipeline(config), (path,), write))
        return total
    with tempfile.TemporaryDirectory(prefix="esalog-workers-") as tmp, \
            ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
        pending: list[tuple[Future[Converted], str]] = []
        queue = list(enumerate(files))
        queue.reverse()

        def submit() -> None:
            while queue and len(pending) < 2 * workers:
                index, path = queue.pop()
                target = os.path.join(tmp, f"{index}.ndjson")
                pending.append((pool.submit(_worker, config, path, target), target))

        submit()
        while pending:
            future, target = pending.pop(0)
            total.add(future.result())
            with open(target, "rb") as part:
                while chunk := part.read(1024 * 1024):
                    write(chunk)
            os.remove(target)
            submit()
    return total
