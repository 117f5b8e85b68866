"""stdout (or ``--html``) on a full disk (``/dev/full``: every write fails with ENOSPC): one line naming what
could not be written, exit 1, never a traceback or a silent exit 0; a reader that goes away early
(``| head -c 1``) is no error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from esalog.testing.generate import FILE_HEADER, distinct_lines


def _run(*args: str, stdout: object) -> tuple[int, str]:
    result = subprocess.run([sys.executable, "-m", "esalog", *args], stdout=stdout,  # type: ignore[call-overload]
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=120)
    return result.returncode, result.stderr.decode()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "mail.@20261102T080000.s"
    path.write_text(FILE_HEADER + "".join(distinct_lines(20)), encoding="utf-8")
    return path


@pytest.mark.parametrize("args", [("--version",), ("--help",), ("parse", "--help"), ("schema",), ("es-template",),
                                  ("patterns", "list"), ("report", "{log}"), ("report", "--json", "{log}")],
                         ids=lambda a: " ".join(a))
def test_stdout_on_a_full_disk_is_one_line_and_exit_1(log: Path, args: tuple[str, ...]) -> None:
    with open("/dev/full", "wb") as full:
        code, err = _run(*(str(log) if a == "{log}" else a for a in args), stdout=full)
    assert "Traceback" not in err, err
    assert 1 == code, err
    assert [x for x in err.splitlines() if "error" in x] == ["esalog: error: cannot write stdout: No space left on "
                                                            "device"], err


def test_html_report_on_a_full_disk_names_the_file(log: Path) -> None:
    code, err = _run("report", str(log), "--html", "/dev/full", stdout=subprocess.DEVNULL)
    assert 1 == code and "Traceback" not in err, err
    assert "esalog: error: cannot write --html '/dev/full': No space left on device" in err.splitlines(), err


@pytest.mark.parametrize("args", [("--version",), ("--help",), ("parse", "--help"), ("schema",)],
                         ids=lambda a: " ".join(a))
def test_a_reader_that_goes_away_is_no_error(args: tuple[str, ...]) -> None:
    process = subprocess.Popen([sys.executable, "-m", "esalog", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # gone before esalog writes: its first write meets a closed pipe
    err = process.stderr.read().decode()
    assert 0 == process.wait(timeout=60), err
    assert "" == err
