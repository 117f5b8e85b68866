"""A file truncated while ``parse`` reads it (copytruncate, a cleaning job): the lines read before give their
events (the last one perhaps of the start of a line the cut tore) once each, in order; the cut is said on stderr with the file and the offset reached, an event
(``pipeline_error``, ``read_error``) marks the gap in the output, and the exit code is 1."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.reliability.conftest import kill_if_running


@pytest.mark.parametrize("mode", [(), ("--stateless",), ("--workers", "1"), ("--stateless", "--workers", "2")],
                         ids=["tracked", "stateless", "workers", "parts"])
def test_parse_of_a_file_truncated_while_read(tmp_path: Path, mode: tuple[str, ...]) -> None:
    log = tmp_path / "mail.@20261102T080000.s"
    log.write_text(FILE_HEADER + "".join(distinct_lines(150_000)), encoding="utf-8")
    lines = log.read_bytes().splitlines()
    process = subprocess.Popen([sys.executable, "-m", "esalog", "parse", "-q", *mode, str(log)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()  # it runs; with nobody reading, it soon waits on the full pipe
        time.sleep(1.0)
        with open(log, "r+b") as handle:
            handle.truncate(0)
        out = first + process.stdout.read()
        err = process.stderr.read().decode()
        code = process.wait(timeout=120)
    finally:
        kill_if_running(process)
    events = [orjson.loads(x) for x in out.splitlines()]
    assert events[-1]["event"]["kind"] == "pipeline_error" and events[-1]["error"]["type"] == "read_error"
    gap = events[-1]
    read = [e["event"]["original"].encode() for e in events[:-1]]
    assert 10 < len(read) < len(lines)  # what was read before the cut, no more
    # once each, in order: nothing lost or doubled; the last line read may be the start of one the cut tore
    assert lines[: len(read) - 1] == read[:-1] and lines[len(read) - 1].startswith(read[-1])
    reached = sum(len(x) + 1 for x in read) - (read[-1] != lines[len(read) - 1])
    assert gap["log"]["offset"] == reached and gap["log"]["file"]["path"] == str(log)
    assert 1 == code, err
    said = [x for x in err.splitlines() if "truncated" in x]
    assert len(said) == 1 and str(log) in said[0] and f"byte {reached}" in said[0], err
    assert "Traceback" not in err


def test_filter_of_a_file_truncated_while_read(tmp_path: Path) -> None:
    """``filter < FILE``: the same, without the gap event (a filter answers one line per line): the lines
    read give their events once each, in order, stderr names the file and the offset, exit 1."""
    log = tmp_path / "mail.@20261102T080000.s"
    log.write_text(FILE_HEADER + "".join(distinct_lines(100_000)), encoding="utf-8")
    lines = log.read_bytes().splitlines()
    with open(log, "rb") as stdin:
        process = subprocess.Popen([sys.executable, "-m", "esalog", "filter"], stdin=stdin,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        time.sleep(1.0)
        with open(log, "r+b") as handle:
            handle.truncate(0)
        out = first + process.stdout.read()
        err = process.stderr.read().decode()
        code = process.wait(timeout=120)
    finally:
        kill_if_running(process)
    read = [orjson.loads(x)["event"]["original"].encode() for x in out.splitlines()]
    assert 10 < len(read) < len(lines)
    assert lines[: len(read) - 1] == read[:-1] and lines[len(read) - 1].startswith(read[-1])
    reached = sum(len(x) + 1 for x in read) - (read[-1] != lines[len(read) - 1])
    assert 1 == code, err
    said = [x for x in err.splitlines() if "truncated" in x]
    assert len(said) == 1 and str(log) in said[0] and f"byte {reached}" in said[0], err
