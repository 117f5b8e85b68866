"""``esalog ship --follow`` through ESA's rotations: no line read twice, none skipped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from esalog.testing import read_ndjson
from esalog.testing.generate import FILE_HEADER as HEADER
from esalog.testing.generate import distinct_lines


def output_originals(path: Path) -> list[str]:
    """The originals of the events in *path* so far (none while it does not exist: ship's check that the
    output is writable may create and remove it before the sink opens it)."""
    try:
        return [e["event"]["original"] for e in read_ndjson(path)]
    except FileNotFoundError:
        return []


def wait_for(path: Path, count: int) -> list[str]:
    """The output once it holds *count* events (bounded wait)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = output_originals(path)
        if len(got) >= count:
            return got
        time.sleep(0.05)
    raise AssertionError(f"only {len(output_originals(path))} of {count} events arrived")


@pytest.mark.parametrize(
    ("live", "rotated", "pattern", "next_live"),
    [
        ("mail.current", "mail.@20261102T090000.s", "mail.current", "mail.current"),
        ("mail.@20261102T080000.c", "mail.@20261102T080000.s", "mail.@*.c", "mail.@20261102T090000.c"),
    ],
    ids=["current_to_stamped_s", "c_to_s"],
)
def test_follow_across_rotation(
    tmp_path: Path, live: str, rotated: str, pattern: str, next_live: str
) -> None:
    """Lines appended (one written in two halves), rotation by rename, a new live file: each line once."""
    logs = tmp_path / "logs"
    logs.mkdir()
    out = tmp_path / "out.ndjson"
    first = [HEADER, *distinct_lines(100)]
    (logs / live).write_text("".join(first))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "esalog",
            "ship",
            "--to",
            "file",
            "--out",
            str(out),
            "--follow",
            "--poll-interval",
            "0.05",
            "--batch-timeout",
            "0.05",
            str(logs / pattern),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(out, 102)
        more = distinct_lines(30, start=100)
        with open(logs / live, "a") as handle:
            handle.write(more[0][:20])  # half a line: must not be read yet
            handle.flush()
            time.sleep(0.3)
            handle.write(more[0][20:] + "".join(more[1:]))
        wait_for(out, 132)
        tail = distinct_lines(20, start=130)
        with open(logs / live, "a") as handle:  # written just before the rotation
            handle.write("".join(tail))
        os.rename(logs / live, logs / rotated)
        fresh = [HEADER, *distinct_lines(40, start=150)]
        (logs / next_live).write_text("".join(fresh))
        got = wait_for(out, 194)
        time.sleep(0.3)  # nothing more may come
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert 0 == process.returncode, stderr
    expected = "".join([*first, *more, *tail, *fresh]).splitlines()
    assert expected == output_originals(out)
    assert len(got) == len(expected)


def test_follow_resumes_from_checkpoint_after_sigterm(tmp_path: Path) -> None:
    """Stop a follower with SIGTERM, let the file grow and rotate meanwhile, start again: each line once."""
    logs = tmp_path / "logs"
    logs.mkdir()
    out = tmp_path / "out.ndjson"
    checkpoint = tmp_path / "ship.ckpt"
    command = [sys.executable, "-m", "esalog", "ship", "--to", "file", "--out", str(out), "--follow",
               "--poll-interval", "0.05", "--batch-timeout", "0.05", "--checkpoint", str(checkpoint),
               "--checkpoint-interval", "0.05", str(logs / "mail.*")]
    first = [HEADER, *distinct_lines(60)]
    (logs / "mail.current").write_text("".join(first))
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(out, 62)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        assert 0 == process.returncode, stderr
        grown = distinct_lines(25, start=60)
        with open(logs / "mail.current", "a") as handle:
            handle.write("".join(grown))
        os.rename(logs / "mail.current", logs / "mail.@20261102T090000.s")
        fresh = [HEADER, *distinct_lines(15, start=85)]
        (logs / "mail.current").write_text("".join(fresh))
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(out, 62 + 25 + 17)
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert 0 == process.returncode, stderr
    expected = "".join([*first, *grown, *fresh]).splitlines()
    assert sorted(expected) == sorted(output_originals(out))
    assert len(expected) == len(output_originals(out))
