"""Issue 12 item 15: ``--timeout`` bounds the whole request: a server that trickles its answer a byte at
a time (each read quick) is cut off when the time is up, and the batch is retried."""

from __future__ import annotations

import json
import time
from pathlib import Path

from esalog.testing import FakeElasticsearch, FakeHEC
from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.conftest import run_cli
from tests.reliability.conftest import TOKEN


def test_trickling_answer_is_cut_at_the_deadline(tmp_path: Path) -> None:
    log = tmp_path / "mail.@20261102T080000.s"
    log.write_text(FILE_HEADER + "".join(distinct_lines(98)))
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.trickle(0.2, times=2)  # ~80 bytes of answer at 5 bytes/s: 16 s per answer
        started = time.monotonic()
        result = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--timeout", "1", "--retry-initial", "0.05",
                         "--stats", str(log), env={"ESALOG_HEC_TOKEN": TOKEN}, timeout=60)
        took = time.monotonic() - started
        assert result.returncode == 0, result.stderr
        assert hec.faults.applied == ["trickle", "trickle"]
    assert took < 8, f"took {took:.1f}s: the deadline did not hold"
    stats = json.loads(result.stderr.splitlines()[-1])
    # both trickled answers were given up on and the batch sent again (the fake indexed it each time:
    # at-least-once, duplicates possible in Splunk)
    assert stats["acknowledged"] == 100 and stats["retried"] == 200


def test_answer_whose_headers_never_end_is_a_timeout(tmp_path: Path) -> None:
    """A slow-loris answer: the status line comes at once, then header lines trickle without end. The
    deadline cut it, and the cut headers were taken for a complete, empty 200 answer: the batch was
    retried as "_bulk answer does not list every item" instead of as a timeout."""
    log = tmp_path / "mail.@20261102T080000.s"
    log.write_text(FILE_HEADER + "".join(distinct_lines(8)))
    with FakeElasticsearch() as es:
        es.faults.trickle_headers(0.05, times=100)
        result = run_cli("ship", "--to", "es", "--es-url", es.url, "--timeout", "1", "--retry-initial", "0.05",
                         "--retry-budget", "0.5", "--stats", str(log), timeout=120)
        assert es.faults.applied[:2] == ["trickle_headers", "trickle_headers"]
    assert result.returncode == 1, result.stderr
    assert b"no complete answer within 1s" in result.stderr
    assert b"does not list every item" not in result.stderr
    stats = json.loads(result.stderr.splitlines()[-1])
    assert stats["acknowledged"] == 0 and stats["failed"] == 10
