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


def test_file_seen_but_not_yet_confirmed_is_found_after_rotation(tmp_path: Path) -> None:
    """Found by the soak run: a live file read but not one line of it confirmed (a slow sink) when esalog
    was killed, then rotated while it was down, was never read again. A followed file is now recorded in
    the checkpoint as soon as it is seen."""
    from esalog.testing import FakeHEC
    from tests.reliability.conftest import TOKEN, original_of

    logs = tmp_path / "logs"
    logs.mkdir()
    checkpoint = tmp_path / "ship.ckpt"
    first = FILE_HEADER + "".join(distinct_lines(300))
    (logs / "mail.current").write_text(first)
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.slow(5, times=1)
        args = ["ship", "--to", "hec", "--hec-url", hec.url, "--follow", "--poll-interval", "0.05",
                "--checkpoint", str(checkpoint), str(logs / "mail.current")]
        process = esalog(*args, env={"ESALOG_HEC_TOKEN": TOKEN})
        wait_until(lambda: bool(checkpoint_offsets(checkpoint)), what="the file recorded")
        assert list(checkpoint_offsets(checkpoint).values()) == [0]
        kill9(process)  # type: ignore[arg-type]
        os.rename(logs / "mail.current", logs / "mail.@20261102T090000.s")
        second = FILE_HEADER.replace("08:00:00", "09:00:00") + "".join(distinct_lines(100, start=300))
        (logs / "mail.current").write_text(second)
        process = esalog(*args, env={"ESALOG_HEC_TOKEN": TOKEN})
        try:
            wait_until(lambda: hec.count >= 404, what="both files")
        finally:
            process.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
            process.wait(timeout=60)  # type: ignore[attr-defined]
        counts = tally((first + second).splitlines(), [original_of(e) for e in hec.events])
    assert counts["lost"] == 0, counts


def test_down_across_two_rotations_reads_the_file_never_seen(tmp_path: Path) -> None:
    """esalog stopped cleanly; the ESA rotated twice before it came back: the tail of the checkpointed
    file, the file it never saw (by its rotated name, in order), then the live one."""
    logs = tmp_path / "logs"
    logs.mkdir()
    out = tmp_path / "out.ndjson"
    checkpoint = tmp_path / "ship.ckpt"
    sent: list[str] = []

    def lines(hour: int, count: int, start: int) -> str:
        text = FILE_HEADER.replace("08:00:00", f"{hour:02d}:00:00") + "".join(distinct_lines(count, start=start))
        sent.extend(text.splitlines())
        return text

    (logs / "mail.current").write_text(lines(8, 200, 0))
    (logs / "mail.@20261102T070000.s").write_text(lines(7, 50, 10_000))  # older, before esalog: not read
    sent[-52:] = []
    process = start(logs, out, checkpoint)
    wait_until(lambda: len(delivered(out)) >= 202, what="the first file")
    process.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
    assert process.wait(timeout=60) == 0  # type: ignore[attr-defined]
    with open(logs / "mail.current", "a") as handle:
        handle.write("".join(distinct_lines(30, start=200)))
    sent.extend(line.rstrip("\n") for line in distinct_lines(30, start=200))
    os.rename(logs / "mail.current", logs / "mail.@20261102T090000.s")
    (logs / "mail.current").write_text(lines(9, 100, 300))
    os.rename(logs / "mail.current", logs / "mail.@20261102T100000.s")
    (logs / "mail.current").write_text(lines(10, 100, 500))
    process = start(logs, out, checkpoint)
    try:
        wait_until(lambda: set(sent) <= set(delivered(out)), what="every line")
    finally:
        process.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
        process.wait(timeout=60)  # type: ignore[attr-defined]
    got = delivered(out)
    counts = tally(sent, got)
    assert counts["lost"] == 0 and counts["duplicated"] == 0 and counts["unexpected"] == 0, counts
    # in order: the first file's tail, the file never seen, the live file
    order = [got.index(line) for line in ("Mon Nov  2 09:00:00 2026 Info: Begin Logfile",
                                          "Mon Nov  2 10:00:00 2026 Info: Begin Logfile")]
    assert order == sorted(order)
