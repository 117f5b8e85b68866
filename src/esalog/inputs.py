"""Input stage: read lines from files (plain or gzip), globs or stdin as bytes; decode safely.

Every physical line becomes exactly one :class:`RawLine`: text without its newline, the byte
offset where it starts, and problems found while decoding (invalid UTF-8, NUL bytes, a line longer
than the limit). Nothing is dropped.
"""

from __future__ import annotations

import glob
import gzip
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from esalog.errors import ConfigError

#: Lines longer than this are cut (the event says so); memory stays bounded whatever the input.
MAX_LINE_BYTES = 4 * 1024 * 1024


@dataclass(slots=True)
class RawLine:
    """One input line, decoded."""

    text: str
    offset: int  # byte offset of the line start in its (uncompressed) input
    next_offset: int  # byte offset just after the line (where a checkpoint resumes)
    number: int  # 1-based line number
    problems: tuple[str, ...] = ()  # invalid_utf8, binary, line_too_long


def expand_paths(paths: list[str]) -> list[str]:
    """Expand globs (in the order given, each sorted); ``-`` is stdin. Missing files are an error."""
    out: list[str] = []
    for path in paths or ["-"]:
        if path == "-":
            out.append(path)
            continue
        matches = sorted(glob.glob(path)) if any(c in path for c in "*?[") else [path]
        if not matches:
            raise ConfigError(f"no file matches {path!r}")
        for match in matches:
            if os.path.isdir(match):
                raise ConfigError(f"{match!r} is a directory; give files or a glob such as {match}/*")
            if not os.path.exists(match):
                raise ConfigError(f"no such file: {match!r}")
            out.append(match)
    return out


def open_binary(path: str) -> BinaryIO:
    """Open *path* for binary reading; gzip is recognised by its magic bytes; ``-`` is stdin."""
    if path == "-":
        return sys.stdin.buffer
    handle = open(path, "rb")
    magic = handle.read(2)
    handle.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    return handle


def decode_line(raw: bytes) -> tuple[str, tuple[str, ...]]:
    """Bytes of one line (newline removed) -> text and the problems met."""
    try:
        text = raw.decode("utf-8")
        problems: tuple[str, ...] = ()
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        problems = ("invalid_utf8",)
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
        problems = (*problems, "binary")
    return text, problems


def read_lines(handle: BinaryIO, start_offset: int = 0, max_line: int = MAX_LINE_BYTES) -> Iterator[RawLine]:
    """Yield every line of *handle*; a line over *max_line* bytes is cut and its rest skipped."""
    offset = start_offset
    number = 0
    readline = handle.readline
    while True:
        raw = readline(max_line + 1)
        if not raw:
            return
        number += 1
        length = len(raw)
        problems: tuple[str, ...] = ()
        if length > max_line and not raw.endswith(b"\n"):
            # skip the rest of this physical line, counting its bytes
            while True:
                more = readline(1024 * 1024)
                length += len(more)
                if not more or more.endswith(b"\n"):
                    break
            raw = raw[:max_line]
            problems = ("line_too_long",)
        if raw.endswith(b"\n"):
            raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
        try:
            text = raw.decode("utf-8")
            if "\x00" in text:
                text, more_problems = decode_line(raw)
                problems = (*problems, *more_problems)
        except UnicodeDecodeError:
            text, more_problems = decode_line(raw)
            problems = (*problems, *more_problems)
        yield RawLine(text, offset, offset + length, number, problems)
        offset += length


def input_name(path: str) -> str:
    """A short, stable name for an input (used as the stream and appliance key fallback)."""
    return "stdin" if path == "-" else str(Path(path))
