"""Checkpoint file: atomic save, reload, guards against a reused inode or a truncated file."""

from __future__ import annotations

from pathlib import Path

import pytest

from esalog.connectors.batch import Item
from esalog.connectors.checkpoint import Checkpoint, Ledger
from esalog.errors import ConfigError


def committed_ledger(offset: int) -> Ledger:
    ledger = Ledger()
    ticket = ledger.open_line((7, 42), "abc", "/logs/mail.current", offset, 1)
    ledger.resolve([Item(b"", ticket)], ok=True)
    return ledger


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    """What is saved is what a new run resumes from; no temporary file is left behind."""
    path = tmp_path / "ship.ckpt"
    assert Checkpoint(str(path)).save(committed_ledger(120))
    loaded = Checkpoint(str(path)).load()
    assert 120 == loaded.offset_for((7, 42), size=500, key="abc")
    assert ["ship.ckpt"] == sorted(p.name for p in tmp_path.iterdir())


def test_unchanged_ledger_is_not_rewritten(tmp_path: Path) -> None:
    """save() writes only when the ledger moved (or when forced)."""
    checkpoint = Checkpoint(str(tmp_path / "c"))
    ledger = committed_ledger(10)
    assert checkpoint.save(ledger)
    assert not checkpoint.save(ledger)
    assert checkpoint.save(ledger, force=True)


@pytest.mark.parametrize(("size", "key", "expected"), [(500, "abc", 120), (100, "abc", 0), (500, "other", 0)])
def test_resume_offset_guards(tmp_path: Path, size: int, key: str, expected: int) -> None:
    """A shrunk file or a different first line (reused inode) starts from 0."""
    path = tmp_path / "c"
    Checkpoint(str(path)).save(committed_ledger(120))
    assert expected == Checkpoint(str(path)).load().offset_for((7, 42), size=size, key=key)


def test_malformed_checkpoint_is_an_error(tmp_path: Path) -> None:
    """A damaged checkpoint is reported, never silently ignored (that would resend or skip data)."""
    path = tmp_path / "c"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not readable"):
        Checkpoint(str(path)).load()
