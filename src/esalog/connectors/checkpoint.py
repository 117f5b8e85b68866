"""Checkpoints tied to acknowledgement: a line counts as done only when all its events are resolved.

The reader opens one :class:`LineTicket` per input line with the number of events the line produced;
the sender resolves events as the sink confirms them (or dead-letters them). The :class:`Ledger`
advances, per input file, to the ``next_offset`` of the longest prefix of lines that are all done; a
line with an event given up on blocks the prefix for the rest of the run, so a restart sends it again.
:class:`Checkpoint` stores the offsets keyed by file identity (device + inode), written atomically.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from esalog.errors import ConfigError

FileId = tuple[int, int]  # (st_dev, st_ino)


class LineTicket:
    """One input line in flight: events it produced, events resolved, whether any failed."""

    __slots__ = ("emitted", "failed", "file_id", "key", "next_offset", "path", "resolved")

    def __init__(self, file_id: FileId | None, key: str, path: str, next_offset: int, emitted: int) -> None:
        self.file_id = file_id  # None for pipes and end-of-input summaries: nothing to checkpoint
        self.key = key  # hash of the file's first line: guards against a reused inode
        self.path = path
        self.next_offset = next_offset
        self.emitted = emitted  # set by the reader before any event is submitted
        self.resolved = 0  # written by the sender only
        self.failed = False


class Ledger:
    """Lines in input order; ``committed`` holds the safe resume offset per file."""

    def __init__(self) -> None:
        self._lines: deque[LineTicket] = deque()
        self._lock = threading.Lock()
        self.committed: dict[FileId, tuple[str, str, int]] = {}  # file id -> (path, key, offset)
        self.version = 0  # bumped whenever committed changes
        self.blocked = False  # an event was given up on: the offsets stop here for this run

    def open_line(
        self, file_id: FileId | None, key: str, path: str, next_offset: int, emitted: int
    ) -> LineTicket:
        """Register a line and the number of events it produced (reader side)."""
        ticket = LineTicket(file_id, key, path, next_offset, emitted)
        if not self.blocked:
            self._lines.append(ticket)
        return ticket

    def resolve(self, items: Sequence[Any], ok: bool) -> None:
        """Mark the events of *items* resolved (sender side) and advance the committed offsets."""
        with self._lock:
            for item in items:
                ticket = item.ticket
                if ticket is not None:
                    ticket.resolved += 1
                    if not ok:
                        ticket.failed = True
            lines = self._lines
            changed = False
            while lines:
                head = lines[0]
                if head.failed:
                    self.blocked = True  # nothing after it may be committed: stop tracking (bounded memory)
                    lines.clear()
                    break
                if head.resolved < head.emitted:
                    break
                lines.popleft()
                if head.file_id is not None:
                    self.committed[head.file_id] = (head.path, head.key, head.next_offset)
                    changed = True
            if changed:
                self.version += 1

    def snapshot(self) -> dict[FileId, tuple[str, str, int]]:
        with self._lock:
            return dict(self.committed)


class Checkpoint:
    """A JSON file: ``{"version": 1, "files": [{"dev", "ino", "key", "path", "offset"}, ...]}``."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.offsets: dict[FileId, tuple[str, str, int]] = {}
        self._written_version = -1
        self._lock = threading.Lock()

    def load(self) -> Checkpoint:
        """Read the file if it exists; a malformed file is a configuration error (never ignored)."""
        if not self.path.exists():
            return self
        try:
            data = orjson.loads(self.path.read_bytes())
            for entry in data["files"]:
                self.offsets[(int(entry["dev"]), int(entry["ino"]))] = (
                    str(entry["path"]),
                    str(entry["key"]),
                    int(entry["offset"]),
                )
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"checkpoint {self.path} is not readable: {exc}") from exc
        return self

    def offset_for(self, file_id: FileId, size: int, key: str) -> int:
        """Where to resume in this file (0 if unknown, if its first line differs or if it shrank)."""
        entry = self.offsets.get(file_id)
        if entry is None or entry[1] != key or entry[2] > size:
            return 0
        return entry[2]

    def save(self, ledger: Ledger, force: bool = False) -> bool:
        """Merge the ledger's committed offsets and write atomically (tmp, fsync, rename, fsync dir)."""
        with self._lock:
            if not force and ledger.version == self._written_version:
                return False
            version = ledger.version
            self.offsets.update(ledger.snapshot())
            files = [
                {"dev": dev, "ino": ino, "key": key, "path": path, "offset": offset}
                for (dev, ino), (path, key, offset) in sorted(self.offsets.items())
            ]
            data = orjson.dumps({"version": 1, "files": files}, option=orjson.OPT_INDENT_2)
            tmp = self.path.with_name(f".{self.path.name}.tmp")
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            self._written_version = version
            return True


class CheckpointWriter:
    """Saves the checkpoint from the sender thread at most every *interval* seconds."""

    def __init__(self, checkpoint: Checkpoint, ledger: Ledger, interval: float, clock: Any) -> None:
        self.checkpoint = checkpoint
        self.ledger = ledger
        self.interval = interval
        self._clock = clock
        self._next = 0.0

    def __call__(self) -> None:
        now = self._clock()
        if now >= self._next:
            self._next = now + self.interval
            self.checkpoint.save(self.ledger)
