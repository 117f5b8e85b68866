"""Issue 12 item 16 (second half): checkpoint entries of files that exist no more are dropped."""

from __future__ import annotations

from pathlib import Path

import orjson

from esalog.sources.checkpoint import Checkpoint
from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.conftest import run_cli


def test_ship_prunes_entries_of_deleted_files(tmp_path: Path) -> None:
    kept = tmp_path / "mail.@20261102T080000.s"
    gone = tmp_path / "mail.@20261102T090000.s"
    for path in (kept, gone):
        path.write_text(FILE_HEADER + "".join(distinct_lines(20)))
    checkpoint = tmp_path / "ship.ckpt"
    assert run_cli("ship", "--to", "stdout", "--checkpoint", str(checkpoint), str(kept), str(gone)).returncode == 0
    assert len(orjson.loads(checkpoint.read_bytes())["files"]) == 2
    renamed = tmp_path / "mail.@20261102T080000.s.old"
    kept.rename(renamed)  # renamed, not gone: same identity in the same directory
    gone.unlink()
    assert run_cli("ship", "--to", "stdout", "--checkpoint", str(checkpoint), str(renamed)).returncode == 0
    files = orjson.loads(checkpoint.read_bytes())["files"]
    assert [Path(f["path"]).name for f in files] in (["mail.@20261102T080000.s"], ["mail.@20261102T080000.s.old"])


def test_forget_missing_keeps_renamed_and_drops_deleted(tmp_path: Path) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_text("x\n")
    b.write_text("y\n")
    checkpoint = Checkpoint(str(tmp_path / "c.ckpt"))
    for path in (a, b):
        stat = path.stat()
        checkpoint.advance((stat.st_dev, stat.st_ino), str(path), "k", 2)
    a.rename(tmp_path / "a.log.1")
    b.unlink()
    assert checkpoint.forget_missing() == 1
    assert [Path(e.path).name for e in checkpoint.entries.values()] == ["a.log"]
