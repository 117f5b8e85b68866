"""Issue 12 item 14: the checkpoint advances with every acknowledged batch, so a kill -9 resends at most
the batches in flight (queued, being sent, being filled) — counted by line identity over a kill loop."""

from __future__ import annotations

from pathlib import Path

from esalog.testing import FakeHEC
from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.conftest import run_cli
from tests.reliability.conftest import TOKEN, checkpoint_offsets, esalog, kill9, original_of, tally, wait_until

BATCH = 200
QUEUE = 4
CONCURRENCY = 2
#: what can be unconfirmed at a kill: the queue, one batch per sender, one held by the reader, the batcher
IN_FLIGHT = (QUEUE + CONCURRENCY + 2) * BATCH


def test_kill9_loop_resends_at_most_the_batches_in_flight(tmp_path: Path) -> None:
    lines = [FILE_HEADER, *distinct_lines(30_000)]
    log = tmp_path / "mail.@20261102T080000.s"
    log.write_text("".join(lines))
    checkpoint = tmp_path / "ship.ckpt"
    args = ["ship", "--to", "hec", "--batch-events", str(BATCH), "--queue-batches", str(QUEUE),
            "--concurrency", str(CONCURRENCY), "--checkpoint", str(checkpoint), str(log)]
    env = {"ESALOG_HEC_TOKEN": TOKEN}
    kills = 4
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.slow(0.05, times=100_000)  # a sink slower than the reader: the queue stays full
        for _ in range(kills):
            before = checkpoint_offsets(checkpoint)
            process = esalog(args[0], "--hec-url", hec.url, *args[1:], env=env)
            wait_until(lambda: checkpoint_offsets(checkpoint) not in ({}, before), what="progress")  # noqa: B023
            count = hec.count
            wait_until(lambda: hec.count >= count + 15 * BATCH, what="more batches")  # noqa: B023
            kill9(process)
        hec.faults = type(hec.faults)()
        result = run_cli(args[0], "--hec-url", hec.url, *args[1:], env=env)
        assert result.returncode == 0, result.stderr
        counts = tally("".join(lines).splitlines(), [original_of(e) for e in hec.events])
    assert counts["lost"] == 0 and counts["unexpected"] == 0, counts
    assert counts["duplicated"] <= kills * IN_FLIGHT, counts
