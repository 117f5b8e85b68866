"""The compiled core in front of a pipeline: raw lines in, NDJSON (or records of encoded events) out.

A line the core cannot read as the Python path would goes through :meth:`Pipeline.process_lines` on its
own (decoded as the block reader decodes it), in its place, so the output is the same byte for byte.
"""

from __future__ import annotations

from typing import Any

from esalog.encode import encode_lines
from esalog.parsers.parser import Stream
from esalog.parsers.record import Record
from esalog.pipeline import Pipeline
from esalog.sources.lines import decode_line


def encode_native(pipeline: Pipeline, raws: list[bytes], problems: dict[int, tuple[str, ...]],
                  stream: Stream) -> bytes:
    """The NDJSON of consecutive lines of *stream* (bytes without newline; *problems*: the block reader's)."""
    core = pipeline.core
    if stream.native is None:
        stream.native = core.stream(stream)
    process = pipeline.process_lines

    def fallback(index: int) -> bytes:
        text, found = decode_line(raws[index])
        flagged = (*problems.get(index, ()), *found)
        return encode_lines(process([text], stream, {0: flagged} if flagged else None))

    data, count = core.encode_block(stream.native, raws, problems, fallback)
    counters = pipeline.counters
    counters.lines += count
    counters.events += count
    return data  # type: ignore[no-any-return]


def records_native(pipeline: Pipeline, raws: list[bytes], problems: dict[int, tuple[str, ...]],
                   stream: Stream) -> tuple[list[Record], list[int]]:
    """The records of consecutive lines of *stream* and, per line, the index in them just after its records
    (as :meth:`Pipeline.process_lines` gives them): the core's lines as records of their encoded event."""
    core = pipeline.core
    if stream.native is None:
        stream.native = core.stream(stream)
    process = pipeline.process_lines
    by_line: dict[int, list[Record]] = {}

    def fallback(index: int) -> bytes:
        text, found = decode_line(raws[index])
        flagged = (*problems.get(index, ()), *found)
        by_line[index] = process([text], stream, {0: flagged} if flagged else None)
        return b""

    facts: list[tuple[int, str | None, dict[str, Any] | None, str | None]] = []
    data, count = core.encode_block(stream.native, raws, problems, fallback, facts)
    counters = pipeline.counters
    counters.lines += count
    counters.events += count
    records: list[Record] = []
    ends: list[int] = []
    start = 0
    for index, (end, stamp, observer, dataset) in enumerate(facts):
        if stamp is None:
            records += by_line[index]
        else:
            records.append(Record.of_encoded(data[start:end], stamp, observer, dataset))  # type: ignore[arg-type]
        ends.append(len(records))
        start = end
    return records, ends
