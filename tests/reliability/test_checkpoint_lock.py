"""Two ``esalog ship`` runs given the same ``--checkpoint``: the second is refused at once.

Before, both ran: each sent every line (to the same HEC or index, every event twice), both replaced the
checkpoint through the same temporary file (a stream of "cannot write the checkpoint: No such file or
directory" warnings) and each deleted the other's tracker-state file. The claim is an advisory lock held
by the running process, so a run killed with -9 never leaves the checkpoint blocked.
"""

from __future__ import annotations

import signal
from pathlib import Path

from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.conftest import run_cli
from tests.reliability.conftest import checkpoint_offsets, esalog, kill9, wait_until


def _follow(log: Path, out: Path, checkpoint: Path) -> object:
    return esalog("ship", "--to", "file", "--out", str(out), "--follow", "--poll-interval", "0.05",
                  "--batch-timeout", "0.05", "--checkpoint", str(checkpoint), str(log))


def test_second_run_with_the_same_checkpoint_is_refused(tmp_path: Path) -> None:
    log = tmp_path / "mail.current"
    log.write_text(FILE_HEADER + "".join(distinct_lines(50)))
    checkpoint = tmp_path / "ship.ckpt"
    first = _follow(log, tmp_path / "first.ndjson", checkpoint)
    try:
        wait_until(lambda: checkpoint_offsets(checkpoint) != {}, what="the first run's checkpoint")
        second = run_cli("ship", "--to", "file", "--out", str(tmp_path / "second.ndjson"), "--checkpoint",
                         str(checkpoint), str(log), timeout=60)
        assert second.returncode == 2, second.stderr
        assert b"in use" in second.stderr and str(checkpoint).encode() in second.stderr
        assert f"pid {first.pid}".encode() in second.stderr  # type: ignore[attr-defined]
        assert b"Traceback" not in second.stderr
        assert not (tmp_path / "second.ndjson").exists() or not (tmp_path / "second.ndjson").read_bytes()
    finally:
        first.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
        _, err = first.communicate(timeout=60)  # type: ignore[attr-defined]
    assert first.returncode == 0, err  # type: ignore[attr-defined]
    assert b"cannot write the checkpoint" not in err
    # the first run has ended: the checkpoint is free again, and it resumes where the first one stopped
    again = run_cli("ship", "--to", "file", "--out", str(tmp_path / "again.ndjson"), "--checkpoint",
                    str(checkpoint), str(log), timeout=60)
    assert again.returncode == 0, again.stderr
    assert not (tmp_path / "again.ndjson").exists() or not (tmp_path / "again.ndjson").read_bytes()


def test_a_run_killed_with_9_does_not_block_the_checkpoint(tmp_path: Path) -> None:
    log = tmp_path / "mail.current"
    log.write_text(FILE_HEADER + "".join(distinct_lines(50)))
    checkpoint = tmp_path / "ship.ckpt"
    first = _follow(log, tmp_path / "first.ndjson", checkpoint)
    try:
        wait_until(lambda: checkpoint_offsets(checkpoint) != {}, what="the first run's checkpoint")
    finally:
        kill9(first)  # type: ignore[arg-type]
    with open(log, "a") as handle:
        handle.write("".join(distinct_lines(10, start=50)))
    again = run_cli("ship", "--to", "file", "--out", str(tmp_path / "again.ndjson"), "--checkpoint",
                    str(checkpoint), str(log), timeout=60)
    assert again.returncode == 0, again.stderr
    assert len((tmp_path / "again.ndjson").read_bytes().splitlines()) >= 10
