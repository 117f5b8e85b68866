"""The batch converter: inputs to NDJSON, in this process or, each file on its own, in N worker processes.

With workers, each input (file) is parsed whole by one worker process with its own pipeline, flushed at
the end of that input: inputs do not share session state, so the output does not depend on N. Each
worker streams its NDJSON back to the parent, which writes it in input order (see
:func:`convert_parallel`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue

from esalog.encode import encode_lines
from esalog.errors import ConfigError, EsalogError
from esalog.parsers.record import Record
from esalog.pipeline import Counters, Pipeline, PipelineConfig, build_pipeline, build_stages
from esalog.sources.files import expand_paths
from esalog.sources.reader import Batch, Source, SourceConfig

Write = Callable[[bytes], object]
#: Records per batch when the end-of-input flush hands on what the stages still hold.
FLUSH_BATCH = 512
#: Blocks of NDJSON a worker may send ahead of the parent's writing.
QUEUE_CHUNKS = 16
#: What a worker sends: ("data", NDJSON), ("done", Converted) or ("error", message).
_Message = tuple[str, "bytes | Converted | str"]


@dataclass
class Converted:
    """What a conversion read: the pipeline's counters and what could not be read."""

    counters: Counters = field(default_factory=Counters)
    damaged: list[str] = field(default_factory=list)

    def add(self, other: Converted) -> None:
        self.counters.add(other.counters)
        self.damaged += other.damaged


def batches(pipeline: Pipeline, source: Source) -> Iterator[tuple[Batch | list[Record], int]]:
    """Every batch of *source*, inputs in order, then what the stages flush at the end (as lists of records).

    Each batch comes with the bytes of plain input files read so far (for progress).
    """
    done = 0  # bytes of the inputs finished
    current, offset = None, 0
    for batch in source.batches():
        if batch.input is not current:
            if current is not None and not current.compressed:
                done += offset
            current = batch.input
        offset = batch.next_offset
        yield batch, done + (0 if batch.input.compressed else offset)
    chunk: list[Record] = []
    for record in pipeline.flush():  # summaries of what is still open: possibly many, streamed
        chunk.append(record)
        if len(chunk) >= FLUSH_BATCH:
            yield chunk, done + offset
            chunk = []
    if chunk:
        yield chunk, done + offset


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


def _worker(pipeline: Pipeline, config: PipelineConfig, path: str, channel: Queue[_Message]) -> None:
    """In a worker process (forked, the parent's packs already loaded): stream *path*'s NDJSON back."""
    try:
        fresh = Pipeline(pipeline.parser, build_stages(config.tracking), config.parse)
        fresh.core = pipeline.core
        channel.put(("done", convert(fresh, (path,), lambda data: channel.put(("data", data)))))
    except EsalogError as exc:  # re-raised in the parent as a plain error
        channel.put(("error", str(exc)))


def convert_parallel(config: PipelineConfig, paths: tuple[str, ...], workers: int, write: Write) -> Converted:
    """Parse each input on its own over *workers* processes, writing in input order as results stream in.

    One process per input, at most *workers* at once, started in input order; each sends its NDJSON back
    through a bounded queue, so the ones ahead of the input being written wait (memory stays bounded:
    ``QUEUE_CHUNKS`` blocks per process).
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
            total.add(convert(fresh, (path,), write))
        return total
    context = get_context("fork")
    running: list[tuple[BaseProcess, Queue[_Message]]] = []
    queue = list(files)
    queue.reverse()
    try:
        while queue or running:
            while queue and len(running) < workers:
                channel: Queue[_Message] = context.Queue(QUEUE_CHUNKS)
                process: BaseProcess = context.Process(target=_worker, args=(pipeline, config, queue.pop(), channel),
                                          daemon=True)
                process.start()
                running.append((process, channel))
            process, channel = running.pop(0)
            while True:
                kind, payload = channel.get()
                if kind == "data":
                    write(payload)  # type: ignore[arg-type]
                elif kind == "error":
                    raise ConfigError(str(payload))
                else:
                    total.add(payload)  # type: ignore[arg-type]
                    break
            process.join()
    finally:
        for process, _ in running:
            process.kill()
    return total
