"""The plain line reader the tests hold the block reader (and the filter's line reader) against."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from esalog.sources.lines import MAX_LINE_BYTES, decode_line


@dataclass(slots=True)
class RawLine:
    """One input line, decoded: its text, where it starts and ends in the input, its number, its problems."""

    text: str
    offset: int
    next_offset: int
    number: int
    problems: tuple[str, ...] = ()


def reference_lines(handle: BinaryIO, max_line: int = MAX_LINE_BYTES, start_offset: int = 0) -> Iterator[RawLine]:
    """``readline(max_line + 1)`` at LF: a longer line is cut and its rest skipped, a CRLF's CR dropped."""
    offset, number = start_offset, 0
    while raw := handle.readline(max_line + 1):
        number += 1
        length = len(raw)
        problems: tuple[str, ...] = ()
        if length > max_line and not raw.endswith(b"\n"):
            while more := handle.readline(64):
                length += len(more)
                if more.endswith(b"\n"):
                    break
            raw, problems = raw[:max_line], ("line_too_long",)
        if raw.endswith(b"\n"):
            raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
        text, more_problems = decode_line(raw)
        yield RawLine(text, offset, offset + length, number, problems + more_problems)
        offset += length
