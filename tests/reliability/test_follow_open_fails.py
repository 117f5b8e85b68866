"""``ship --follow`` of a glob while the process is out of file descriptors (RLIMIT_NOFILE lowered from
outside with prlimit to what it has open; the same as a directory that cannot be listed for a while, or
a new file that cannot be opened yet).

Before: glob found nothing in a directory it could not list, so every followed file was taken for gone,
read to its end and closed; the next look found them again as new files and read them again from their
start: each line sent about 60 times in 3 s (and a new file that could not be opened ended the run, with
a traceback). Now a look that cannot see concludes nothing, the open files are read on, one warning says
why, and the new file is opened at a later look once it can be: every line once."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import orjson

from esalog.testing import StderrLines
from tests.reliability.conftest import kill_if_running, wait_until


def _line(n: int) -> str:
    return f"Mon Nov  2 08:00:01 2026 Info: Start MID {n} ICID {n}\n"


def _rows(out: Path) -> int:
    return len(out.read_bytes().splitlines()) if out.exists() else 0


def test_new_file_that_cannot_be_opened_yet_is_opened_later(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.log").write_text("".join(_line(n) for n in range(10)))
    out = tmp_path / "out.ndjson"
    process = subprocess.Popen(
        [sys.executable, "-m", "esalog", "ship", "--to", "file", "--out", str(out), "--follow", "--poll-interval",
         "0.05", "--batch-timeout", "0.05", str(logs / "*.log")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watch = StderrLines(process)
    try:
        wait_until(lambda: _rows(out) == 10, what="the first file")
        soft, hard = resource.prlimit(process.pid, resource.RLIMIT_NOFILE)
        held = len(os.listdir(f"/proc/{process.pid}/fd"))
        resource.prlimit(process.pid, resource.RLIMIT_NOFILE, (held, hard))  # not one descriptor more
        (logs / "b.log").write_text("".join(_line(n) for n in range(10, 20)))
        warning = watch.wait_line("Too many open files", timeout=60)
        assert "warning: cannot list" in warning and str(logs) in warning, warning
        assert process.poll() is None
        with open(logs / "a.log", "a") as handle:  # the file already open is still followed
            handle.write(_line(20))
        wait_until(lambda: _rows(out) == 11, what="the line added to the open file")
        resource.prlimit(process.pid, resource.RLIMIT_NOFILE, (soft, hard))
        wait_until(lambda: _rows(out) == 21, what="the file that could not be opened")
        process.send_signal(signal.SIGTERM)
        code, err = watch.wait_exit(timeout=60)
    finally:
        kill_if_running(process)
    assert code == 0, err
    assert "Traceback" not in err and err.count("Too many open files") == 1, err
    mids = [orjson.loads(row)["cisco"]["esa"]["mid"] for row in out.read_bytes().splitlines()]
    assert sorted(mids) == list(range(21))


def test_live_file_that_cannot_be_opened_after_rotation_is_opened_at_a_later_look(tmp_path: Path) -> None:
    """The live name followed, rotated while no descriptor is free: the new live file cannot be opened at
    the first look (it ended the run); the rotated one is read to its end and closed, which frees one, and
    the new file is opened at the next look."""
    live = tmp_path / "mail.current"
    live.write_text("".join(_line(n) for n in range(10)))
    out = tmp_path / "out.ndjson"
    process = subprocess.Popen(
        [sys.executable, "-m", "esalog", "ship", "--to", "file", "--out", str(out), "--follow", "--poll-interval",
         "0.05", "--batch-timeout", "0.05", str(live)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watch = StderrLines(process)
    try:
        wait_until(lambda: _rows(out) == 10, what="the first file")
        _, hard = resource.prlimit(process.pid, resource.RLIMIT_NOFILE)
        held = len(os.listdir(f"/proc/{process.pid}/fd"))
        resource.prlimit(process.pid, resource.RLIMIT_NOFILE, (held, hard))
        with open(live, "a") as handle:
            handle.write(_line(10))
        os.rename(live, tmp_path / "mail.@20261102T090000.s")
        live.write_text("".join(_line(n) for n in range(11, 20)))
        warning = watch.wait_line("mail.current", timeout=60)
        assert "warning: cannot open" in warning and "Too many open files" in warning, warning
        wait_until(lambda: _rows(out) == 20, what="both files")
        process.send_signal(signal.SIGTERM)
        code, err = watch.wait_exit(timeout=60)
    finally:
        kill_if_running(process)
    assert code == 0, err
    assert "Traceback" not in err, err
    mids = [orjson.loads(row)["cisco"]["esa"]["mid"] for row in out.read_bytes().splitlines()]
    assert mids == list(range(20))
