"""Issue 12 item 9: ``--to file`` killed with -9 mid-write leaves a partial row; the resume cuts it back
to the last complete line, so the output is whole NDJSON and every line is there."""

from __future__ import annotations

from pathlib import Path

import orjson

from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.conftest import run_cli
from tests.reliability.conftest import checkpoint_offsets, esalog, kill9, tally, wait_until


def test_kill9_partial_row_is_repaired_on_resume(tmp_path: Path) -> None:
    lines = [FILE_HEADER, *distinct_lines(40_000)]
    log = tmp_path / "mail.@20261102T080000.s"
    log.write_text("".join(lines))
    out = tmp_path / "out.ndjson"
    checkpoint = tmp_path / "ship.ckpt"
    args = ["ship", "--to", "file", "--out", str(out), "--batch-events", "200", "--checkpoint", str(checkpoint),
            str(log)]
    for _ in range(3):
        process = esalog(*args)
        before = checkpoint_offsets(checkpoint)
        wait_until(lambda: checkpoint_offsets(checkpoint) not in ({}, before), what="progress")  # noqa: B023
        kill9(process)
    # whatever the kills left, a row cut mid-write is also what a kill inside write() leaves
    with open(out, "ab") as handle:
        handle.write(b'{"@timestamp":"2026-11-02T07:00:01.000Z","message":"Start MI')
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    rows = out.read_bytes().split(b"\n")
    assert rows[-1] == b""
    events = [orjson.loads(row) for row in rows[:-1]]  # every row is whole JSON
    sent = "".join(lines).splitlines()
    counts = tally(sent, [e["event"]["original"] for e in events])
    assert counts["lost"] == 0 and counts["unexpected"] == 0, counts
