"""Writing to file descriptors: all of the data whatever a pipe or a signal cuts short, or an append that
lands whole or not at all."""

from __future__ import annotations

import contextlib
import os
from typing import BinaryIO


def append_whole(fd: int, data: bytes, back: int | None = None) -> None:
    """Append *data* to the file open (for appending) at *fd*, whole or not at all: when a write fails part
    way (disk full), the file is cut back to its size before it (or to *back*, where the caller's unit began)
    unless someone else appended meanwhile, and the error is raised."""
    size = os.fstat(fd).st_size
    view, written = memoryview(data), 0
    try:
        while written < len(data):
            written += os.write(fd, view[written:])
    except OSError:
        with contextlib.suppress(OSError):
            if os.fstat(fd).st_size == size + written:  # nobody else appended meanwhile
                os.ftruncate(fd, size if back is None else back)
        raise


def write_all(target: int, data: bytes | memoryview) -> None:
    """*data* to the file descriptor *target*, unbuffered."""
    written = os.write(target, data)
    if written < len(data):  # a pipe or a signal cut the write short
        view = memoryview(data)[written:]
        while view:
            view = view[os.write(target, view):]


def write_whole(out: BinaryIO, data: bytes | memoryview) -> None:
    """All of *data* to the buffered file *out*: a signal handled while a large write waits on a full pipe
    makes CPython's buffered ``write`` return the part written so far (the rest would be dropped, the last
    line torn)."""
    view = memoryview(data)
    while view:
        view = view[out.write(view):]
