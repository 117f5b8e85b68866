"""Issue 12 item 11 (second half): a write error that happens while running (disk full, permissions
changed) never kills the sender; at every exit received = delivered + dead-lettered + failed."""

from __future__ import annotations

import json
from pathlib import Path

from esalog.testing import FakeHEC
from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.conftest import run_cli
from tests.reliability.conftest import TOKEN


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
