"""``--to file`` on a disk that fills up mid-batch (RLIMIT_FSIZE in the child; space freed from outside
with prlimit once esalog says it is retrying). The sink cut the file back to its last whole line and
sent the batch again: the whole rows of the failed batch that had reached the file were written twice.
Now the file is cut back to where the batch began (rows that went to a file rotated away during the
batch are kept, and only the rest is sent again): every row once, in order, none torn."""

from __future__ import annotations

import errno
import os
import resource
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from esalog.connectors.base import Delivered, RetryPartial
from esalog.connectors.batch import Item
from esalog.connectors.files import FileSink
from esalog.testing import StderrLines
from tests.reliability.conftest import kill_if_running

LINES = 200


def _rows(paths: list[Path]) -> tuple[list[int], int]:
    mids, torn = [], 0
    for path in paths:
        for row in path.read_bytes().splitlines():
            try:
                mids.append(orjson.loads(row)["cisco"]["esa"]["mid"])
            except orjson.JSONDecodeError:
                torn += 1
    return mids, torn


@pytest.mark.parametrize("rotate", [None, "9000"])
@pytest.mark.parametrize("room", [5000, 5555])
def test_disk_full_mid_batch_writes_every_row_once(tmp_path: Path, room: int, rotate: str | None) -> None:
    log = tmp_path / "in.log"
    log.write_text("".join(f"Mon Nov  2 08:00:01 2026 Info: MID {n} Subject '{'s' * 150}'\n" for n in range(LINES)))
    out = tmp_path / "out.ndjson"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (room, resource.RLIM_INFINITY))

    args = ["ship", "--to", "file", "--out", str(out), "--batch-events", "7", "--retry-initial", "0.05",
            "--report-interval", "0.1", "--stats", str(log)]
    if rotate:
        args[5:5] = ["--rotate-bytes", rotate]
    process = subprocess.Popen([sys.executable, "-m", "esalog", *args], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, preexec_fn=limit)
    watch = StderrLines(process)
    try:
        watch.wait_line("retrying", timeout=60)  # the limit was hit and the batch waits for room
        resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
        code, err = watch.wait_exit(timeout=60)
    finally:
        kill_if_running(process)
    assert code == 0, err
    files = [*sorted(tmp_path.glob("out.ndjson.*"), key=lambda p: -int(p.name.rsplit(".", 1)[1])), out]
    assert _rows(files) == (list(range(LINES)), 0)


def test_rows_in_the_file_rotated_away_are_kept_and_the_rest_sent_again(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch that crosses --rotate-bytes and then fails in the new file: the rows before the rotation
    (synced in PATH.1) are delivered, only the others are sent again."""
    out = tmp_path / "out.ndjson"
    sink = FileSink(str(out), rotate_bytes=100)
    sink.open()
    items = [Item(b'{"n":%d,"pad":"%s"}\n' % (n, b"x" * 30), None) for n in range(4)]  # 2 rows per file
    real_fsync = os.fsync
    calls = {"n": 0}

    def fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the first is the rotation's; the second, of the new file, fails
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    outcome = sink.send(items)
    assert isinstance(outcome, RetryPartial) and list(outcome.items) == items[2:]
    assert isinstance(sink.send(outcome.items), Delivered)
    sink.close()
    rows = [orjson.loads(row)["n"] for path in (tmp_path / "out.ndjson.1", out) for row in path.read_bytes().splitlines()]
    assert rows == [0, 1, 2, 3]


@pytest.mark.parametrize("room", [5000, 5555])
def test_stdout_to_a_full_disk_writes_every_row_once(tmp_path: Path, room: int) -> None:
    """``ship --to stdout > file`` (or ``listen > file``) on a disk that fills up: the batch is retried,
    and only what did not reach the file is written again (the whole batch again made a duplicate and,
    where a row had been cut, a torn row glued to the next)."""
    log = tmp_path / "in.log"
    log.write_text("".join(f"Mon Nov  2 08:00:01 2026 Info: MID {n} Subject '{'s' * 150}'\n" for n in range(LINES)))
    out = tmp_path / "out.ndjson"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (room, resource.RLIM_INFINITY))

    with open(out, "wb") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "esalog", "ship", "--to", "stdout", "--batch-events", "7", "--retry-initial",
             "0.05", "--report-interval", "0.1", str(log)], stdout=stdout, stderr=subprocess.PIPE, preexec_fn=limit)
    watch = StderrLines(process)
    try:
        watch.wait_line("retrying", timeout=60)
        resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
        code, err = watch.wait_exit(timeout=60)
    finally:
        kill_if_running(process)
    assert code == 0, err
    assert _rows([out]) == (list(range(LINES)), 0)
