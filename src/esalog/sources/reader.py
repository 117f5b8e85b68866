"""The one file source: paths, globs or stdin (plain or gzip), read once or followed like ``tail -F``.

Blocks of lines are parsed through the pipeline and handed on as :class:`Batch` es that say where each
line sits, so a checkpoint can resume after it and sinks can derive deterministic ids. Files are known
by identity (device + inode, and a hash of the first line): ESA's rotation (``mail.current`` renamed to
``mail.@<stamp>.s``, ``.c`` renamed to ``.s``) keeps reading the renamed file to its end, then the new
one from its first byte, so no line is read twice and none is skipped — also when the rotation
happened while esalog was stopped: a checkpointed file is found under its new name in its directory.
On resume the first lines of a file (its header: time offset, version, serial number) are parsed again
without being handed on, so later lines are read with the right clock and appliance.
"""

from __future__ import annotations

import glob
import os
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from esalog.digest import hex_digest
from esalog.errors import ConfigError, warn
from esalog.parsers.parser import Settled, Stream
from esalog.parsers.record import Record
from esalog.pipeline import Pipeline
from esalog.settings import at_least, number, positive, setting, validate
from esalog.sources.checkpoint import Checkpoint
from esalog.sources.files import (
    READ_ERRORS,
    FileId,
    InputFile,
    expand_paths,
    has_glob,
    identify,
    input_name,
    open_input,
    shrunk_below,
    truncated_text,
    unreadable_text,
)
from esalog.sources.lines import Block, WaitMarkedReads, join_blocks, read_blocks
from esalog.sources.native import encode_native, records_native, records_staged

#: how much of a file's start is replayed through the parser on resume (header lines: time offset...)
HEADER_REPLAY_BYTES = 64 * 1024
#: how much the compiled core reads at once (it leaves no Python objects per line behind)
NATIVE_BLOCK_BYTES = 64 * 1024


@dataclass(frozen=True)
class SourceConfig:
    """What to read and how."""

    paths: tuple[str, ...] = ("-",)
    follow: bool = setting(
        False, flag="--follow",
        help="keep reading as files grow, across ESA rotation (.current -> .@stamp.s, .c -> .s); give the files "
             "or a glob matching the live file names; stop with SIGINT/SIGTERM")
    poll_interval: float = setting(0.5, flag="--poll-interval", metavar="S", parse=number, check=positive,
                                   help="--follow: seconds between looks (default 0.5)")
    checkpoint: str | None = setting(
        None, flag="--checkpoint", metavar="FILE",
        help="resume from and record here how far each file was delivered (device+inode, offset)")
    checkpoint_interval: float = setting(
        0.0, flag="--checkpoint-interval", metavar="S", parse=number, check=at_least(0),
        help="at most one checkpoint write per S seconds (default 0: after every acknowledged batch, so a "
             "crash resends only the batches in flight)")
    state_interval: float = setting(
        30.0, flag="--state-interval", metavar="S", parse=number, check=positive,
        help="with --checkpoint: seconds between saves of the session tracker's state, so that a restart "
             "goes on correlating the messages open at the stop (default 30)")

    def __post_init__(self) -> None:
        validate(self)
        if self.follow and "-" in self.paths:
            raise ConfigError("--follow needs files or globs, not stdin")


@dataclass(slots=True)
class Batch:
    """Consecutive lines of one input and their records."""

    input: InputFile
    records: list[Record]
    ends: list[int]  # per line: the index in records just after that line's records
    offsets: list[int]  # per line: the byte offset where it starts
    next_offset: int  # the byte offset after the last line
    texts: list[str]  # the lines themselves (empty when the compiled core read a file: stdin keeps them)
    first_number: int  # 1-based number of the first line in its input
    done_size: int | None = None  # the last batch of a compressed file read to its end: its size on disk
    #: the lines' events already encoded by the compiled core (``Source(encoded=True)``); then ``records``,
    #: ``ends``, ``offsets`` and ``texts`` are empty
    ndjson: bytes | None = None
    replay_until: int = 0  # lines ending at or before this offset were delivered before: read for state only
    raws: list[bytes] = field(default_factory=list)  # per line: its bytes as read (the dead letter keeps them)

    def next_offsets(self) -> list[int]:
        """Per line: the byte offset just after it."""
        return [*self.offsets[1:], self.next_offset] if self.offsets else []

    def replayed(self, next_offsets: list[int]) -> int:
        """How many of the first lines were delivered before a restart (*next_offsets*: :meth:`next_offsets`)."""
        return bisect_right(next_offsets, self.replay_until) if self.replay_until else 0

    def lines(self) -> Iterator[BatchLine]:
        """Each line of the batch with its records and where it sits."""
        records, ends, offsets = self.records, self.ends, self.offsets
        first = 0
        for index, next_offset in enumerate(self.next_offsets()):
            end = ends[index]
            yield BatchLine(records[first:end], offsets[index], next_offset, next_offset <= self.replay_until)
            first = end


@dataclass(slots=True)
class BatchLine:
    """One line of a :class:`Batch` (not frozen: one per input line, and a frozen one costs four times as
    much to make)."""

    records: list[Record]
    offset: int
    next_offset: int
    replayed: bool  # delivered before a restart: read again for the tracker's state only


@dataclass(slots=True)
class Part:
    """A span of a plain file read on its own (``parse --workers``): the lines that start from ``start`` up
    to ``end``, and past it while the file's header lasts.

    ``settled`` is how the lines before it left the stream (:meth:`Stream.settled`), when known; else the
    file's header is read again, and ``guessed`` says what that gave. Reading it sets ``first`` (where its
    first line starts), ``next_offset`` (just after its last line) and ``settled_after``.
    """

    path: str
    start: int
    end: int
    settled: Settled | None = None
    guessed: Settled | None = None
    first: int = 0
    next_offset: int = 0
    settled_after: Settled | None = None
    cut_before: bool = False  # read again after the part before it ended short of it (the file was cut)


class Source:
    """Turns paths into batches of parsed lines; ``stop`` ends reading at the next batch boundary.

    Where the pipeline has the compiled core, it may read the lines: with *encoded* (the caller wants
    NDJSON only, read once) batches carry ``ndjson`` instead of records; with *encoded_records* (the
    caller only sends events on, as ``ship`` does) the core's lines become records of their encoded event
    (:meth:`Record.of_encoded`: no fields to read). Otherwise the pipeline's ``record_core``, where it has
    one, makes the records of the lines for its stages.
    """

    def __init__(self, pipeline: Pipeline, config: SourceConfig, *, checkpoint: Checkpoint | None = None,
                 idle: Callable[[], None] | None = None, seen: Callable[[], None] | None = None,
                 encoded: bool = False, encoded_records: bool = False, expanded: bool = False) -> None:
        self.pipeline = pipeline
        self.config = config
        self.native = encoded and pipeline.core is not None and not config.follow
        self.core = self.native or (encoded_records and pipeline.core is not None)
        self.record_core = not self.core and pipeline.record_core is not None
        self.checkpoint = checkpoint
        self.idle = idle or (lambda: None)
        #: --follow: called after a file new to the checkpoint was recorded in it (at offset 0), so the
        #: caller saves it at once: renamed by a rotation while esalog is down, it is still found
        self.seen = seen or (lambda: None)
        self._unopened: dict[FileId, str] = {}  # --follow: files seen that could not be opened, and why
        self._blind: str | None = None  # --follow: why the last look could not see every file
        self.stop = False
        #: the paths are files already found and checked (a --workers worker's): read as they are, one
        #: gone since is skipped like any that cannot be opened
        self.expanded = expanded
        self.waiting = False  # True while blocked on input (a signal may interrupt then)
        self.damaged: list[str] = []  # what could not be read (each also an error record)
        self.positions: dict[FileId, int] = {}  # how far each file was read (for tracker-state snapshots)

    def batches(self) -> Iterator[Batch]:
        """Every line of every input, in order (follow: until ``stop``)."""
        if self.config.follow:
            yield from self._follow()
            return
        for path in self.config.paths if self.expanded else expand_paths(self.config.paths):
            if self.stop:
                return
            yield from self._read_once(path)

    # ------------------------------------------------------------------------------------- one pass

    def mark_waiting(self, waiting: bool) -> None:
        """Whether a read of the input under way waits for its writer (see ``waiting``)."""
        self.waiting = waiting

    def _read_once(self, path: str) -> Iterator[Batch]:
        self.waiting = True  # a named pipe's open waits for its writer (and the gzip check for its first bytes)
        try:
            handle, compressed = open_input(path)
        except OSError as exc:
            if path == "-":  # stdin closed (<&-): nothing was checked before, a usage error
                raise ConfigError(f"cannot read {path!r}: {exc.strerror or exc}") from None
            # gone, or unreadable, since the paths were checked at the start: the others are read
            self.damaged.append(f"cannot read {path!r}: {exc.strerror or exc}; skipped")
            return
        finally:
            self.waiting = False
        try:
            source = identify(path, handle, compressed)
            stream = self.pipeline.open_stream(source.name)
            start = 0
            on_disk = os.stat(path).st_size if path != "-" else 0
            replay_until = 0
            if self.checkpoint is not None and source.file_id is not None:
                start, done = self.checkpoint.resume(source.file_id, source.key, on_disk, compressed)
                replay = self._replay_from(source.file_id, start)
                if done and replay is None:
                    return
                if replay is not None:
                    start, replay_until = replay, start
                if start:
                    self._replay_header(handle, stream, start)
                    _skip_to(handle, start, compressed)
            # stdin and named pipes wait for their writer: a signal may end the wait (see Source.waiting)
            piped = path == "-" or source.file_id is None
            reading: BinaryIO = WaitMarkedReads(handle, self.mark_waiting) if piped else handle  # type: ignore[assignment]
            held: Batch | None = None  # a compressed file's batches are held back one: the last says "done"
            blocks: Iterator[Block] = read_blocks(reading, start_offset=start,
                                                  decode=not (self.core or self.record_core) or source.is_stdin)
            if self.core and not source.is_stdin:  # the same blocks as the Python path, read a few at a time
                blocks = _grouped(blocks, stream)
            reached, following = start, 1  # the offset and the number of the line after the last read
            for block in blocks:
                batch = self._batch(source, stream, block)
                batch.replay_until = replay_until
                reached, following = block.next_offset, block.first_number + len(block.raws)
                if not compressed:
                    yield batch
                elif held is not None:
                    yield held
                held = batch if compressed else None
                if self.stop:
                    return
            if not compressed and (size := shrunk_below(handle, reached)) is not None:
                yield self._truncated(source, stream, reached, following, size)
            if held is not None:
                if path != "-":
                    held.done_size = on_disk
                yield held
        finally:
            if path != "-":
                handle.close()

    def read_part(self, part: Part, streams: dict[str, Stream]) -> Iterator[Batch]:
        """The batches of the lines of *part* (see :class:`Part`), read as if the lines before it had been.

        *streams* keeps, per file, the stream as this reader's last part of it left it: a later part of the
        same file goes on with it (its state is the guess; the stream's caches stay warm).
        """
        try:
            handle, compressed = open_input(part.path)
        except OSError as exc:  # gone, or unreadable, since the paths were checked: the others are read
            self.damaged.append(f"cannot read {part.path!r}: {exc.strerror or exc}; skipped")
            return
        try:
            source = identify(part.path, handle, compressed)
            start = part.start
            stream = streams.get(part.path) if start and part.settled is None else None
            if stream is None:
                stream = streams[part.path] = self.pipeline.open_stream(source.name)
                if start and part.settled is not None:
                    stream.settle(part.settled)
                elif start:
                    self._replay_header(handle, stream, start, until_settled=True)
            if start:
                if part.settled is None:
                    part.guessed = stream.settled()
                if (size := shrunk_below(handle, start)) is not None:  # cut shorter than where the part starts
                    part.first = part.next_offset = start
                    if not part.cut_before:  # (else the part before it, which ended at the cut, said so)
                        yield self._truncated(source, stream, start, 0, size)
                    part.settled_after = stream.settled()
                    return
                start = _line_start(handle, start)
            handle.seek(start)
            part.first = part.next_offset = start
            blocks: Iterator[Block] = read_blocks(handle, start_offset=start,
                                                  decode=not (self.core or self.record_core))
            if self.core:
                blocks = _grouped(blocks, stream)
            for block in blocks:
                if stream.early is None and block.damage is None:
                    if block.offset >= part.end:
                        break
                    if block.next_offset > part.end:
                        block = _lines_before(block, part.end)
                yield self._batch(source, stream, block)
                part.next_offset = block.next_offset
                if self.stop:
                    break
            if not compressed and part.next_offset < part.end and \
                    (size := shrunk_below(handle, part.next_offset)) is not None:
                yield self._truncated(source, stream, part.next_offset, 0, size)
            part.settled_after = stream.settled()
        finally:
            handle.close()

    def _replay_from(self, file_id: FileId, start: int) -> int | None:
        """Where to start reading *file_id* for the saved tracker state when it stops before *start*."""
        checkpoint = self.checkpoint
        if checkpoint is None or checkpoint.state is None:
            return None
        replay = checkpoint.replay_from(file_id)
        if replay is None:  # a file first read after the state was saved: all its delivered lines
            replay = 0 if file_id in checkpoint.entries else None
        return replay if replay is not None and replay < start else None

    def _batch(self, source: InputFile, stream: Stream, block: Block) -> Batch:
        if source.file_id is not None:
            self.positions[source.file_id] = block.next_offset
        if block.damage is not None:
            return self._damaged(source, stream, block)
        if self.native:
            return Batch(source, [], [], [], block.next_offset, [], block.first_number,
                         ndjson=encode_native(self.pipeline, block.raws, block.problems, stream))
        ends: list[int] = []
        if self.core:
            records, ends = records_native(self.pipeline, block.raws, block.problems, stream)
        elif self.record_core:
            records, ends = records_staged(self.pipeline, block.raws, block.problems, stream)
        else:
            records = self.pipeline.process_lines(block.texts, stream, block.problems, ends)
        return Batch(source, records, ends, block.offsets(), block.next_offset, block.texts, block.first_number,
                     raws=block.raws)

    def _damaged(self, source: InputFile, stream: Stream, block: Block) -> Batch:
        assert block.damage is not None
        why = unreadable_text(source.name, block.offset, block.damage, source.compressed)
        return self._gap(source, stream, block.offset, block.first_number, why)

    def _truncated(self, source: InputFile, stream: Stream, offset: int, number: int, size: int) -> Batch:
        """The event and the error of a file cut shorter than what was read of it while it was read."""
        return self._gap(source, stream, offset, number, truncated_text(source.name, size, offset))

    def _gap(self, source: InputFile, stream: Stream, offset: int, number: int, why: str) -> Batch:
        """A ``read_error`` event at *offset* of *source* saying *why* the rest of it is not there, which is
        also an error of the run."""
        self.damaged.append(why)
        record = self.pipeline.parser.error_record("", stream, "read_error", why)
        record.set("log.file.path", source.name)
        record.set("log.offset", offset)
        counters = self.pipeline.counters
        counters.errors += 1
        counters.events += 1
        return Batch(source, [record], [1], [offset], offset, [""], number)

    def _replay_header(self, handle: BinaryIO, stream: Stream, upto: int, *, until_settled: bool = False) -> None:
        """Parse (without handing on) the first lines before *upto*: the time offset and the appliance (with
        *until_settled*, only until the header is over)."""
        handle.seek(0)
        limit = min(upto, HEADER_REPLAY_BYTES)
        offset = 0
        for block in read_blocks(handle, block_bytes=min(limit, 64 * 1024)):
            for index, text in enumerate(block.texts):
                if offset >= limit or (until_settled and stream.early is None):
                    return
                self.pipeline.parser.parse(text, stream)
                offset += block.size(index)
            if offset >= limit or block.damage:
                return

    # --------------------------------------------------------------------------------------- follow

    def _follow(self) -> Iterator[Batch]:
        followed: dict[FileId, _Followed] = {}
        present = self._scan() or {}
        for file_id, path in self._rotated_while_stopped(present).items():
            self._open_into(followed, path, file_id)
        while not self.stop:
            scanned = self._scan()
            looked = scanned is not None
            # a directory that could not be listed now (out of descriptors, I/O error): no file is taken
            # for gone, none is opened; the open ones are read on
            present = scanned if scanned is not None else {}
            for file_id, path in present.items():
                if file_id not in followed:
                    self._open_into(followed, path, file_id)
                else:
                    followed[file_id].path = path
            got = False
            for file_id in sorted(followed, key=lambda f: followed[f].order):
                entry = followed[file_id]
                gone = looked and file_id not in present
                for batch in entry.read(final=gone):
                    got = True
                    yield batch
                    if self.stop:
                        return
                if gone or entry.broken:  # renamed away, deleted or unreadable: read to its end, done with it
                    entry.close()
                    del followed[file_id]
            if not got:
                self.idle()
                self.waiting = True
                try:
                    time.sleep(self.config.poll_interval)
                finally:
                    self.waiting = False
        for entry in followed.values():
            entry.close()

    def _scan(self) -> dict[FileId, str] | None:
        """Files matching the paths now, by identity (a missing literal path is fine: it may come back);
        None when this look could not see them all (a directory that cannot be listed now, a path that
        cannot be examined for another reason than its absence): nothing may be concluded from it."""
        present: dict[FileId, str] = {}
        for pattern in self.config.paths:
            if has_glob(pattern):
                problem = _unlistable(pattern)
                if problem is not None:
                    self._cannot_look(problem)
                    return None
                matches = sorted(glob.glob(pattern))
            else:
                matches = [pattern]
            for path in matches:
                try:
                    stat = os.stat(path)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    self._cannot_look(f"cannot examine {path!r}: {exc.strerror or exc}")
                    return None
                if os.path.isfile(path):
                    present.setdefault((stat.st_dev, stat.st_ino), path)
        self._blind = None
        return present

    def _cannot_look(self, problem: str) -> None:
        if problem != self._blind:
            self._blind = problem
            warn(f"{problem}; the files open are read on, nothing is taken for gone or opened until "
                 "it can be looked at again")

    def _rotated_while_stopped(self, present: dict[FileId, str]) -> dict[FileId, str]:
        """Checkpointed files no longer under a followed name, found by identity in their directory, and
        the files rotated after them that esalog never saw (down across several rotations).

        Their unread tails come first, in the order of their rotated names (ESA stamps them with the
        time: ``mail.@20261102T090000.s``), then the live files.
        """
        found: dict[FileId, str] = {}
        if self.checkpoint is None:
            return found
        known = self.checkpoint.entries
        listings: dict[str, list[tuple[str, FileId, int]]] = {}
        for file_id, entry in list(known.items()):
            if file_id in present or entry.done:
                continue
            directory = os.path.dirname(entry.path) or "."
            files = listings.get(directory)
            if files is None:
                files = listings[directory] = _listing(directory)
            for name, identity, size in files:
                if identity == file_id:
                    if size > entry.offset:
                        found[file_id] = os.path.join(directory, name)
                    # ESA's later rotations of the same log, never seen: read from their start
                    stem = _rotation_stem(name)
                    if stem is not None:
                        for other, other_id, _ in files:
                            if (other > name and _rotation_stem(other) == stem and other_id not in known
                                    and other_id not in present):
                                found.setdefault(other_id, os.path.join(directory, other))
                    break
        return dict(sorted(found.items(), key=lambda item: os.path.basename(item[1])))

    def _open_into(self, followed: dict[FileId, _Followed], path: str, file_id: FileId) -> None:
        """Follow *path* from now on; when it cannot be opened (out of descriptors, no permission, gone
        since the look), the others are followed on and it is tried again at the next look."""
        try:
            followed[file_id] = self._open_followed(path, file_id)
        except FileNotFoundError:
            return  # deleted or rotated away since the look: the next look says where it is
        except OSError as exc:
            why = f"cannot open {path!r}: {exc.strerror or exc}; the other files are followed, it is tried again"
            if self._unopened.get(file_id) != why:
                self._unopened[file_id] = why
                warn(why)
            return
        self._unopened.pop(file_id, None)

    def _open_followed(self, path: str, file_id: FileId) -> _Followed:
        handle = open(path, "rb")
        try:
            stream = self.pipeline.open_stream(input_name(path))
            entry = _Followed(self, handle, path, file_id, stream)
            size = os.fstat(handle.fileno()).st_size
            if self.checkpoint is not None and entry.key_ready():
                start, _ = self.checkpoint.resume(file_id, entry.key(), size, False)
                replay = self._replay_from(file_id, start)
                if replay is not None:
                    start, entry.replay_until = replay, start
                if start:
                    self._replay_header(handle, stream, start)
                    entry.offset = start
        except BaseException:
            handle.close()
            raise
        return entry

    def _first_sight(self, entry: _Followed) -> None:
        """A followed file's key is known: record it in the checkpoint if it is new there."""
        if self.checkpoint is not None and self.checkpoint.register(entry.file_id, entry.path, entry.key()):
            self.seen()


class _Followed:
    """One followed file: its open handle (kept across renames) and the offset of the next line."""

    _counter = 0

    def __init__(self, source: Source, handle: BinaryIO, path: str, file_id: FileId, stream: Stream) -> None:
        self.source = source
        self.handle = handle
        self.path = path
        self.file_id = file_id
        self.stream = stream
        self.offset = 0
        self.number = 0
        self.replay_until = 0
        self.broken = False
        self.recorded = False  # whether the checkpoint knows it (see Source._first_sight)
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
                self._key = hex_digest(head, 8)
        return self._key is not None

    def key(self) -> str:
        assert self._key is not None
        return self._key

    def _same_first_line(self) -> bool:
        """Whether the file still starts with the line its key was made of (one read of 4 KB)."""
        try:
            head = os.pread(self.handle.fileno(), 4096, 0)
        except OSError:
            return True  # the read that follows says what is wrong
        end = head.find(b"\n")
        head = head[: end + 1] if end >= 0 else head
        return (end >= 0 or len(head) >= 4096) and hex_digest(head, 8) == self._key

    def _start_over(self) -> None:
        """New content in the same file (truncated in place): read from its start, under the key of its
        own first line (the checkpoint records it anew, so that a restart resumes it, not resends it)."""
        self.offset = 0
        self.number = 0
        self.replay_until = 0
        self._key = None
        self.recorded = False

    def read(self, final: bool) -> Iterator[Batch]:
        """Complete lines after the offset; with *final*, a last line without newline too."""
        handle = self.handle
        try:
            size = os.fstat(handle.fileno()).st_size
        except OSError:
            return
        if size < self.offset:  # truncated in place: start over
            self._start_over()
        if size == self.offset:
            return
        if self._key is not None and self.offset and not self._same_first_line():
            self._start_over()  # truncated and written again past the offset between two looks
        if not self.key_ready():
            return
        if not self.recorded:
            self.recorded = True
            self.source._first_sight(self)
        handle.seek(self.offset)
        source = InputFile(self.path, input_name(self.path), self.file_id, self.key())
        for block in read_blocks(handle, start_offset=self.offset, final=final, block_bytes=64 * 1024):
            block.first_number += self.number
            batch = self.source._batch(source, self.stream, block)
            batch.replay_until = self.replay_until
            if block.damage is not None:
                self.broken = True
            self.number += len(block.texts)
            self.offset = batch.next_offset
            yield batch
            if self.source.stop or self.broken:
                return

    def close(self) -> None:
        self.handle.close()


def _unlistable(pattern: str) -> str | None:
    """Why the directory a glob is matched in (its part before the first wildcard) cannot be listed now,
    or None: glob itself says nothing then, it matches nothing. A directory that does not exist is no
    problem: nothing is in it."""
    head = pattern[: min(pattern.index(c) for c in "*?[" if c in pattern)]
    directory = os.path.dirname(head) or "."
    try:
        with os.scandir(directory):
            return None
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        return f"cannot list {directory!r}: {exc.strerror or exc}"


def _listing(directory: str) -> list[tuple[str, FileId, int]]:
    """(name, identity, size) of the regular files in *directory*, by name."""
    out: list[tuple[str, FileId, int]] = []
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return out
    for name in names:
        try:
            stat = os.stat(os.path.join(directory, name))
        except OSError:
            continue
        if os.path.isfile(os.path.join(directory, name)):
            out.append((name, (stat.st_dev, stat.st_ino), stat.st_size))
    return out


def _rotation_stem(name: str) -> str | None:
    """``mail.@20261102T090000.s`` -> ``mail.@*.s`` (ESA's rotated names); None for other names."""
    head, sep, rest = name.partition(".@")
    if not sep or "." not in rest:
        return None
    return f"{head}.@*.{rest.rsplit('.', 1)[1]}"


def _grouped(blocks: Iterator[Block], stream: Stream) -> Iterator[Block]:
    """*blocks* joined into about :data:`NATIVE_BLOCK_BYTES` for the compiled core, once the stream's header
    lines are read (until then each block as it is: the header's records are encoded a block at a time, as
    the Python path alone does)."""
    pending: list[Block] = []
    size = 0
    for block in blocks:
        if stream.early is not None or block.damage is not None:
            if pending:
                yield join_blocks(pending)
                pending, size = [], 0
            yield block
            continue
        pending.append(block)
        size += block.next_offset - block.offset
        if size >= NATIVE_BLOCK_BYTES:
            yield join_blocks(pending)
            pending, size = [], 0
    if pending:
        yield join_blocks(pending)


def _line_start(handle: BinaryIO, offset: int) -> int:
    """The offset of the first line of a plain file that starts at *offset* or after it."""
    handle.seek(offset - 1)
    if handle.read(1) != b"\n":
        while True:  # the rest of the line that *offset* cuts, a bounded read at a time
            rest = handle.readline(1 << 20)
            if not rest or rest.endswith(b"\n"):
                break
    return handle.tell()


def _lines_before(block: Block, end: int) -> Block:
    """The lines of *block* that start before *end*."""
    offsets = block.offsets()
    count = bisect_left(offsets, end)
    next_offset = offsets[count] if count < len(offsets) else block.next_offset
    return Block(block.raws[:count], block.texts[:count],
                 {index: found for index, found in block.problems.items() if index < count},
                 {index: size for index, size in block.sizes.items() if index < count},
                 block.offset, next_offset, block.first_number)


def _skip_to(handle: BinaryIO, offset: int, compressed: bool) -> None:
    """Position *handle* at *offset* of its (uncompressed) data."""
    if not compressed:
        handle.seek(offset)
        return
    handle.seek(0)
    left = offset
    try:
        while left:
            chunk = handle.read(min(left, 1 << 20))
            if not chunk:
                return
            left -= len(chunk)
    except READ_ERRORS:
        return


def stdin_origin(number: int, text: str) -> str:
    """A stable identity of a line read from a pipe (no file offset to name it by)."""
    digest = hex_digest(text.encode("utf-8", "surrogatepass"), 8)
    return f"pipe:{number}:{digest}"

