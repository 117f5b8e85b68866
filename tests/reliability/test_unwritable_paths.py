"""Issue 12 item 11 (first half): an unwritable ``--dead-letter`` or ``--checkpoint`` is refused before
any work (exit 2, nothing sent), for ``ship`` and ``listen`` alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from esalog.testing import FakeHEC
from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.conftest import run_cli
from tests.reliability.conftest import TOKEN, original_of


@pytest.mark.parametrize("option", ["--dead-letter", "--checkpoint"])
@pytest.mark.parametrize("where", ["missing-dir", "directory"])
def test_ship_refuses_unwritable_paths_before_work(tmp_path: Path, option: str, where: str) -> None:
    log = tmp_path / "mail.@20261102T080000.s"
    log.write_text(FILE_HEADER + "".join(distinct_lines(50)))
    target = tmp_path / "no" / "such" / "file" if where == "missing-dir" else tmp_path
    with FakeHEC(token=TOKEN) as hec:
        result = run_cli("ship", "--to", "hec", "--hec-url", hec.url, option, str(target), str(log),
                         env={"ESALOG_HEC_TOKEN": TOKEN})
        assert result.returncode == 2, result.stderr
        assert option.encode() in result.stderr
        assert hec.requests == 0


def test_listen_refuses_unwritable_dead_letter(tmp_path: Path) -> None:
    result = run_cli("listen", "--tcp", "127.0.0.1:0", "--dead-letter", str(tmp_path / "no" / "dead.ndjson"))
    assert result.returncode == 2
    assert b"--dead-letter" in result.stderr


@pytest.mark.parametrize(("option", "extra"), [("--out", ["--to", "file"]), ("--dead-letter", ["--to", "stdout"]),
                                               ("--checkpoint", ["--to", "stdout"])])
@pytest.mark.parametrize("named", ["same", "glob", "symlink"])
def test_ship_refuses_to_write_what_it_reads(tmp_path: Path, option: str, extra: list[str], named: str) -> None:
    """An output that is also an input (the same name, a name an input glob matches, a link to an input) is
    refused before any work, and the input is left as it was. Before, ``--to file --out`` appended its own
    events to the log it read, and with ``--follow 'DIR/*'`` read them back and shipped them again for
    ever (800 events from 100 lines in 10 s, still growing)."""
    log = tmp_path / "mail.@20261102T080000.s"
    log.write_text(FILE_HEADER + "".join(distinct_lines(50)))
    before = log.read_bytes()
    target, inputs = {"same": (log, [str(log)]), "glob": (tmp_path / "out.s", [str(tmp_path / "*.s"), "--follow"]),
                      "symlink": (tmp_path / "link.ndjson", [str(log)])}[named]
    if named == "symlink":
        target.symlink_to(log)
    result = run_cli("ship", *extra, option, str(target), "--poll-interval", "0.05", *inputs, timeout=30)
    assert result.returncode == 2, result.stderr
    assert result.stderr.decode().startswith(f"esalog: error: {option} {str(target)!r} is also an input")
    assert log.read_bytes() == before and (named == "symlink" or named == "same" or not target.exists())


def test_follow_of_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    """``ship --follow`` of a named pipe (syslog-ng's ``pipe()`` destination): it followed nothing, said
    nothing and ran until stopped, while the writer waited. Refused now, saying how a pipe is read."""
    fifo = tmp_path / "esa.pipe"
    os.mkfifo(fifo)
    result = run_cli("ship", "--to", "stdout", "--follow", str(fifo), timeout=60)
    assert result.returncode == 2, result.stderr
    assert b"esa.pipe" in result.stderr and b"named pipe" in result.stderr
    assert b"without --follow" in result.stderr and b"Traceback" not in result.stderr


def test_dead_letter_dash_is_stdout(tmp_path: Path) -> None:
    """``--dead-letter -`` (refused with ``--to stdout``, as if it were stdout) wrote a file named ``-`` in
    the working directory, and the closing line said "see -". It is stdout now."""
    log = tmp_path / "in.log"
    log.write_text("".join(f"Mon Nov  2 08:00:01 2026 Info: MID {n} Subject '{'REFUSED' if n % 2 else 'ok'}'\n"
                           for n in range(10)))
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.bad_event(b"REFUSED")
        result = subprocess.run([sys.executable, "-m", "esalog", "ship", "--to", "hec", "--hec-url", hec.url,
                                 "--dead-letter", "-", str(log)], capture_output=True, cwd=tmp_path, timeout=60,
                                env={**os.environ, "ESALOG_HEC_TOKEN": TOKEN})
    assert result.returncode == 1, result.stderr
    assert not (tmp_path / "-").exists()
    dead = [json.loads(row) for row in result.stdout.splitlines()]
    assert [original_of(row["event"]).split()[7] for row in dead] == ["1", "3", "5", "7", "9"]
    assert b"see stdout" in result.stderr
    refused = run_cli("listen", "--udp", "127.0.0.1:0", "--dead-letter", "-", timeout=60)
    assert refused.returncode == 2 and b"--dead-letter cannot be stdout" in refused.stderr
