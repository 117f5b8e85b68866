"""Issue 10 item 4: a dead or unreachable sink never looks like a hang. While retrying, ``ship`` prints a
progress line every few seconds (what failed, attempts, time left of --retry-budget); the first Ctrl-C
stops promptly with the checkpoint consistent and says so; a second one exits at once."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

from esalog.testing import FakeHEC, StderrLines
from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.reliability.conftest import TOKEN, checkpoint_offsets, esalog, wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def interrupt(process: subprocess.Popen[bytes]) -> tuple[bytes, float]:
    """Ctrl-C (SIGINT) and wait for the exit: the rest of stderr, and the seconds the exit took."""
    sent_at = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=20)
    return rest, time.monotonic() - sent_at


def test_unreachable_sink_reports_while_retrying_and_first_ctrl_c_stops(tmp_path: Path) -> None:
    log = tmp_path / "mail.@20261102T080000.s"
    log.write_text(FILE_HEADER + "".join(distinct_lines(498)))
    checkpoint = tmp_path / "ship.ckpt"
    process = esalog("ship", "--to", "hec", "--hec-url", f"http://127.0.0.1:{free_port()}", "--retry-budget", "600",
                     "--retry-initial", "0.2", "--retry-max", "1", "--report-interval", "0.5", "--stats",
                     "--checkpoint", str(checkpoint), str(log), env={"ESALOG_HEC_TOKEN": TOKEN})
    try:
        watched = StderrLines(process)
        report = watched.wait_line("attempts failed")
        assert "hec: retrying 500 events" in report and "cannot connect: [Errno 111] Connection refused" in report
        assert "left of --retry-budget" in report and "500 received, 0 delivered, 500 pending" in report
        watched.wait_line("attempts failed")  # and again a little later
        rest, took = interrupt(process)
    finally:
        process.kill()
    assert took < 5, f"the first Ctrl-C took {took:.1f}s"
    assert process.returncode == 1
    assert b"SIGINT: stopping" in rest
    stats = json.loads(rest.splitlines()[-1])
    assert stats["received"] == stats["acknowledged"] + stats["dead_lettered"] + stats["failed"] == 500
    assert checkpoint_offsets(checkpoint) in ({}, {(log.stat().st_dev, log.stat().st_ino): 0})


def test_second_ctrl_c_exits_at_once_while_a_request_hangs(tmp_path: Path) -> None:
    log = tmp_path / "mail.@20261102T080000.s"
    log.write_text(FILE_HEADER + "".join(distinct_lines(2998)))
    checkpoint = tmp_path / "ship.ckpt"
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.slow(0.0, times=2).slow(120, times=100)  # two batches go through, then the server hangs
        process = esalog("ship", "--to", "hec", "--hec-url", hec.url, "--batch-events", "500", "--batch-timeout", "60", "--timeout", "300",
                         "--checkpoint", str(checkpoint), str(log), env={"ESALOG_HEC_TOKEN": TOKEN})
        text = log.read_bytes()
        confirmed = len(b"".join(text.splitlines(keepends=True)[:1000]))
        try:
            # two batches confirmed and checkpointed; the third hangs in the server
            wait_until(lambda: list(checkpoint_offsets(checkpoint).values()) == [confirmed] or process.poll() is not None,
                       what="the checkpoint of the two batches confirmed")
            process.send_signal(signal.SIGINT)
            StderrLines(process).wait_line("SIGINT: stopping")
            rest, took = interrupt(process)
        finally:
            process.kill()
    assert took < 3, f"the second Ctrl-C took {took:.1f}s"
    assert process.returncode == 1
    assert b"stopped at once" in rest and b"pending (not confirmed)" in rest
    # the checkpoint still holds exactly the lines confirmed: the first 1000 events (two batches)
    assert list(checkpoint_offsets(checkpoint).values()) == [confirmed]
