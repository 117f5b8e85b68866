"""Checkpoints tied to acknowledgement: a line counts as done only when all its events are resolved.

The reader opens one :class:`LineTicket` per input line with the number of events the line produced;
the sender resolves events as the sink confirms them (or dead-letters them). The :class:`Ledger`
advances, per input file, to the ``next_offset`` of the longest prefix of lines that are all done; a
line with an event given up on blocks the prefix for the rest of the run, so a restart sends it again.
:class:`Checkpoint` stores the offsets keyed by file identity (device + inode, and a hash of the first
line against a reused inode), written atomically; a compressed file read to its end is marked done
(with its size on disk) so a later run skips it without decompressing it. This one format serves
``ship`` and the Splunk modular input.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from esalog.errors import ConfigError
from esalog.sources.files import FileId

FORMAT_VERSION = 2


@dataclass(frozen=True, slots=True)
class Entry:
    """How far one file was delivered."""

    path: str
    key: str
    offset: int
    done: bool = False  # a compressed file read to its end (or to its damage): nothing more will come
    size: int | None = None  # its size on disk then (a different size means a different file)

    def as_dict(self, file_id: FileId) -> dict[str, object]:
        """The entry of the file *file_id* as the checkpoint file holds it."""
        out: dict[str, object] = {"dev": file_id[0], "ino": file_id[1], "key": self.key, "path": self.path,
                                  "offset": self.offset}
        if self.done:
            out["done"] = True
            out["size"] = self.size
        return out


class LineTicket:
    """One input line in flight: events it produced, events resolved, whether any failed."""

    __slots__ = ("done_size", "emitted", "failed", "file_id", "key", "line", "next_offset", "path", "resolved")

    def __init__(self, file_id: FileId | None, key: str, path: str, next_offset: int, emitted: int,
                 done_size: int | None = None) -> None:
        self.file_id = file_id  # None for pipes and end-of-input summaries: nothing to checkpoint
        self.key = key  # hash of the file's first line: guards against a reused inode
        self.path = path
        self.next_offset = next_offset
        self.emitted = emitted  # set by the reader before any event is submitted
        self.resolved = 0  # written by the sender only
        self.failed = False
        self.done_size = done_size  # the last line of a compressed file: its size on disk
        self.line: bytes | None = None  # the line as read, where a dead letter may need it (its replay source)


class Ledger:
    """Lines in input order; ``committed`` holds the safe resume offset per file."""

    def __init__(self) -> None:
        self._lines: deque[LineTicket] = deque()
        self._lock = threading.Lock()
        self.committed: dict[FileId, Entry] = {}
        self.version = 0  # bumped whenever committed changes
        self.blocked = False  # an event was given up on: the offsets stop here for this run

    def open_line(
        self, file_id: FileId | None, key: str, path: str, next_offset: int, emitted: int,
        done_size: int | None = None,
    ) -> LineTicket:
        """Register a line and the number of events it produced (reader side)."""
        ticket = LineTicket(file_id, key, path, next_offset, emitted, done_size)
        if not self.blocked:
            self._lines.append(ticket)
        return ticket

    def open_lines(self, file_id: FileId | None, key: str, path: str, next_offsets: Sequence[int],
                   emitted: Sequence[int], done_size: int | None = None) -> list[LineTicket]:
        """:meth:`open_line` for consecutive lines of one file (*done_size*: the last one's), in one call."""
        tickets = [LineTicket(file_id, key, path, offset, count)
                   for offset, count in zip(next_offsets, emitted, strict=True)]
        if tickets:
            tickets[-1].done_size = done_size
        if not self.blocked:
            self._lines.extend(tickets)
        return tickets

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
            done: dict[FileId, LineTicket] = {}  # per file, the last line done now (one Entry per file)
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
                    done[head.file_id] = head
            for file_id, last in done.items():
                self.committed[file_id] = Entry(last.path, last.key, last.next_offset, last.done_size is not None,
                                                last.done_size)
            if done:
                self.version += 1

    def snapshot(self) -> dict[FileId, Entry]:
        """A copy of the committed offsets, taken under the lock (the sender threads move them)."""
        with self._lock:
            return dict(self.committed)


class Checkpoint:
    """A JSON file: ``{"version": 2, "files": [{"dev", "ino", "key", "path", "offset", "done"?, "size"?}],
    "tracker"?: "NAME.state-….json"}``, the tracker state in its own file beside it
    (``{"offsets": [{"dev", "ino", "offset"}], "state": {...}}``, written only when it changes).

    ``tracker`` is the session tracker's state after the lines up to its ``offsets`` (see
    :mod:`esalog.tracking.persist`). It is written only once every file's delivered offset has reached
    those offsets, so on resume the lines between them and the delivered offsets are read again through
    the tracker without being handed on (the *replay*), and correlation goes on as if never stopped.
    """

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.entries: dict[FileId, Entry] = {}
        self.state: dict[str, Any] | None = None  # the tracker state loaded (or last written)
        self.state_offsets: dict[FileId, int] = {}
        self._offered: tuple[dict[str, Any], dict[FileId, int]] | None = None
        self._state_file: str | None = None  # the file holding the written state
        self._state_serial = 0
        self._written_version = -1
        # re-entrant: a second Ctrl-C saves from the signal handler, which may interrupt this very thread
        # inside a save (it then exits at once, so the interrupted save never resumes)
        self._lock = threading.RLock()
        self._claim: int | None = None  # the descriptor of the lock file while this process holds it

    def claim(self) -> Checkpoint:
        """Hold the checkpoint for this process: an advisory lock on ``.NAME.lock`` beside it, which the
        system releases when the process ends, even killed with -9. A second run given the same checkpoint
        is refused (ConfigError naming the holder): both would send every line, and each would replace the
        other's offsets and delete its tracker state."""
        lock = self.path.with_name(f".{self.path.name}.lock")
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise ConfigError(f"checkpoint {self.path}: cannot create its lock {lock}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            raise ConfigError(
                f"checkpoint {self.path} is in use by another esalog run"
                + (f" (pid {holder})" if holder.isdigit() else "")
                + ": two runs with one checkpoint would both send every line; stop the other run, or give "
                  "each its own --checkpoint") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._claim = fd  # held open (and locked) until the process ends
        return self

    def load(self) -> Checkpoint:
        """Read the file if it exists; a malformed file is a configuration error (never ignored: the
        offsets in it may still be wanted, and without them every file would be sent again)."""
        if not self.path.exists():
            return self
        start_over = f"; to start over (every file is then read from its start), move {self.path} away"
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"checkpoint {self.path} is not readable: {exc.strerror or exc}") from None
        if not raw.strip():
            raise ConfigError(f"checkpoint {self.path} is empty (esalog never writes an empty one){start_over}")
        try:
            data = json.loads(raw)
        except ValueError as exc:  # UnicodeDecodeError included
            raise ConfigError(f"checkpoint {self.path} is not JSON ({exc}){start_over}") from None
        try:
            for item in data["files"]:
                self.entries[(int(item["dev"]), int(item["ino"]))] = Entry(
                    str(item["path"]), str(item["key"]), _byte_count(item, "offset"), bool(item.get("done", False)),
                    _byte_count(item, "size") if item.get("size") is not None else None)
            tracker = data.get("tracker")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"checkpoint {self.path} is not an esalog checkpoint (a 'files' list of "
                              f"{{dev, ino, path, key, offset}} entries; {type(exc).__name__}: {exc})"
                              f"{start_over}") from None
        if tracker is not None:  # the tracker state's own file, beside the checkpoint
            state_path = self.path.with_name(Path(str(tracker)).name)
            try:
                saved = json.loads(state_path.read_bytes())
                self.state = saved["state"]
                self.state_offsets = {(int(i["dev"]), int(i["ino"])): int(i["offset"]) for i in saved["offsets"]}
            except (ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
                why = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
                raise ConfigError(f"checkpoint {self.path}: its tracker state {state_path} is not readable "
                                  f"({why}){start_over}") from None
            self._state_file = Path(str(tracker)).name
        return self

    def resume(self, file_id: FileId, key: str, size: int, compressed: bool) -> tuple[int, bool]:
        """Where to resume a file and whether it is done: (0, False) if unknown, if its first line differs
        or if it shrank; a compressed file marked done is done while its size on disk is the same."""
        entry = self.entries.get(file_id)
        if entry is None or entry.key != key:
            return 0, False
        if compressed:
            return entry.offset, entry.done and entry.size == size
        if entry.offset > size:
            return 0, False
        return entry.offset, False

    def replay_from(self, file_id: FileId) -> int | None:
        """Where the saved tracker state stops in *file_id* (lines after it up to the delivered offset are
        read again through the tracker, not handed on); None when the state says nothing of the file."""
        return self.state_offsets.get(file_id) if self.state is not None else None

    def track_state(self) -> dict[str, Any] | None:
        """A tracker will run with this checkpoint: its saved state (None when there is none yet, which is
        the state at the start of every file: delivered lines are then read again from the start)."""
        saved = self.state
        if saved is None:
            self.state, self.state_offsets = {}, {}
            return None
        return saved

    @property
    def wants_state(self) -> bool:
        """Whether a new state would be taken: not while an offered one waits for its lines' delivery
        (a newer offer would starve it when delivery lags)."""
        return self._offered is None

    def offer_state(self, state: dict[str, Any], offsets: dict[FileId, int]) -> None:
        """The tracker state after the lines read up to *offsets*: written with the first save at which
        every one of those offsets is delivered."""
        with self._lock:
            self._offered = (state, dict(offsets))

    def _promote(self) -> bool:
        """Make the offered state the one written, once the delivered offsets have reached it."""
        offered = self._offered
        if offered is None:
            return False
        state, offsets = offered
        for file_id, offset in offsets.items():
            entry = self.entries.get(file_id)
            if entry is None or entry.offset < offset:
                return False
        self.state, self.state_offsets, self._offered = state, offsets, None
        return True

    def advance(self, file_id: FileId, path: str, key: str, offset: int, done_size: int | None = None) -> None:
        """Record that *file_id* was delivered up to *offset* (for readers that confirm themselves)."""
        with self._lock:
            self.entries[file_id] = Entry(path, key, offset, done_size is not None, done_size)

    def register(self, file_id: FileId, path: str, key: str) -> bool:
        """Record a file seen for the first time at offset 0 (``--follow``); False when already known."""
        with self._lock:
            entry = self.entries.get(file_id)
            if entry is not None and entry.key == key:
                return False
            self.entries[file_id] = Entry(path, key, 0)
            return True

    def forget_missing(self) -> int:
        """Drop the entries of files that exist no more (none in their directory has that identity)."""
        by_dir: dict[str, set[FileId]] = {}
        gone = []
        for file_id, entry in self.entries.items():
            directory = os.path.dirname(entry.path) or "."
            ids = by_dir.get(directory)
            if ids is None:
                ids = by_dir[directory] = _identities(directory)
            if file_id not in ids:
                gone.append(file_id)
        for file_id in gone:
            del self.entries[file_id]
        return len(gone)

    def save(self, ledger: Ledger | None = None, force: bool = False) -> bool:
        """Merge the ledger's committed offsets and write atomically (tmp, fsync, rename, fsync dir)."""
        with self._lock:
            version = ledger.version if ledger is not None else self._written_version + 1
            if not force and version == self._written_version:
                return False
            if ledger is not None:
                self.entries.update(ledger.snapshot())
            if self._promote():  # a new tracker state: its own file first, the checkpoint then names it
                self._state_serial += 1
                self._state_file = f"{self.path.name}.state-{os.getpid()}-{self._state_serial}.json"
                _write_atomically(self.path.with_name(self._state_file),
                                  json.dumps({"offsets": [{"dev": d, "ino": i, "offset": o}
                                                          for (d, i), o in sorted(self.state_offsets.items())],
                                              "state": self.state}, separators=(",", ":")).encode())
            files = [entry.as_dict(file_id) for file_id, entry in sorted(self.entries.items())]
            document: dict[str, Any] = {"version": FORMAT_VERSION, "files": files}
            if self.state and self._state_file:
                document["tracker"] = self._state_file
            # stdlib json: the Splunk app, which reads checkpoints too, has no orjson
            _write_atomically(self.path, json.dumps(document, indent=1).encode())
            self._drop_old_states()
            self._written_version = version
            return True

    def _drop_old_states(self) -> None:
        """Remove the state files the checkpoint no longer names (earlier saves, earlier runs)."""
        for old in self.path.parent.glob(f"{self.path.name}.state-*.json"):
            if old.name != self._state_file:
                try:
                    old.unlink()
                except OSError:
                    pass


def _write_atomically(path: Path, data: bytes) -> None:
    """Write *path* so that a crash leaves the old or the new content, never a mix (tmp, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _identities(directory: str) -> set[FileId]:
    """The identities of the files in *directory* (empty when it cannot be read)."""
    found: set[FileId] = set()
    try:
        with os.scandir(directory) as entries:
            for item in entries:
                try:
                    stat = item.stat()
                except OSError:
                    continue
                found.add((stat.st_dev, stat.st_ino))
    except OSError:
        pass
    return found


class CheckpointWriter:
    """Saves the checkpoint from the sender threads after every acknowledged batch that moved it (at most
    every *interval* seconds; 0: every time), so a kill -9 resends at most the batches in flight.

    A write error (disk full, permissions changed) never stops delivery: it is warned about once per
    distinct error and kept in ``error``; the next save tries again.
    """

    def __init__(self, checkpoint: Checkpoint, ledger: Ledger, interval: float, clock: Callable[[], float],
                 warn: Callable[[str], None] | None = None) -> None:
        self.checkpoint = checkpoint
        self.ledger = ledger
        self.interval = interval
        self._clock = clock
        self._next = 0.0
        self._warn = warn
        self.error: str | None = None
        self._error_lock = threading.Lock()

    def __call__(self) -> None:
        now = self._clock()
        if now >= self._next:
            self._next = now + self.interval
            self.save()

    def save_now(self) -> None:
        """Save now, whatever the interval (a file newly recorded)."""
        self.save(force=True)

    def save(self, force: bool = False) -> bool:
        """Save now; False (and ``error`` set) when it could not be written."""
        try:
            self.checkpoint.save(self.ledger, force=force)
        except OSError as exc:
            error = f"cannot write the checkpoint {self.checkpoint.path}: {exc.strerror or exc}"
            with self._error_lock:  # several senders may fail at once: one warning
                new = error != self.error
                self.error = error
            if new and self._warn is not None:
                self._warn(error + "; delivery goes on, the next save tries again")
            return False
        self.error = None
        return True


def _byte_count(item: dict[str, object], key: str) -> int:
    """*item*'s *key*, a byte count as esalog writes it (an integer, not negative); ValueError otherwise."""
    value = item[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{key}: expected a byte count (an integer from 0), got {value!r}")
    return value
