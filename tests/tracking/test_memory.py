"""Bounded memory: 2M lines with 500k messages that never finish, measured in a child process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from esalog.testing.generate import finished_message, mixed_lines
from esalog.testing.generate import write_lines as write_log

from .helpers import Run

OPEN_MESSAGES = 500_000
FINISHED_MESSAGES = 29_412  # 17 lines each: 1.5M + 0.5M = 2,000,004 lines
LIMIT_MB = 300

#: Runs `esalog parse` as a child and prints the child's peak RSS (KiB) on the last line.
_MEASURE = """
import resource, subprocess, sys
proc = subprocess.run([sys.executable, "-m", "esalog", *sys.argv[1:]], stdout=subprocess.DEVNULL,
                      stderr=subprocess.PIPE)
sys.stderr.buffer.write(proc.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(proc.returncode)
"""


def test_two_million_lines_stay_under_300_mb(tmp_path: Path) -> None:
    """Peak RSS of a tracking parse of 2M lines (500k never-finishing messages) stays under 300 MB."""
    log = tmp_path / "big.log"
    assert write_log(log, mixed_lines(OPEN_MESSAGES, FINISHED_MESSAGES)) == 2_000_004
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, "parse", "--summaries", "--no-original", str(log)],
        capture_output=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    peak_mb = int(proc.stdout.split()[-1]) / 1024
    closing = re.search(rb"(\d+) lines, (\d+) events \((\d+) summaries\)", proc.stderr)
    assert closing is not None, proc.stderr[-2000:]
    lines, _events, summaries = map(int, closing.groups())
    assert lines == 2_000_004
    assert summaries == OPEN_MESSAGES + FINISHED_MESSAGES  # one per message: finished, evicted or flushed
    assert peak_mb < LIMIT_MB, f"peak RSS {peak_mb:.0f} MB"


def test_finished_messages_leave_no_state_behind() -> None:
    """Thousands of complete transactions (ICID, MID, DCID) leave every store empty."""
    run = Run(summaries=False)
    second = 0
    for n in range(1, 3001):
        run.feed(finished_message(n, second))
        second += n % 3 == 0
    counts = run.tracker.open_counts()
    assert (counts["icids"], counts["mids"], counts["dcids"], counts["table"]) == (0, 0, 0, 0)
    assert counts["finished_memory"] == 3000  # bounded (4096): only the ids, to ignore stray late lines


def _peak_mb(*argv: str) -> float:
    proc = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return int(proc.stdout.split()[-1]) / 1024


def test_a_new_host_name_on_every_line_costs_no_memory(tmp_path: Path) -> None:
    """Syslog lines each with a host name never seen (a misconfigured relay, or anyone who can reach
    ``esalog listen``): the per-host observers and appliances stay bounded. Before, 300,000 names cost
    80 MB more than 20,000 (about 270 bytes a name, for as long as the command ran)."""
    peaks = []
    for count in (20_000, 300_000):
        log = tmp_path / f"hosts-{count}.log"
        write_log(log, (f"<22>Aug 14 11:05:{n % 60:02d} esa{n} mail_logs: Info: ICID {n} close" for n in range(count)))
        peaks.append(_peak_mb("parse", "-q", str(log)))
    assert peaks[1] - peaks[0] < 15, f"peak RSS {peaks[0]:.0f} MB for 20,000 names, {peaks[1]:.0f} MB for 300,000"
