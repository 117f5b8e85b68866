"""Issue 12 item 1: the ESA rotates ``mail.current`` while esalog is stopped (SIGTERM or kill -9).

On resume the unread tail of the renamed file is found by identity in the same directory and read
first, then the new ``mail.current``: counted by line identity, nothing is lost.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from esalog.testing import read_ndjson
from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.reliability.conftest import checkpoint_offsets, esalog, kill9, tally, wait_until


def delivered(out: Path) -> list[str]:
    if not out.exists():
        return []
    return [e["event"]["original"] for e in read_ndjson(out.read_bytes().rsplit(b"\n", 1)[0] + b"\n")
            if e.get("event", {}).get("original")]


def start(logs: Path, out: Path, checkpoint: Path) -> object:
    return esalog("ship", "--to", "file", "--out", str(out), "--follow", "--poll-interval", "0.05",
                  "--batch-timeout", "0.05", "--checkpoint", str(checkpoint), "--checkpoint-interval", "0.05",
                  str(logs / "mail.current"))


@pytest.mark.parametrize("stop", ["sigterm", "kill9"])
def test_rotation_while_stopped_loses_nothing(tmp_path: Path, stop: str) -> None:
    """Four stop / rotate / restart cycles; each time the live file also grew while esalog was down."""
    logs = tmp_path / "logs"
    logs.mkdir()
    out = tmp_path / "out.ndjson"
    checkpoint = tmp_path / "ship.ckpt"
    sent: list[str] = []
    number = 0

    def more(count: int) -> str:
        nonlocal number
        lines = distinct_lines(count, start=number)
        number += count
        sent.extend(line.rstrip("\n") for line in lines)
        return "".join(lines)

    header = FILE_HEADER.splitlines()
    (logs / "mail.current").write_text(FILE_HEADER + more(400))
    sent.extend(header)
    for cycle in range(4):
        before = checkpoint_offsets(checkpoint)
        process = start(logs, out, checkpoint)
        try:
            # some of this file is delivered and checkpointed, then more is written while running
            wait_until(lambda: checkpoint_offsets(checkpoint) not in ({}, before), what="the checkpoint to move")  # noqa: B023
            with open(logs / "mail.current", "a") as handle:
                handle.write(more(300))
        finally:
            if stop == "kill9":
                kill9(process)  # type: ignore[arg-type]
            else:
                process.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
                _, err = process.communicate(timeout=60)  # type: ignore[attr-defined]
                assert process.returncode == 0, (process.returncode, err)  # type: ignore[attr-defined]
        # stopped: the live file grows, is rotated, and a new one starts
        with open(logs / "mail.current", "a") as handle:
            handle.write(more(250))
        os.rename(logs / "mail.current", logs / f"mail.@20261102T{cycle:02d}0000.s")
        (logs / "mail.current").write_text(FILE_HEADER.replace("08:00:00", f"0{cycle + 1}:00:00") + more(200))
        sent.extend(line.replace("08:00:00", f"0{cycle + 1}:00:00") for line in header)
    process = start(logs, out, checkpoint)
    try:
        wait_until(lambda: len(set(delivered(out))) >= len(set(sent)), what="every line")
    finally:
        process.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
        process.wait(timeout=60)  # type: ignore[attr-defined]
    counts = tally(sent, delivered(out))
    assert counts["lost"] == 0 and counts["unexpected"] == 0, counts
    if stop == "sigterm":
        assert counts["duplicated"] == 0, counts  # a clean stop resends nothing
