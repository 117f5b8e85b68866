"""kill -9 in the middle of ``esalog ship --checkpoint``, restart: every line arrives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from esalog.testing import FakeElasticsearch, FakeHEC
from tests.conftest import run_cli
from tests.connectors.conftest import write_log

TOKEN = "0c9f8e7d-6b5a-4c3d-8e2f-1a2b3c4d5e6f"
LINES = 12_000
BATCH = 300


def ship_until_killed(args: list[str], env: dict[str, str], ready: Callable[[], bool]) -> None:
    """Start esalog ship, wait (bounded) until *ready*, then SIGKILL it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "esalog", "ship", *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert process.poll() is None, "esalog ship ended before it could be killed: use a larger file"
        assert ready(), "esalog ship made no progress within 60 s"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)


def checkpoint_offset(path: Path) -> int:
    """The furthest offset of the checkpoint at *path* (0 while it does not exist: the check that it is
    writable may create and remove it at the start)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    return max((f["offset"] for f in orjson.loads(data)["files"]), default=0)


#: how ship reads: the records the stages enrich, or (--stateless) the compiled core's encoded events
READINGS = pytest.mark.parametrize("reading", [(), ("--stateless",)], ids=["tracked", "stateless"])


@READINGS
def test_kill_9_and_restart_to_elasticsearch(reading: tuple[str, ...], tmp_path: Path) -> None:
    """SIGKILL while shipping to a slow ES, restart with the same checkpoint: N lines -> N distinct _id."""
    log = write_log(tmp_path / "mail.@20261102T080000.s", LINES)
    checkpoint = tmp_path / "ship.ckpt"
    args = [
        *reading,
        "--to",
        "es",
        "--es-index",
        "esa",
        "--batch-events",
        str(BATCH),
        "--checkpoint",
        str(checkpoint),
        "--checkpoint-interval",
        "0.05",
        "--retry-initial",
        "0.05",
        str(log),
    ]
    with FakeElasticsearch() as es:
        es.faults.slow(0.1, times=10_000)
        ship_until_killed(["--es-url", es.url, *args], {}, lambda: checkpoint_offset(checkpoint) > 0)
        before = es.count("esa")
        resumed_at = checkpoint_offset(checkpoint)
        assert 0 < before < LINES
        es.faults = type(es.faults)()  # the server is fast again
        result = run_cli("ship", "--es-url", es.url, "--stats", *args)
        assert 0 == result.returncode, result.stderr
        docs = list(es.docs["esa"].values())
    received = orjson.loads(result.stderr.decode().splitlines()[-1])["received"]
    assert received < LINES  # the restart resumed from the checkpoint
    assert 0 < resumed_at <= log.stat().st_size
    lines = log.read_text().splitlines()
    assert len(lines) == len(docs)
    assert sorted(lines) == sorted(d["event"]["original"] for d in docs)


@READINGS
def test_kill_9_and_restart_to_hec_duplicates_only_from_the_window(reading: tuple[str, ...], tmp_path: Path) -> None:
    """Same with HEC: nothing missing; duplicates at most the unacknowledged window (queue + in flight)."""
    log = write_log(tmp_path / "mail.@20261102T080000.s", LINES)
    checkpoint = tmp_path / "ship.ckpt"
    args = [
        *reading,
        "--to",
        "hec",
        "--batch-events",
        str(BATCH),
        "--checkpoint",
        str(checkpoint),
        "--checkpoint-interval",
        "0.05",
        "--queue-batches",
        "2",
        str(log),
    ]
    env = {"ESALOG_HEC_TOKEN": TOKEN}
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.slow(0.1, times=10_000)
        ship_until_killed(["--hec-url", hec.url, *args], env, lambda: checkpoint_offset(checkpoint) > 0)
        hec.faults = type(hec.faults)()
        result = run_cli("ship", "--hec-url", hec.url, *args, env=env)
        assert 0 == result.returncode, result.stderr
        got = Counter(e["event"]["original"] for e in hec.event_payloads())
    lines = log.read_text().splitlines()
    assert set(lines) == set(got)
    duplicates = sum(got.values()) - len(lines)
    print(f"kill -9 + restart to HEC: {len(lines)} lines, {duplicates} duplicates")
    # batcher + queue + sender + one in flight at the server, all unacknowledged at the kill
    assert duplicates <= (2 + 3) * BATCH
