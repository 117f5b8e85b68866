"""The compiled core in front of a pipeline: raw lines in, NDJSON (or records of encoded events) out; or,
in front of the stages (session tracking), the records of the lines (:func:`records_staged`).

A line the core does not write itself still gets its record from the core, where it can make it, and the
stages run on it (:func:`records_staged` on that line); one the core cannot read as the Python path would
(its problems: bad UTF-8, NUL, cut) goes through the Python path on its own, decoded as the block reader
decodes it, in its place, so the output is the same byte for byte. So do an input's header lines
(``Stream.early``): the Python path stamps them again once the time offset that follows them is known, so
they are encoded only once the header is over, and the stages see them line by line.
"""

from __future__ import annotations

from typing import Any

from esalog.encode import encode_line, encode_lines
from esalog.parsers.parser import Stream
from esalog.parsers.record import Record
from esalog.pipeline import Pipeline
from esalog.sources.lines import decode_line

Problems = dict[int, tuple[str, ...]]


def encode_native(pipeline: Pipeline, raws: list[bytes], problems: Problems, stream: Stream) -> bytes:
    """The NDJSON of consecutive lines of *stream* (bytes without newline; *problems*: the block reader's)."""
    head, ends = _header(pipeline, raws, problems, stream)
    first = len(ends)
    if first == len(raws):
        return encode_lines(head)
    raws, problems = _rest(raws, problems, first)

    def fallback(index: int) -> bytes:
        return encode_records(pipeline, _staged(pipeline, raws, problems, stream, index))

    data, count = pipeline.core.encode_block(_state(pipeline.core, stream), raws, problems, fallback)
    pipeline.count_lines(count)
    return encode_lines(head) + data if head else data  # type: ignore[no-any-return]


def records_native(pipeline: Pipeline, raws: list[bytes], problems: Problems,
                   stream: Stream) -> tuple[list[Record], list[int]]:
    """The records of consecutive lines of *stream* and, per line, the index in them just after its records
    (as :meth:`Pipeline.process_lines` gives them): the core's lines as records of their encoded event."""
    records, ends = _header(pipeline, raws, problems, stream)
    first = len(ends)
    if first == len(raws):
        return records, ends
    raws, problems = _rest(raws, problems, first)

    def fallback(index: int) -> list[Record]:
        return _staged(pipeline, raws, problems, stream, index)

    rest, rest_ends, count = pipeline.core.encoded_records_block(_state(pipeline.core, stream), raws, problems,
                                                                 fallback, Record.of_encoded)
    pipeline.count_lines(count)
    if not records:
        return rest, rest_ends
    ends += [len(records) + end for end in rest_ends]
    return records + rest, ends


def records_staged(pipeline: Pipeline, raws: list[bytes], problems: Problems, stream: Stream,
                   core: Any = None) -> tuple[list[Record], list[int]]:
    """Like :meth:`Pipeline.process_lines`: the records of consecutive lines of *stream*, each line's then
    those its stages add, and per line the index just after its records. The compiled *core* (by default
    ``pipeline.record_core``) makes the records of the lines it reads, the parser those of the others; then
    the stages run on each in order."""
    records, ends = _header(pipeline, raws, problems, stream)
    first = len(ends)
    if first == len(raws):
        return records, ends
    raws, problems = _rest(raws, problems, first)

    def fallback(index: int) -> Record:
        text, flagged = _decoded(raws, problems, index)
        return pipeline.parse_line(text, stream, flagged)

    core = core or pipeline.record_core
    parser = pipeline.parser
    parsed, _ = core.records_block(_state(core, stream), raws, problems, fallback, parser.matched, parser.unmatched)
    staged = pipeline.staged
    for record in parsed:
        staged(record, records)
        ends.append(len(records))
    pipeline.count_lines(len(parsed))
    return records, ends


def encode_records(pipeline: Pipeline, records: list[Record]) -> bytes:
    """NDJSON of *records*, as :func:`~esalog.encode.encode_lines` writes it: by the compiled core where
    there is one (it leaves whole documents, such as message summaries, to the Python encoder)."""
    core = pipeline.record_core or pipeline.core
    if core is None:
        return encode_lines(records)
    return core.encode_records(records, encode_line)  # type: ignore[no-any-return]


def _header(pipeline: Pipeline, raws: list[bytes], problems: Problems,
            stream: Stream) -> tuple[list[Record], list[int]]:
    """The records of the block's first lines while the input's header lasts (on the Python path)."""
    records: list[Record] = []
    ends: list[int] = []
    while len(ends) < len(raws) and stream.early is not None:
        records += _python(pipeline, raws, problems, stream, len(ends))
        ends.append(len(records))
    return records, ends


def _rest(raws: list[bytes], problems: Problems, first: int) -> tuple[list[bytes], Problems]:
    """The lines from *first* on, with their problems."""
    if not first:
        return raws, problems
    return raws[first:], {index - first: found for index, found in problems.items() if index >= first}


def _staged(pipeline: Pipeline, raws: list[bytes], problems: Problems, stream: Stream, index: int) -> list[Record]:
    """The records of line *index*, which the core does not write itself (its rule has post-processors, its
    stages classify it, it matches no rule...): the core still makes the line's record where it can, the
    Python parser where it cannot; then the stages run on it."""
    found = problems.get(index)
    return records_staged(pipeline, [raws[index]], {0: found} if found else {}, stream, pipeline.core)[0]


def _python(pipeline: Pipeline, raws: list[bytes], problems: Problems, stream: Stream, index: int) -> list[Record]:
    """The records of line *index* on the Python path (decoded as the block reader decodes it)."""
    text, flagged = _decoded(raws, problems, index)
    return pipeline.process_lines([text], stream, {0: flagged} if flagged else None)


def _decoded(raws: list[bytes], problems: Problems, index: int) -> tuple[str, tuple[str, ...]]:
    """Line *index* as the block reader decodes it, and its problems (the reader's, then those the decoding
    adds: a reader that decoded the block found them already)."""
    text, found = decode_line(raws[index])
    known = problems.get(index, ())
    return text, (*known, *(problem for problem in found if problem not in known))


def _state(core: Any, stream: Stream) -> Any:
    if stream.native is None:
        stream.native = core.stream(stream)
    return stream.native
