"""Issue 10, point 7: the file sink rotates like logrotate, through ``ship --to file``: no file passes
``--rotate-bytes N`` by more than one line, ``PATH.1`` is the newest rotated file, and a later run goes
on numbering (``PATH.1`` becomes ``PATH.2``...)."""

from __future__ import annotations

import re
from pathlib import Path

from esalog.testing import read_ndjson
from tests.conftest import run_cli
from tests.connectors.conftest import write_log

N = 200_000


def _chain(out: Path) -> list[Path]:
    """The rotated files oldest first, then PATH: the order the events were written in."""
    numbered = []
    for path in out.parent.iterdir():
        m = re.fullmatch(re.escape(out.name) + r"\.(\d+)", path.name)
        if m:
            numbered.append((int(m.group(1)), path))
    assert sorted(n for n, _ in numbered) == list(range(1, len(numbered) + 1))  # no gap: .1, .2, ...
    return [p for _, p in sorted(numbered, reverse=True)] + [out]


def _ship(log: Path, out: Path, *extra: str) -> None:
    proc = run_cli("ship", "--to", "file", "--out", str(out), "--rotate-bytes", str(N), "--quiet", *extra, str(log))
    assert proc.returncode == 0, proc.stderr


def test_rotate_bytes_bound_and_logrotate_numbering(tmp_path: Path) -> None:
    log = write_log(tmp_path / "mail.@20261102T080000.s", 6000)
    out = tmp_path / "out" / "esa.ndjson"
    out.parent.mkdir()
    _ship(log, out)
    chain = _chain(out)
    assert len(chain) >= 4
    longest = max(len(line) for path in chain for line in path.read_bytes().splitlines(keepends=True))
    for path in chain:
        size = path.stat().st_size
        assert size <= N or size - len(path.read_bytes().splitlines(keepends=True)[-1]) < N, path
        assert size <= N + longest
        assert path.read_bytes().endswith(b"\n")  # whole lines only
    for path in chain[:-1]:  # a rotated file was full: the next line would not have fitted
        first_of_next = chain[chain.index(path) + 1].read_bytes().splitlines(keepends=True)[0]
        assert path.stat().st_size + len(first_of_next) > N
    lines = log.read_text().splitlines()
    events = [e for path in chain for e in read_ndjson(path)]
    assert [e["event"]["original"] for e in events] == lines  # .1 newest: oldest-first reading is input order

    # a second run appends to PATH and keeps rotating: what was .1 becomes .2 and so on
    before = {path.name: path.read_bytes() for path in chain}
    _ship(log, out, "--batch-events", "7")
    after = _chain(out)
    assert len(after) > len(chain)
    shift = len(after) - len(chain)
    for name, data in before.items():
        if name == out.name:
            continue
        number = int(name.rsplit(".", 1)[1])
        assert (out.parent / f"{out.name}.{number + shift}").read_bytes() == data
    events = [e for path in after for e in read_ndjson(path)]
    assert [e["event"]["original"] for e in events] == lines + lines
    for path in after:
        assert path.stat().st_size <= N + longest


def test_rotate_bytes_zero_means_never(tmp_path: Path) -> None:
    log = write_log(tmp_path / "mail.@20261102T080000.s", 3000)
    out = tmp_path / "esa.ndjson"
    proc = run_cli("ship", "--to", "file", "--out", str(out), "--rotate-bytes", "0", "--quiet", str(log))
    assert proc.returncode == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("esa.ndjson")] == ["esa.ndjson"]
