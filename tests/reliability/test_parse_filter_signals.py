"""SIGTERM and SIGINT stop ``parse`` and ``filter`` cleanly: every event of the lines done is written whole
(no torn last line), one line on stderr names the signal and the lines done, the exit code is 128 + the
signal (143, 130)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.reliability.conftest import kill_if_running

SIGNALS = pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])


def _start(*args: str, stdin: object = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "esalog", *args], stdin=stdin,  # type: ignore[arg-type]
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _said(err: str, sig: signal.Signals) -> int:
    """The lines done the one stop line names."""
    found = [re.search(rf"stopped by {sig.name} after ([\d,]+) lines", x) for x in err.splitlines()]
    stops = [x for x in found if x]
    assert len(stops) == 1 and "Traceback" not in err, err
    return int(stops[0].group(1).replace(",", ""))


def _events(out: bytes, lines: list[bytes]) -> int:
    """Every output line is a whole event of the next input line, in order; how many."""
    assert out.endswith(b"\n") or not out
    originals = [orjson.loads(x)["event"]["original"].encode() for x in out.splitlines()]
    assert originals == lines[: len(originals)]
    return len(originals)


@SIGNALS
@pytest.mark.parametrize("mode", [(), ("--stateless",), ("--workers", "2"), ("--stateless", "--workers", "2")],
                         ids=["tracked", "stateless", "workers", "parts"])
def test_parse_of_files_stops_cleanly(tmp_path: Path, sig: signal.Signals, mode: tuple[str, ...]) -> None:
    """Stopped while it waits on a full pipe: what it was writing is written whole, then it stops (with
    --workers: the worker writing its unit stops after its batch, no later unit is written)."""
    logs = [tmp_path / f"mail.@2026110{n}T080000.s" for n in (2, 3)]
    for n, log in enumerate(logs):
        log.write_text(FILE_HEADER + "".join(distinct_lines(100_000 + n)), encoding="utf-8")
    lines = [line for log in logs for line in log.read_bytes().splitlines()]
    process = _start("parse", "-q", *mode, *map(str, logs))
    try:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        time.sleep(0.5)
        process.send_signal(sig)
        out = first + process.stdout.read()
        err = process.stderr.read().decode()
        code = process.wait(timeout=60)
    finally:
        kill_if_running(process)
    assert 128 + sig == code, err
    done = _events(out, lines)
    assert 0 < done < len(lines)
    assert done == _said(err, sig)


@SIGNALS
@pytest.mark.parametrize("command", ["parse", "filter"])
def test_reading_a_quiet_pipe_stops_at_once(sig: signal.Signals, command: str) -> None:
    """Stopped while it waits for more input on stdin: the lines received have their events, exit at once."""
    lines = (FILE_HEADER + "".join(distinct_lines(40))).encode().splitlines()
    process = _start(command, *(["-q", "-"] if command == "parse" else []), stdin=subprocess.PIPE)
    try:
        assert process.stdin is not None and process.stdout is not None and process.stderr is not None
        process.stdin.write(b"".join(x + b"\n" for x in lines))
        process.stdin.flush()
        if command == "filter":  # answers per line: wait for the answers before the signal
            got = b"".join(process.stdout.readline() for _ in lines)
        else:
            time.sleep(1.5)  # parse reads blocks: let it take in what is there
            got = b""
        process.send_signal(sig)
        out = got + process.stdout.read()
        err = process.stderr.read().decode()
        code = process.wait(timeout=30)
        process.stdin.close()
    finally:
        kill_if_running(process)
    assert 128 + sig == code, err
    assert len(lines) == _events(out, lines) == _said(err, sig)


@pytest.mark.parametrize("writer", ["idle", "none"])
def test_parse_of_a_quiet_fifo_stops_at_once(tmp_path: Path, writer: str) -> None:
    """A named pipe given by path whose writer is quiet (or that no writer opened yet: the open waits): the
    signal ends the wait at once, as on stdin (the handler's flag alone left it waiting for ever)."""
    fifo = tmp_path / "esa.pipe"
    os.mkfifo(fifo)
    lines = (FILE_HEADER + "".join(distinct_lines(20))).encode().splitlines()
    process = _start("parse", "-q", str(fifo))
    held = None
    try:
        if writer == "idle":
            held = open(fifo, "wb")  # kept open, quiet, until the end
            held.write(b"".join(x + b"\n" for x in lines))
            held.flush()
        time.sleep(1.5)
        process.send_signal(signal.SIGTERM)
        out, raw_err = process.communicate(timeout=30)
        err = raw_err.decode()
        code = process.returncode
    finally:
        kill_if_running(process)
        if held is not None:
            held.close()
    assert 143 == code, err
    sent = len(lines) if writer == "idle" else 0
    assert sent == _events(out, lines) == _said(err, signal.SIGTERM)
