"""Checkpoint file: atomic save, reload, guards against a reused inode or a truncated file."""

from __future__ import annotations

from pathlib import Path

import pytest

from esalog.connectors.batch import Item
from esalog.errors import ConfigError
from esalog.sources.checkpoint import Checkpoint, Ledger


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
    assert (120, False) == loaded.resume((7, 42), "abc", 500, compressed=False)
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
    assert (expected, False) == Checkpoint(str(path)).load().resume((7, 42), key, size, compressed=False)


def test_a_compressed_file_read_to_its_end_is_done_while_its_size_is_the_same(tmp_path: Path) -> None:
    """A .gz marked done is skipped without decompressing it again; a different size reads it again."""
    path = tmp_path / "c"
    ledger = Ledger()
    ticket = ledger.open_line((7, 43), "k", "/logs/mail.@1.s.gz", 9000, 1, done_size=1234)
    ledger.resolve([Item(b"", ticket)], ok=True)
    Checkpoint(str(path)).save(ledger)
    loaded = Checkpoint(str(path)).load()
    assert (9000, True) == loaded.resume((7, 43), "k", 1234, compressed=True)
    assert (9000, False) == loaded.resume((7, 43), "k", 1300, compressed=True)


def test_malformed_checkpoint_is_an_error(tmp_path: Path) -> None:
    """A damaged checkpoint is reported, never silently ignored (that would resend or skip data)."""
    path = tmp_path / "c"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="is not JSON"):
        Checkpoint(str(path)).load()


def test_lines_opened_at_once_are_tracked_as_one_by_one() -> None:
    """open_lines: a ticket per line, in order, the last carrying the done size; the offset moves past a
    line only once it and every line before it are resolved."""
    ledger = Ledger()
    tickets = ledger.open_lines((7, 44), "k", "/logs/mail.@1.s.gz", [10, 20, 30], [1, 2, 1], done_size=99)
    assert [(10, 1, None), (20, 2, None), (30, 1, 99)] == [(t.next_offset, t.emitted, t.done_size) for t in tickets]
    ledger.resolve([Item(b"", tickets[0]), Item(b"", tickets[1]), Item(b"", tickets[2])], ok=True)
    assert 10 == ledger.committed[(7, 44)].offset  # the second line has one event unresolved
    ledger.resolve([Item(b"", tickets[1])], ok=True)
    assert (30, True, 99) == (ledger.committed[(7, 44)].offset, ledger.committed[(7, 44)].done,
                              ledger.committed[(7, 44)].size)
