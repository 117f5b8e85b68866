"""Naming and opening inputs: globs in the order given, ``-`` for stdin, gzip told by its magic bytes
(files and stdin alike), and a file's identity (device + inode + a hash of its first line)."""

from __future__ import annotations

import glob
import os
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO

from esalog.digest import hex_digest
from esalog.errors import ConfigError

FileId = tuple[int, int]  # (st_dev, st_ino)
GZIP_MAGIC = b"\x1f\x8b"
#: The first line's bytes that make a file's key (enough to tell two files apart)
KEY_BYTES = 4096
#: How much of a file's start tells whether its lines end in LF before ``--workers`` cuts it in parts.
SNIFF_BYTES = 64 * 1024
#: What reading a damaged input raises (truncated or corrupt gzip, trailing garbage, I/O errors)
READ_ERRORS = (OSError, EOFError, zlib.error)


@dataclass(frozen=True, slots=True)
class InputFile:
    """One input: where it is, and (for files) who it is whatever its name becomes."""

    path: str  # as given ("-" for stdin)
    name: str  # the stream name (a path, or "stdin")
    file_id: FileId | None = None  # None for stdin: nothing to checkpoint
    key: str = ""  # hash of the first line: guards against a reused inode
    compressed: bool = False

    @property
    def is_stdin(self) -> bool:
        """Whether this input is stdin (it has no file identity)."""
        return self.file_id is None


def has_glob(path: str) -> bool:
    """Whether *path* is a glob pattern (``*``, ``?`` or ``[``) rather than one file's name."""
    return any(c in path for c in "*?[")


def expand_paths(paths: list[str] | tuple[str, ...]) -> list[str]:
    """Expand globs (in the order given, each sorted; the directories a glob matches are left out); ``-`` is
    stdin. Missing files are an error."""
    out: list[str] = []
    for path in paths or ["-"]:
        if path == "-":
            out.append(path)
            continue
        globbed = has_glob(path)
        matches = sorted(glob.glob(path)) if globbed else [path]
        if globbed:  # the files a glob matches; its subdirectories are not inputs (as with --follow)
            folders = [match for match in matches if os.path.isdir(match)]
            matches = [match for match in matches if not os.path.isdir(match)]
            if not matches and folders:
                raise ConfigError(f"no file matches {path!r}, only directories; a glob such as "
                                  f"{os.path.join(folders[0], '*')} reads the files in one")
        if not matches:
            raise ConfigError(f"no file matches {path!r}")
        for match in matches:
            if os.path.isdir(match):
                raise ConfigError(f"{match!r} is a directory; give files or a glob such as {os.path.join(match, '*')}")
            if not os.path.exists(match):
                raise ConfigError(f"no such file: {match!r}")
            if not os.access(match, os.R_OK):
                raise ConfigError(f"cannot read {match!r}: permission denied")
            out.append(match)
    return out


def input_name(path: str) -> str:
    """A short, stable name for an input (used as the stream and appliance key fallback)."""
    return "stdin" if path == "-" else str(Path(path))


def _is_gzip(handle: BinaryIO) -> bool:
    peek = getattr(handle, "peek", None)
    if peek is not None:
        return bool(peek(2)[:2] == GZIP_MAGIC)
    position = handle.tell()
    magic = handle.read(2)
    handle.seek(position)
    return magic == GZIP_MAGIC


def plain_size(path: str) -> int | None:
    """The size of *path* when it is a plain (not gzip) regular file whose first bytes show lines ending in
    LF (parts of it are cut at LFs), else None (also when it cannot be opened: its reader says why, in its
    turn)."""
    try:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            if not S_ISREG(stat.st_mode) or _is_gzip(handle):
                return None
            return stat.st_size if lone_cr_ends(handle.read(SNIFF_BYTES)) is False else None
    except OSError:
        return None


def lone_cr_ends(start: bytes, after_cr: bool = False) -> bool | None:
    """Whether the lines of an input starting with *start* end in a lone CR (classic Mac OS), as its first
    line end tells: a LF, or a CR and a LF, say no (LF and CRLF inputs); a CR and anything else say yes.
    None while no line end is there, or when the last byte is a CR (the next byte tells: *after_cr* says
    that the bytes before *start* ended in a CR)."""
    if after_cr:
        return not start.startswith(b"\n")
    lf, cr = start.find(b"\n"), start.find(b"\r")
    if cr < 0 or 0 <= lf < cr:
        return False if lf >= 0 else None
    return None if cr == len(start) - 1 else start[cr + 1] != 0x0A


def open_input(path: str) -> tuple[BinaryIO, bool]:
    """Open *path* (``-``: stdin) for binary reading; gzip is recognised by its magic bytes.

    Returns the handle (decompressing when gzip) and whether it was gzip.
    """
    raw: BinaryIO = sys.stdin.buffer if path == "-" else open(path, "rb")
    if _is_gzip(raw):
        import gzip  # (start-up: most inputs are plain)

        return gzip.GzipFile(fileobj=raw, mode="rb"), True  # type: ignore[return-value]
    return raw, False


def first_line_key(handle: BinaryIO) -> str:
    """A short hash of the first line of a seekable handle: the same file keeps its key when renamed."""
    position = handle.tell()
    handle.seek(0)
    try:
        head = handle.readline(KEY_BYTES)
    except READ_ERRORS:  # damaged from the start: the reader reports the damage itself
        head = b""
    handle.seek(position)
    return hex_digest(head, 8)


def identify(path: str, handle: BinaryIO, compressed: bool) -> InputFile:
    """The :class:`InputFile` of an open file."""
    if path == "-":
        return InputFile("-", "stdin", compressed=compressed)
    stat = os.stat(path)
    if not S_ISREG(stat.st_mode):  # a FIFO, <(zcat ...), /dev/stdin: read like a pipe, no identity to resume by
        return InputFile(path, input_name(path), compressed=compressed)
    return InputFile(path, input_name(path), (stat.st_dev, stat.st_ino), first_line_key(handle), compressed)


def shrunk_below(handle: BinaryIO, offset: int) -> int | None:
    """The size of the regular file open as *handle* when it is now shorter than *offset*, the point read up
    to (the file was truncated while it was read); else None (also for pipes and terminals)."""
    try:
        info = os.fstat(handle.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return info.st_size if S_ISREG(info.st_mode) and info.st_size < offset else None


def truncated_text(name: str, size: int, offset: int) -> str:
    """What to say of input *name* found cut to *size* bytes after it was read up to *offset*."""
    return (f"{name}: truncated to {size:,} bytes while being read, at byte {offset}: what it held after that "
            "byte was not read (the last line read may be cut short)")


def unreadable_text(name: str, offset: int, damage: str, compressed: bool = False) -> str:
    """What to say of input *name* that could not be read from *offset* on (*damage*: why)."""
    where = "uncompressed byte" if compressed else "byte"
    return f"{name}: unreadable from {where} {offset}: {damage}; the rest of it is lost"
