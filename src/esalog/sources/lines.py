"""Lines from bytes: split into blocks of whole lines, decoded safely, damage reported.

Every physical line becomes exactly one line of a :class:`Block` (or one line of :func:`read_line_bytes`
when read one at a time): text without its newline, the byte offset where it starts, and problems found while
decoding (invalid UTF-8, NUL bytes, a line longer than the limit). Nothing is dropped: when reading
fails (a truncated or corrupt gzip member, an I/O error), what was read becomes lines and the damage is
reported in a last block (``damage``) with the offset where it happened.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from esalog.sources.files import READ_ERRORS, lone_cr_ends

#: Lines longer than this are cut (the event says so); memory stays bounded whatever the input.
MAX_LINE_BYTES = 4 * 1024 * 1024
#: How much is read at once; lines are decoded and handed on a block at a time.
BLOCK_BYTES = 4 * 1024  # small batches: the events of a block stay in the CPU cache until encoded


def decode_line(raw: bytes, cut: bool = False) -> tuple[str, tuple[str, ...]]:
    """Bytes of one line (newline removed) -> text and the problems met (``line_too_long`` first when the
    reader *cut* the line at its limit)."""
    problems: tuple[str, ...] = ("line_too_long",) if cut else ()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        problems = (*problems, "invalid_utf8")
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
        problems = (*problems, "binary")
    return text, problems


@dataclass(slots=True)
class Block:
    """Consecutive whole lines read in one go (about :data:`BLOCK_BYTES`), decoded."""

    raws: list[bytes]  # each line's bytes without its newline (and without the CR of a CRLF)
    texts: list[str]  # the decoded lines
    problems: dict[int, tuple[str, ...]]  # index -> problems, only for lines that have some
    sizes: dict[int, int]  # index -> bytes the line takes in the input, where not len(raw) + 1
    offset: int  # byte offset of the first line
    next_offset: int  # byte offset after the last line
    first_number: int  # 1-based number of the first line
    damage: str | None = field(default=None)  # why reading stopped here (then the block has no lines)

    def size(self, index: int) -> int:
        """Bytes line *index* takes in the input, newline included."""
        size = self.sizes.get(index)
        return size if size is not None else len(self.raws[index]) + 1

    def offsets(self) -> list[int]:
        """The byte offset of each line in the input."""
        sizes = [len(raw) + 1 for raw in self.raws]
        for index, size in self.sizes.items():
            sizes[index] = size
        out = list(itertools.accumulate(sizes, initial=self.offset))
        out.pop()  # the offset after the last line
        return out


def _block(raws: list[bytes], sizes: dict[int, int], cut: set[int], offset: int, number: int,
           decode: bool = True) -> Block:
    """Decode *raws* (one block of lines); flag bad UTF-8, NUL bytes and lines cut at the limit.

    Without *decode*, ``texts`` stays empty and only the cut lines are flagged (the compiled core reads
    the bytes itself).
    """
    problems: dict[int, tuple[str, ...]] = {}
    if not decode:
        texts: list[str] = []
        clean = True
    else:
        try:
            joined = b"\n".join(raws).decode("utf-8")
            texts = joined.split("\n") if raws else []
            clean = "\x00" not in joined
        except UnicodeDecodeError:
            texts, clean = [], False
    if not clean:
        texts = []
        for index, raw in enumerate(raws):
            text, found = decode_line(raw)
            texts.append(text)
            if found:
                problems[index] = found
    for index in cut:
        problems[index] = ("line_too_long", *problems.get(index, ()))
    total = sum(map(len, raws)) + len(raws) + sum(size - len(raws[i]) - 1 for i, size in sizes.items())
    return Block(raws, texts, problems, sizes, offset, offset + total, number + 1)


def join_blocks(blocks: list[Block]) -> Block:
    """Consecutive blocks of one input as one (their lines, offsets and problems in order)."""
    if len(blocks) == 1:
        return blocks[0]
    raws: list[bytes] = []
    texts: list[str] = []
    problems: dict[int, tuple[str, ...]] = {}
    sizes: dict[int, int] = {}
    for block in blocks:
        base = len(raws)
        raws += block.raws
        texts += block.texts
        problems.update({base + index: found for index, found in block.problems.items()})
        sizes.update({base + index: size for index, size in block.sizes.items()})
    first, last = blocks[0], blocks[-1]
    return Block(raws, texts, problems, sizes, first.offset, last.next_offset, first.first_number)


def read_blocks(handle: BinaryIO, start_offset: int = 0, max_line: int = MAX_LINE_BYTES,
                block_bytes: int = BLOCK_BYTES, *, final: bool = True, decode: bool = True) -> Iterator[Block]:
    """Every line of *handle* in blocks; a line over *max_line* bytes is cut and its rest skipped.

    The same lines, offsets and problems as reading with ``readline`` (at LF), for a fraction of the cost
    per line.
    Reads ahead of the lines handed on (``read1`` where the handle has it: no waiting for a full block
    on a pipe). Memory stays bounded by *block_bytes* plus *max_line*, whatever the input. With
    *final* False (a file still being written) a last line without newline is left for later. Without
    *decode*, blocks carry the bytes only (see :func:`_block`). A read that fails ends the blocks with
    one whose ``damage`` says why and where. An input whose lines end in a lone CR (classic Mac OS; see
    :func:`~esalog.sources.files.lone_cr_ends`) is read with its CRs as newlines (byte for byte, so offsets stay true).
    """
    offset = start_offset
    number = 0
    tail = b""  # the start of a line whose end is not read yet, at most max_line + 1 bytes of it
    tail_size = 0  # that line's bytes read so far
    cr_ends: bool | None = None  # lines end in a lone CR; None until the first line end read tells
    after_cr = False  # (while that is not known) the bytes read so far end in a CR
    read = getattr(handle, "read1", handle.read)
    while True:
        try:
            data = read(block_bytes)
        except READ_ERRORS as exc:
            if tail_size:  # the readable start of the line the damage cut
                block = _block([tail[:max_line]], {0: tail_size}, {0} if tail_size > max_line else set(), offset,
                               number, decode)
                yield block
                offset, number = block.next_offset, number + 1
            yield Block([], [], {}, {}, offset, offset, number + 1, damage=_damage_text(exc))
            return
        if not data:
            if tail_size and final:  # a last line without newline: nothing is stripped from it
                yield _block([tail[:max_line]], {0: tail_size}, {0} if tail_size > max_line else set(), offset,
                             number, decode)
            return
        if cr_ends is None:
            cr_ends = lone_cr_ends(data, after_cr)
            if cr_ends and after_cr:  # the CR that the bytes read before end in ends a line as well
                if len(tail) == tail_size:
                    tail = tail[:-1]
                tail_size -= 1
                data = b"\n" + data
            after_cr = data.endswith(b"\r")
        if cr_ends:
            data = data.replace(b"\r", b"\n")
        first = data.find(b"\n")
        if first < 0:
            if len(tail) <= max_line:
                tail += data[: max_line + 1 - len(tail)]
            tail_size += len(data)
            continue
        last = data.rfind(b"\n")
        head = tail + data[: max(0, min(first, max_line + 1 - len(tail)))] if tail_size else data[:first]
        raws = [head, *data[first + 1 : last].split(b"\n")] if last > first else [head]
        sizes: dict[int, int] = {}
        if tail_size:
            sizes[0] = tail_size + first + 1
        tail = data[last + 1 :][: max_line + 1]
        tail_size = len(data) - last - 1
        cut: set[int] = set()
        if max(map(len, raws)) > max_line:
            for index, raw in enumerate(raws):
                if len(raw) > max_line:
                    sizes.setdefault(index, len(raw) + 1)
                    raws[index] = raw[:max_line]
                    cut.add(index)
        if b"\r" in data or head.endswith(b"\r"):
            for index, raw in enumerate(raws):
                if raw.endswith(b"\r") and index not in cut:
                    raws[index] = raw[:-1]
                    sizes.setdefault(index, len(raw) + 1)
        block = _block(raws, sizes, cut, offset, number, decode)
        yield block
        offset = block.next_offset
        number += len(raws)


def _damage_text(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, OSError) or not exc.strerror else exc.strerror


def read_line_bytes(handle: BinaryIO, max_line: int = MAX_LINE_BYTES) -> Iterator[tuple[bytes, int, bool]]:
    """Every line of *handle* as bytes: without its newline (nor the CR of a CRLF), the bytes it takes in
    the input, and whether it was cut at *max_line* (its rest skipped).

    Reads one line at a time (``readline``): a line is handed on as soon as it arrives, and the handle
    is never read past the line given out. Streaming consumers (filters answering per line, ``--follow``)
    need that; bulk reading uses the faster :func:`read_blocks`.
    """
    readline = handle.readline
    while True:
        raw = readline(max_line + 1)
        if not raw:
            return
        length = len(raw)
        cut = False
        if length > max_line and not raw.endswith(b"\n"):
            # skip the rest of this physical line, counting its bytes
            while True:
                more = readline(1024 * 1024)
                length += len(more)
                if not more or more.endswith(b"\n"):
                    break
            raw = raw[:max_line]
            cut = True
        if raw.endswith(b"\n"):
            raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
        yield raw, length, cut


class WaitMarkedReads:
    """*handle* for reading whose reads are marked as waits for input while they run: ``mark(True)`` before
    each, ``mark(False)`` after (a signal handler that finds a wait under way may end it)."""

    def __init__(self, handle: Any, mark: Callable[[bool], None]) -> None:
        self._handle = handle
        self._mark = mark

    def read1(self, size: int = -1) -> bytes:
        self._mark(True)
        try:
            read = getattr(self._handle, "read1", self._handle.read)
            return bytes(read(size))
        finally:
            self._mark(False)

    read = read1
