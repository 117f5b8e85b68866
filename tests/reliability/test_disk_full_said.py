"""An output on a full disk: the first failed write is said at once (the output, the system's reason, that it
is retrying and how long is left of --retry-budget), not one --report-interval later, and again at most
once per --report-interval; when the budget runs out the run ends with exit 1 naming the reason."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

from esalog.testing import StderrLines
from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.reliability.conftest import kill_if_running


def _log(tmp_path: Path) -> Path:
    log = tmp_path / "mail.@20261102T080000.s"
    log.write_text(FILE_HEADER + "".join(distinct_lines(50)), encoding="utf-8")
    return log


def _watch(process: subprocess.Popen[bytes], wanted: tuple[str, ...]) -> tuple[float, int, str]:
    """Seconds until the first warning, the exit code and all of stderr."""
    started = time.monotonic()
    watch = StderrLines(process)
    try:
        first = watch.wait_line("retrying", timeout=60)
        seconds = time.monotonic() - started
        code, err = watch.wait_exit(timeout=60)
    finally:
        kill_if_running(process)
    assert all(word in first for word in wanted), first
    return seconds, code, err


def test_stdout_on_a_full_disk_is_said_at_once(tmp_path: Path) -> None:
    """``ship --to stdout > /dev/full``: every write fails with ENOSPC, as on a full disk."""
    with open("/dev/full", "wb") as full:
        process = subprocess.Popen(
            [sys.executable, "-m", "esalog", "ship", "--to", "stdout", "--retry-initial", "0.2", "--retry-budget", "4",
             "--report-interval", "30", str(_log(tmp_path))], stdout=full, stderr=subprocess.PIPE)
        seconds, code, err = _watch(process, ("stdout: No space left on device", "retrying",
                                              "left of --retry-budget"))
    assert seconds < 3, err  # at once (the start included), not after --report-interval's 30 s
    assert 1 == sum("warning" in line and "retrying" in line for line in err.splitlines()), err
    assert 1 == code, err
    assert "gave up" in err and "No space left on device" in err.split("gave up", 1)[1], err
    assert "Traceback" not in err


def test_file_output_that_cannot_grow_is_said_at_once_and_repeated_per_interval(tmp_path: Path) -> None:
    """``--to file`` that cannot grow (RLIMIT_FSIZE: the kernel's ``File too large``, the same path as a full
    disk's ``No space left on device``): the warning names --out's path at once, then once per interval."""
    out = tmp_path / "out.ndjson"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (100, resource.RLIM_INFINITY))

    process = subprocess.Popen(
        [sys.executable, "-m", "esalog", "ship", "--to", "file", "--out", str(out), "--retry-initial", "0.1",
         "--retry-max", "0.2", "--retry-budget", "5", "--report-interval", "2", str(_log(tmp_path))],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=limit)
    seconds, code, err = _watch(process, (f"{out}: File too large", "retrying", "left of --retry-budget"))
    assert seconds < 1.9, err  # before the first --report-interval (2 s) is over
    said = sum("warning" in line and "retrying" in line for line in err.splitlines())
    assert 2 <= said <= 4, err  # at once, then at most once per 2 s over the 5 s budget
    assert 1 == code, err
    assert "gave up" in err and "Traceback" not in err
