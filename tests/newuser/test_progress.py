"""Issue 10, point 5: progress where work is long. On a terminal, parse, ship, report and patterns
coverage draw one progress line on stderr (lines, rate, percent of the inputs' bytes over all the
files, plain or gzip); on a pipe, nothing but the closing lines."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from tests.conftest import run_cli, run_cli_tty
from tests.connectors.conftest import write_log

#: one redraw: "\r12,345 lines  6,789 lines/s  42%" (ship adds "  N delivered"), ended by erase-to-end
DRAW = re.compile(rb"\r([\d,]+) lines  ([\d,]+) lines/s(?:  (\d+)%)?[^\r\x1b]*\x1b\[K")
COMMANDS = {
    "parse": ["parse", "-o", "{out}"],
    "ship": ["ship", "--to", "file", "--out", "{out}"],
    "report": ["report"],
    "patterns coverage": ["patterns", "coverage"],
}
LINES = 3000


@pytest.fixture
def inputs(tmp_path: Path) -> list[str]:
    """Three files, the middle one gzip'd: the percentage must run over all of them."""
    first = write_log(tmp_path / "mail.@20261102T080000.s", LINES)
    middle = write_log(tmp_path / "mail.@20261102T090000.s", LINES)
    packed = tmp_path / "mail.@20261102T090000.s.gz"
    packed.write_bytes(gzip.compress(middle.read_bytes()))
    middle.unlink()
    last = write_log(tmp_path / "mail.@20261102T100000.s", LINES)
    return [str(first), str(packed), str(last)]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_progress_on_a_terminal_is_cumulative_over_the_files(command: str, inputs: list[str],
                                                             tmp_path: Path) -> None:
    """Every redraw names lines and rate; percentages never go back, and the last state drawn (before
    the line is wiped for the summary) is all the lines and 100 % of the bytes of the three files."""
    argv = [a.replace("{out}", str(tmp_path / "out.ndjson")) for a in COMMANDS[command]]
    proc = run_cli_tty(*argv, *inputs)
    assert proc.returncode == 0, proc.stderr
    draws = DRAW.findall(proc.stderr)
    assert draws, proc.stderr
    percents = [int(p) for _, _, p in draws]
    assert percents == sorted(percents)
    lines, _, percent = draws[-1]
    assert int(lines.replace(b",", b"")) == 3 * LINES and percent == b"100"
    *_, last = DRAW.finditer(proc.stderr)
    assert proc.stderr[last.end():].startswith(b"\r\x1b[K")  # wiped, the summary takes its place
    if command == "ship":
        assert re.search(rb"  9,000 delivered\x1b\[K", proc.stderr)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_no_progress_on_a_pipe(command: str, inputs: list[str], tmp_path: Path) -> None:
    """stderr on a pipe: no carriage return, no terminal control, no progress text."""
    argv = [a.replace("{out}", str(tmp_path / "out.ndjson")) for a in COMMANDS[command]]
    proc = run_cli(*argv, *inputs)
    assert proc.returncode == 0, proc.stderr
    assert b"\r" not in proc.stderr and b"\x1b" not in proc.stderr
    assert not DRAW.search(proc.stderr)


def test_quiet_means_no_progress_on_a_terminal(inputs: list[str]) -> None:
    proc = run_cli_tty("report", "--quiet", *inputs)
    assert proc.returncode == 0 and not DRAW.search(proc.stderr)


def test_stdin_progress_has_no_percentage(inputs: list[str]) -> None:
    """The size of stdin is unknown: lines and rate, no percentage."""
    proc = run_cli_tty("patterns", "coverage", "-", stdin=Path(inputs[0]))
    assert proc.returncode == 0, proc.stderr
    draws = DRAW.findall(proc.stderr)
    assert draws and all(p == b"" for _, _, p in draws)
    assert int(draws[-1][0].replace(b",", b"")) == LINES
