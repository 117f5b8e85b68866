"""Issue 12 item 16 (first half): after a 413 the size that was refused is remembered per endpoint, so
later batches are split before they are sent instead of costing a refused request each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from esalog.testing import FakeHEC
from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.conftest import run_cli
from tests.reliability.conftest import TOKEN, original_of, tally


@pytest.mark.parametrize("reading", [(), ("--stateless",)], ids=["tracked", "stateless"])
def test_413_size_is_remembered(reading: tuple[str, ...], tmp_path: Path) -> None:
    lines = [FILE_HEADER, *distinct_lines(9998)]
    log = tmp_path / "mail.@20261102T080000.s"
    log.write_text("".join(lines))
    batch = 1000
    with FakeHEC(token=TOKEN, max_content_length=150_000) as hec:
        result = run_cli("ship", *reading, "--to", "hec", "--hec-url", hec.url, "--no-gzip", "--batch-events", str(batch),
                         "--batch-bytes", "10000000", "--concurrency", "1", "--stats", str(log),
                         env={"ESALOG_HEC_TOKEN": TOKEN})
        assert result.returncode == 0, result.stderr
        counts = tally("".join(lines).splitlines(), [original_of(e) for e in hec.events])
    assert counts["lost"] == 0 and counts["duplicated"] == 0, counts
    stats = json.loads(result.stderr.splitlines()[-1])
    # only the first batch (and its too-large halves) went out whole: every later one was split first
    assert stats["sent"] <= stats["received"] + 2 * batch, stats
