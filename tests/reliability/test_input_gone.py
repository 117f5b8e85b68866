"""An input that disappears after the run started (deleted by a retention job, rotated away) and before
its turn: the run stopped there, with exit 2 (a usage error) and the files after it never read. Now it is
said and skipped, the others are read, and the exit code is 1 (some input could not be read).

Made deterministic with a named pipe as the first input: once the test's open of the pipe returns, esalog
has checked every path and is reading the pipe; the second file is deleted then."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.reliability.conftest import kill_if_running


def _line(n: int) -> str:
    return f"Mon Nov  2 08:00:01 2026 Info: Start MID {n} ICID {n}\n"


@pytest.mark.parametrize("command", [["parse"], ["ship", "--to", "stdout"], ["report", "--json"]])
def test_input_deleted_before_its_turn_is_skipped_and_said(tmp_path: Path, command: list[str]) -> None:
    fifo, gone, last = tmp_path / "first.pipe", tmp_path / "second.log", tmp_path / "third.log"
    os.mkfifo(fifo)
    gone.write_text(_line(10))
    last.write_text(_line(20))
    process = subprocess.Popen([sys.executable, "-m", "esalog", *command, str(fifo), str(gone), str(last)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with open(fifo, "w") as writer:  # returns once esalog opened the pipe: past its checks of the paths
            gone.unlink()
            writer.write(_line(0))
        out, err = process.communicate(timeout=60)
    finally:
        kill_if_running(process)
    assert process.returncode == 1, err
    assert b"Traceback" not in err
    assert b"second.log" in err and b"No such file or directory" in err
    if command[0] == "report":
        assert orjson.loads(out)["lines"] == 2
    else:
        assert [orjson.loads(row)["cisco"]["esa"]["mid"] for row in out.splitlines()] == [0, 20]


def test_a_worker_that_failed_before_its_turn_still_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``parse --workers``: a worker that fails at its start reports the error and ends before its turn;
    the parent's send of the turn then failed and the error read "the worker reading X stopped (exit code
    0)". The report is read anyway. (The worker is forked: the failure patched in here is its.)"""
    from multiprocessing import get_context

    from esalog.errors import ConfigError
    from esalog.integrations import convert
    from esalog.pipeline import PipelineConfig, build_pipeline

    def failing(*_: object, **__: object) -> None:
        raise ConfigError("the reason of the worker")

    monkeypatch.setattr(convert, "convert", failing)
    config = PipelineConfig()
    path = str(tmp_path / "some.log")
    with open(tmp_path / "out.ndjson", "wb") as target:
        worker = convert._Worker(get_context("fork"), build_pipeline(config), config, [path], target.fileno(), [])
        worker.process.join(timeout=60)  # it has reported and ended: its turn comes after
        assert worker.process.exitcode == 0
        with pytest.raises(ConfigError, match="the reason of the worker"):
            worker.turn(path, None)
        worker.close(stop=False)


def test_a_worker_whose_file_is_gone_skips_it_like_one_process(tmp_path: Path) -> None:
    """``parse --workers``: a file deleted after the parent checked the paths, before its worker started,
    ended the whole run with exit 2 ("no such file"); it is skipped and said, as without --workers."""
    from multiprocessing import get_context

    from esalog.integrations import convert
    from esalog.pipeline import PipelineConfig, build_pipeline

    config = PipelineConfig()
    gone = str(tmp_path / "gone.log")
    with open(tmp_path / "out.ndjson", "wb") as target:
        worker = convert._Worker(get_context("fork"), build_pipeline(config), config, [gone], target.fileno(), [])
        converted, _ = worker.turn(gone, None)
        worker.close(stop=False)
    assert converted.damaged == [f"cannot read {gone!r}: No such file or directory; skipped"]
