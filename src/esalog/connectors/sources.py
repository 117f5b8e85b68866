"""What ``esalog ship`` reads: files, globs or stdin, once or followed like ``tail -F``.

Each line is parsed through the pipeline and yielded with where it sits, so the checkpoint can
resume after it and sinks can derive deterministic ids. Files are tracked by identity (device +
inode): ESA's rotation (``mail.current`` renamed to ``mail.@<stamp>.s``, ``.c`` renamed to ``.s``)
keeps reading the renamed file to its end, then picks up the new one from its first byte, so no line
is read twice and none is skipped.
"""

from __future__ import annotations

import glob
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from esalog.connectors.checkpoint import Checkpoint, FileId
from esalog.errors import ConfigError
from esalog.inputs import (
    MAX_LINE_BYTES,
    RawLine,
    decode_line,
    expand_paths,
    input_name,
    open_binary,
    read_blocks,
    read_lines,
)
from esalog.parsers.parser import Stream
from esalog.pipeline import Pipeline

#: how much of a file's start is replayed through the parser on resume (header lines: time offset...)
HEADER_REPLAY_BYTES = 64 * 1024


@dataclass(slots=True)
class ParsedLine:
    """One input line and its events."""

    events: list[dict[str, Any]]
    file_id: FileId | None  # None: stdin, nothing to checkpoint
    key: str  # hash of the file's first line ("" for stdin)
    path: str
    next_offset: int
    origin: str  # stable identity of the line (for deterministic ids)


def first_line_key(handle: BinaryIO) -> str:
    """A short hash of the file's first line: the same file keeps its key when renamed or copied."""
    position = handle.tell()
    handle.seek(0)
    head = handle.readline(4096)
    handle.seek(position)
    return hashlib.blake2b(head, digest_size=8).hexdigest()


class Reader:
    """Turns paths into parsed lines; ``stop`` ends reading at the next line boundary."""

    def __init__(
        self,
        pipeline: Pipeline,
        paths: list[str],
        *,
        checkpoint: Checkpoint | None = None,
        follow: bool = False,
        poll_interval: float = 0.5,
        idle: Callable[[], None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.paths = paths or ["-"]
        self.checkpoint = checkpoint
        self.follow = follow
        self.poll_interval = poll_interval
        self.idle = idle or (lambda: None)
        self.stop = False
        self.waiting = False  # True while blocked on input (a signal may interrupt then)

    def lines(self) -> Iterator[ParsedLine]:
        if self.follow:
            if "-" in self.paths:
                raise ConfigError("--follow needs files or globs, not stdin")
            yield from self._follow()
            return
        for path in expand_paths(self.paths):
            if self.stop:
                return
            if path == "-":
                yield from self._stdin()
            else:
                yield from self._file_once(path)

    # ------------------------------------------------------------------------------------- one pass

    def _stdin(self) -> Iterator[ParsedLine]:
        stream = self.pipeline.open_stream("stdin")
        handle = _WaitingReader(open_binary("-"), self)
        for raw in read_lines(handle):  # type: ignore[arg-type]
            events = self.pipeline.process(raw, stream)
            digest = hashlib.blake2b(raw.text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
            yield ParsedLine(events, None, "", "stdin", raw.next_offset, f"pipe:{raw.number}:{digest}")
            if self.stop:
                return

    def _file_once(self, path: str) -> Iterator[ParsedLine]:
        handle = open_binary(path)
        try:
            stat = os.fstat(handle.fileno()) if hasattr(handle, "fileno") else os.stat(path)
            file_id = (stat.st_dev, stat.st_ino)
            key = first_line_key(handle)
            stream = self.pipeline.open_stream(input_name(path))
            start = self._resume_offset(file_id, key, stat.st_size if not _is_gzip(handle) else 1 << 62)
            if start:
                self._replay_header(handle, stream, start)
                handle.seek(start)
            ends: list[int] = []
            for block in read_blocks(handle, start_offset=start):
                # a block is a few dozen lines: parsed together, handed on line by line (its events,
                # where it ends); lines parsed after a stop are not handed on, so never checkpointed
                ends.clear()
                events = self.pipeline.process_lines(block.texts, stream, block.problems, ends)
                offset, first = block.offset, 0
                for index, end in enumerate(ends):
                    line_offset, offset = offset, offset + block.size(index)
                    yield ParsedLine(events[first:end], file_id, key, path, offset, f"{key}:{line_offset}")
                    first = end
                    if self.stop:
                        return
        finally:
            handle.close()

    def _resume_offset(self, file_id: FileId, key: str, size: int) -> int:
        if self.checkpoint is None:
            return 0
        return self.checkpoint.offset_for(file_id, size, key)

    def _replay_header(self, handle: BinaryIO, stream: Stream, upto: int) -> None:
        """Parse (without emitting) the first lines before *upto*: restores the time offset and appliance."""
        handle.seek(0)
        limit = min(upto, HEADER_REPLAY_BYTES)
        for raw in read_lines(handle):
            if raw.offset >= limit:
                break
            self.pipeline.parser.parse(raw.text, stream)

    # --------------------------------------------------------------------------------------- follow

    def _follow(self) -> Iterator[ParsedLine]:
        followed: dict[FileId, _Followed] = {}
        while not self.stop:
            present = self._scan()
            for file_id, path in present.items():
                if file_id not in followed:
                    followed[file_id] = self._open_followed(path, file_id)
                else:
                    followed[file_id].path = path
            got = False
            for file_id in sorted(followed, key=lambda f: followed[f].order):
                entry = followed[file_id]
                gone = file_id not in present
                for line in entry.read(final=gone):
                    got = True
                    yield line
                    if self.stop:
                        return
                if gone:  # renamed away or deleted: read to its end above, now done with it
                    entry.close()
                    del followed[file_id]
            if not got:
                self.idle()
                self.waiting = True
                try:
                    time.sleep(self.poll_interval)
                finally:
                    self.waiting = False
        for entry in followed.values():
            entry.close()

    def _scan(self) -> dict[FileId, str]:
        """Files matching the paths now, by identity (a missing literal path is fine: it may come back)."""
        present: dict[FileId, str] = {}
        for pattern in self.paths:
            matches = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
            for path in matches:
                try:
                    stat = os.stat(path)
                except OSError:
                    continue
                if os.path.isfile(path):
                    present.setdefault((stat.st_dev, stat.st_ino), path)
        return present

    def _open_followed(self, path: str, file_id: FileId) -> _Followed:
        handle = open(path, "rb")
        stream = self.pipeline.open_stream(input_name(path))
        entry = _Followed(self, handle, path, file_id, stream)
        size = os.fstat(handle.fileno()).st_size
        if self.checkpoint is not None and entry.key_ready():
            start = self._resume_offset(file_id, entry.key(), size)
            if start:
                self._replay_header(handle, stream, start)
                entry.offset = start
        return entry


class _Followed:
    """One followed file: its open handle (kept across renames) and the offset of the next line."""

    _counter = 0

    def __init__(self, reader: Reader, handle: BinaryIO, path: str, file_id: FileId, stream: Stream) -> None:
        self.reader = reader
        self.handle = handle
        self.path = path
        self.file_id = file_id
        self.stream = stream
        self.offset = 0
        self.number = 0
        self._key: str | None = None
        _Followed._counter += 1
        self.order = _Followed._counter

    def key_ready(self) -> bool:
        """Whether the first line is complete (then the file's key is known for good)."""
        if self._key is None:
            position = self.handle.tell()
            self.handle.seek(0)
            head = self.handle.readline(4096)
            self.handle.seek(position)
            if head.endswith(b"\n") or len(head) >= 4096:
                self._key = hashlib.blake2b(head, digest_size=8).hexdigest()
        return self._key is not None

    def key(self) -> str:
        assert self._key is not None
        return self._key

    def read(self, final: bool) -> Iterator[ParsedLine]:
        """Complete lines after the offset; with *final*, a last line without newline too."""
        handle = self.handle
        size = os.fstat(handle.fileno()).st_size
        if size < self.offset:  # truncated in place: start over
            self.offset = 0
        if size == self.offset:
            return
        handle.seek(self.offset)
        pipeline = self.reader.pipeline
        while True:
            raw = handle.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            length = len(raw)
            problems: tuple[str, ...] = ()
            if not raw.endswith(b"\n"):
                if length <= MAX_LINE_BYTES and not final:
                    return  # the writer has not finished this line yet
                if length > MAX_LINE_BYTES:
                    while True:  # skip the rest of an over-long line
                        more = handle.readline(1024 * 1024)
                        if not more and not final:
                            return  # not complete yet: read it again later from its start
                        length += len(more)
                        if not more or more.endswith(b"\n"):
                            break
                    raw = raw[:MAX_LINE_BYTES]
                    problems = ("line_too_long",)
            if not self.key_ready():  # pragma: no cover - a complete line exists, so the key is ready
                return
            if raw.endswith(b"\n"):
                raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
            text, more_problems = decode_line(raw)
            self.number += 1
            line = RawLine(text, self.offset, self.offset + length, self.number, (*problems, *more_problems))
            events = pipeline.process(line, self.stream)
            start, self.offset = self.offset, self.offset + length
            yield ParsedLine(
                events, self.file_id, self.key(), self.path, self.offset, f"{self.key()}:{start}"
            )
            if self.reader.stop:
                return

    def close(self) -> None:
        self.handle.close()


class _WaitingReader:
    """stdin wrapper that tells the reader when it is blocked waiting for input."""

    def __init__(self, handle: BinaryIO, reader: Reader) -> None:
        self._handle = handle
        self._reader = reader

    def readline(self, size: int = -1) -> bytes:
        self._reader.waiting = True
        try:
            return self._handle.readline(size)
        finally:
            self._reader.waiting = False


def _is_gzip(handle: BinaryIO) -> bool:
    return handle.__class__.__name__ == "GzipFile"
