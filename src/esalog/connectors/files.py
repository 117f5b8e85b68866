"""The reference sinks: NDJSON on stdout, and NDJSON files with rotation by size."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from esalog.connectors.base import Delivered, Outcome, Retry, Sink, Stop
from esalog.connectors.batch import BatchLimits, Item
from esalog.encode import encode_line


class StdoutSink(Sink):
    """One JSON line per event on stdout; a batch is acknowledged once written and flushed."""

    name = "stdout"
    limits = BatchLimits(max_events=1000, max_bytes=256 * 1024, max_age=0.2)

    def __init__(self, out: BinaryIO | None = None) -> None:
        self.out = out or sys.stdout.buffer

    def encode_item(self, event: dict[str, Any], origin: str, index: int, ticket: Any) -> Item:
        return Item(encode_line(event), ticket)

    def send(self, items: Sequence[Item]) -> Outcome:
        try:
            self.out.write(b"".join(item.data for item in items))
            self.out.flush()
        except BrokenPipeError:
            return Stop("stdout was closed by the reader")
        except OSError as exc:
            return Retry(f"stdout: {exc}")
        return Delivered()


class FileSink(Sink):
    """NDJSON appended to *path*, fsync'd per batch, rotated to ``PATH.N`` at ``rotate_bytes``."""

    name = "file"
    limits = BatchLimits(max_events=10_000, max_bytes=4 * 1024 * 1024, max_age=1.0)

    def __init__(self, path: str, rotate_bytes: int = 0) -> None:
        self.path = Path(path)
        self.rotate_bytes = rotate_bytes
        self._handle: BinaryIO | None = None
        self._size = 0

    def open(self) -> None:
        self._open()

    def _open(self) -> BinaryIO:
        if self._handle is None:
            self._handle = open(self.path, "ab")
            self._size = self._handle.tell()
        return self._handle

    def encode_item(self, event: dict[str, Any], origin: str, index: int, ticket: Any) -> Item:
        return Item(encode_line(event), ticket)

    def send(self, items: Sequence[Item]) -> Outcome:
        body = b"".join(item.data for item in items)
        try:
            if self.rotate_bytes and self._size and self._size + len(body) > self.rotate_bytes:
                self._rotate()
            handle = self._open()
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        except OSError as exc:
            self._discard_partial()
            return Retry(f"{self.path}: {exc.strerror or exc}")
        self._size += len(body)
        return Delivered()

    def _discard_partial(self) -> None:
        """After a failed write, cut the file back to the last whole batch so a retry adds no half line."""
        if self._handle is not None:
            try:
                self._handle.close()
                os.truncate(self.path, self._size)
            except OSError:
                pass
            self._handle = None

    def rotated_paths(self) -> list[Path]:
        """Rotated files, oldest first."""
        pattern = re.compile(re.escape(self.path.name) + r"\.(\d+)$")
        found = []
        for candidate in self.path.parent.glob(self.path.name + ".*"):
            match = pattern.match(candidate.name)
            if match:
                found.append((int(match.group(1)), candidate))
        return [p for _, p in sorted(found)]

    def _rotate(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        existing = self.rotated_paths()
        number = int(existing[-1].name.rsplit(".", 1)[1]) + 1 if existing else 1
        os.replace(self.path, self.path.with_name(f"{self.path.name}.{number}"))
        self._size = 0

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
