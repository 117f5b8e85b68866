"""Issue 12 item 11 (second half): a write error that happens while running (disk full, permissions
changed) never kills the sender; at every exit received = delivered + dead-lettered + failed."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

from esalog.testing import FakeHEC, StderrLines
from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.conftest import run_cli
from tests.reliability.conftest import TOKEN, kill_if_running


def stats_of(stderr: bytes) -> dict[str, int]:
    stats: dict[str, int] = json.loads(next(line for line in stderr.splitlines() if line.startswith(b"{")))
    assert stats["received"] == stats["acknowledged"] + stats["dead_lettered"] + stats["failed"], stats
    return stats


def test_dead_letter_on_a_full_disk(tmp_path: Path) -> None:
    """Refused events that the dead letter cannot keep (``/dev/full``: ENOSPC) count as failed; the rest
    is delivered; the checkpoint stops before them so a rerun sends them again."""
    log = tmp_path / "mail.@20261102T080000.s"
    log.write_text(FILE_HEADER + "".join(distinct_lines(1998)))
    checkpoint = tmp_path / "ship.ckpt"
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.bad_event(b"a1001@example.com")
        result = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--batch-events", "100", "--stats",
                         "--dead-letter", "/dev/full", "--checkpoint", str(checkpoint), str(log),
                         env={"ESALOG_HEC_TOKEN": TOKEN})
        assert result.returncode == 1
        assert result.stderr.count(b"cannot write the dead letter /dev/full: No space left on device") >= 1
        stats = stats_of(result.stderr)
        assert (stats["acknowledged"], stats["dead_lettered"], stats["failed"]) == (1999, 0, 1)
        assert hec.count == 1999
        again = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--stats", "--checkpoint", str(checkpoint),
                        str(log), env={"ESALOG_HEC_TOKEN": TOKEN})
        # resent from the refused line on (file line 1003: two header lines, then distinct line 1001)
        assert stats_of(again.stderr)["received"] == 2000 - 1003


def test_checkpoint_that_cannot_be_written_while_running(tmp_path: Path) -> None:
    """The checkpoint's temporary file cannot be made (a directory took its name after the start-up
    check): delivery completes, the error is reported once, the exit code is 1."""
    log = tmp_path / "mail.@20261102T080000.s"
    log.write_text(FILE_HEADER + "".join(distinct_lines(1998)))
    checkpoint = tmp_path / "ship.ckpt"
    (tmp_path / ".ship.ckpt.tmp").mkdir()
    with FakeHEC(token=TOKEN) as hec:
        result = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--batch-events", "100", "--stats",
                         "--checkpoint", str(checkpoint), str(log), env={"ESALOG_HEC_TOKEN": TOKEN})
        assert result.returncode == 1
        assert result.stderr.count(b"warning: cannot write the checkpoint") == 1
        assert b"error: cannot write the checkpoint" in result.stderr
        assert stats_of(result.stderr)["acknowledged"] == 2000 == hec.count


def test_dead_letter_that_fills_the_disk_leaves_no_torn_row(tmp_path: Path) -> None:
    """The dead letter fills the disk mid-write (RLIMIT_FSIZE), space comes back (prlimit), later refused
    events are written again: the entries that could not be written are counted failed and none of them
    stays cut in the file (a torn row glued itself to the next entry)."""
    log = tmp_path / "in.log"
    log.write_text("".join(f"Mon Nov  2 08:00:01 2026 Info: MID {n} Subject '{'REFUSED' if n % 2 else 'ok'} "
                           f"{'s' * 150}'\n" for n in range(400)))
    dead = tmp_path / "dead.ndjson"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (5555, resource.RLIM_INFINITY))

    with FakeHEC(token=TOKEN) as hec:
        hec.faults.bad_event(b"REFUSED")
        process = subprocess.Popen(
            [sys.executable, "-m", "esalog", "ship", "--to", "hec", "--hec-url", hec.url, "--batch-events", "10",
             "--dead-letter", str(dead), "--stats", str(log)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env={**os.environ, "ESALOG_HEC_TOKEN": TOKEN}, preexec_fn=limit)
        watch = StderrLines(process)
        try:
            watch.wait_line("cannot write the dead letter", timeout=60)
            resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
            code, err = watch.wait_exit(timeout=60)
        finally:
            kill_if_running(process)
    assert code == 1, err
    stats = stats_of(err.encode())
    rows = dead.read_bytes().splitlines()
    kept = [json.loads(row) for row in rows]  # every row whole: a torn one fails here
    assert len(kept) == stats["dead_lettered"] and stats["failed"] > 0
    assert stats["dead_lettered"] + stats["failed"] == 200
