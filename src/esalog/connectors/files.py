"""The reference sinks: NDJSON on stdout, and NDJSON files with rotation by size."""

from __future__ import annotations

import errno
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from esalog.connectors.base import Delivered, Outcome, Retry, RetryPartial, Sink, Stop
from esalog.connectors.batch import BatchLimits, Item
from esalog.encode import encode_line
from esalog.parsers.record import Record


class StdoutSink(Sink):
    """One JSON line per event on stdout; a batch is acknowledged once written.

    Written straight to the descriptor: when a write fails part way (stdout redirected to a file on a
    full disk), the retry of the same batch writes only what did not get out, so no row is doubled, lost
    or torn. Should the batch be given up instead, the row it left cut is completed before the next batch
    (that event may then be in the output although counted as not delivered: at least once).
    """

    name = "stdout"
    limits = BatchLimits(max_events=1000, max_bytes=256 * 1024, max_age=0.2)

    def __init__(self, out: BinaryIO | None = None) -> None:
        self.out = out or sys.stdout.buffer
        self._cut: tuple[bytes, int] | None = None  # a batch whose write failed, and the bytes of it written

    def encode_item(self, record: Record, origin: str, index: int, ticket: Any) -> Item:
        return Item(encode_line(record), ticket)

    def send(self, items: Sequence[Item]) -> Outcome:
        data = b"".join(item.data for item in items)
        try:
            fd = self.out.fileno()
        except (OSError, ValueError):  # not a real file (io.UnsupportedOperation is an OSError)
            fd = None
        try:
            if fd is None:
                self.out.write(data)
                self.out.flush()
                return Delivered()
            self.out.flush()
            skip = 0
            if self._cut is not None:
                cut, done = self._cut
                if cut == data:  # the same batch again: on from where it stopped
                    skip = done
                elif done and cut[done - 1] != 10:  # another batch: first end the row left cut
                    self._write(fd, cut, done, cut.index(b"\n", done) + 1)
                self._cut = None
            self._write(fd, data, skip, len(data))
        except BrokenPipeError:
            return Stop("stdout was closed by the reader")
        except OSError as exc:
            if exc.errno == errno.EBADF:  # closed by the caller (>&-): no retry will open it
                return Stop(f"stdout is not open for writing: {exc.strerror}")
            return Retry(f"stdout: {exc.strerror or exc}")
        return Delivered()

    def _write(self, fd: int, data: bytes, start: int, end: int) -> None:
        """``data[start:end]`` to *fd*; on failure, what of *data* is out is remembered for the retry."""
        view, done = memoryview(data), start
        try:
            while done < end:
                done += os.write(fd, view[done:end])
        except OSError:
            self._cut = (data, done)
            raise


class FileSink(Sink):
    """NDJSON appended to *path*, fsync'd per batch, rotated like logrotate at ``rotate_bytes``.

    A file never grows past ``rotate_bytes`` by more than one line (a new file starts before a line that
    would cross the bound); rotated files are ``PATH.1`` (the newest), ``PATH.2``... A file left with a
    partial last line (the writer was killed mid-write) is cut back to its last whole line when opened.
    """

    name = "file"
    limits = BatchLimits(max_events=10_000, max_bytes=4 * 1024 * 1024, max_age=1.0)

    def __init__(self, path: str, rotate_bytes: int = 0) -> None:
        self.path = Path(path)
        self.rotate_bytes = rotate_bytes
        self._handle: BinaryIO | None = None
        self._size = 0
        self.repaired = 0  # bytes of a partial last line cut when the file was opened
        self._reopen = False

    def open(self) -> None:
        self._open()

    def reopen(self) -> None:
        self._reopen = True

    def _open(self) -> BinaryIO:
        if self._reopen:  # SIGHUP: a file moved away (logrotate) is left behind, PATH is opened anew
            self._reopen = False
            self.close()
        if self._handle is None:
            self.repaired += repair_partial_line(self.path)
            self._handle = open(self.path, "ab")
            self._size = self._handle.tell()
        return self._handle

    def encode_item(self, record: Record, origin: str, index: int, ticket: Any) -> Item:
        return Item(encode_line(record), ticket)

    def send(self, items: Sequence[Item]) -> Outcome:
        start: int | None = None  # the size of the file being written when this batch's rows began in it
        kept = 0  # rows of the batch in a file rotated away meanwhile: flushed and synced, delivered
        try:
            handle = self._open()
            start = self._size
            limit = self.rotate_bytes
            if not limit:
                body = b"".join(item.data for item in items)
                handle.write(body)
                self._size += len(body)
            else:
                for number, item in enumerate(items):
                    if self._size and self._size + len(item.data) > limit:
                        self._rotate()
                        kept, start = number, 0
                        handle = self._open()
                    handle.write(item.data)
                    self._size += len(item.data)
            handle.flush()
            os.fsync(handle.fileno())
        except OSError as exc:
            self._discard_from(start)
            reason = f"{self.path}: {exc.strerror or exc}"
            if kept:
                return RetryPartial(tuple(items[kept:]), reason)
            return Retry(reason)
        return Delivered()

    def _discard_from(self, start: int | None) -> None:
        """After a failed write, cut the file back to *start*, where the batch's rows began (else to its
        last whole line), so that sending them again adds neither a duplicate nor a half row."""
        if self._handle is not None:
            try:
                self._handle.close()  # what it still buffers is dropped with it (the batch is sent again)
            except OSError:
                pass
            self._handle = None
        try:
            if start is not None and self.path.stat().st_size >= start:
                os.truncate(self.path, start)
            else:
                repair_partial_line(self.path)
        except OSError:
            pass

    def rotated_paths(self) -> list[Path]:
        """Rotated files, newest first (``PATH.1``, ``PATH.2``...)."""
        pattern = re.compile(re.escape(self.path.name) + r"\.(\d+)$")
        found = []
        for candidate in self.path.parent.glob(self.path.name + ".*"):
            match = pattern.match(candidate.name)
            if match:
                found.append((int(match.group(1)), candidate))
        return [p for _, p in sorted(found)]

    def _rotate(self) -> None:
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None
        for older in reversed(self.rotated_paths()):  # PATH.2 -> PATH.3, PATH.1 -> PATH.2 ...
            number = int(older.name.rsplit(".", 1)[1])
            os.replace(older, older.with_name(f"{self.path.name}.{number + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._size = 0

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def repair_partial_line(path: Path) -> int:
    """Cut *path* back to just after its last newline (a write killed mid-line); returns the bytes cut."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return 0
    if size == 0:
        return 0
    with open(path, "rb+") as handle:
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return 0
        end = size
        while end > 0:
            start = max(0, end - 65536)
            handle.seek(start)
            chunk = handle.read(end - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                keep = start + cut + 1
                handle.truncate(keep)
                return size - keep
            end = start
        handle.truncate(0)
        return size
