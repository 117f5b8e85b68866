"""Issue 12 item 11 (first half): an unwritable ``--dead-letter`` or ``--checkpoint`` is refused before
any work (exit 2, nothing sent), for ``ship`` and ``listen`` alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from esalog.testing import FakeHEC
from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.conftest import run_cli
from tests.reliability.conftest import TOKEN


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
