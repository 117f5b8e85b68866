"""The compiled core in front of a pipeline: raw lines in, NDJSON out.

A line the core cannot read as the Python path would goes through :meth:`Pipeline.process_lines` on its
own (decoded as the block reader decodes it), in its place, so the output is the same byte for byte.
"""

from __future__ import annotations

from esalog.encode import encode_lines
from esalog.parsers.parser import Stream
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
