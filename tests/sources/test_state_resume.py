"""Correlation survives restarts: `ship --checkpoint` killed (kill -9) at random points and resumed gives
the same abort categories and message summaries as one uninterrupted run."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from pathlib import Path

from esalog.testing import read_ndjson
from esalog.testing.generate import write_corpus


def _ship(log: Path, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "esalog", "ship", "--to", "file", "--out", str(out), "-q",
                             "--summaries", "--max-open", "2000", str(log), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _facts(events: list[dict]) -> tuple[set[tuple], dict[str, object]]:
    """Summaries (MID, disposition, abort category, complete, recipients) and each line's abort category."""
    summaries = set()
    aborts: dict[str, object] = {}
    for event in events:
        esa = event.get("cisco", {}).get("esa", {})
        if event["event"].get("action") == "message-summary":
            summaries.add((esa["mid"], esa["disposition"], (esa.get("abort") or {}).get("category"),
                           esa["summary"]["complete"], tuple(r.get("address", "") for r in esa.get("recipients", []))))
        elif "abort" in esa:
            aborts[event["event"]["original"]] = esa["abort"]["category"]
    return summaries, aborts


def test_killed_and_resumed_run_matches_an_uninterrupted_one(tmp_path: Path) -> None:
    log = tmp_path / "mail.@20261102T080000.s"
    write_corpus(log, 50_000, "file", 21)
    reference = tmp_path / "reference.ndjson"
    assert _ship(log, reference, "--checkpoint", str(tmp_path / "reference.ckpt")).wait(timeout=300) == 0
    want = _facts(read_ndjson(reference))
    assert want[0] and {"connection_lost", "sender_quit", "policy_drop"} <= set(want[1].values())

    out, checkpoint = tmp_path / "resumed.ndjson", tmp_path / "ship.ckpt"
    rng = random.Random(4)
    kills = 0
    for attempt in range(60):
        process = _ship(log, out, "--checkpoint", str(checkpoint), "--state-interval", "0.1",
                        "--checkpoint-interval", "0.05")
        try:
            process.wait(timeout=rng.uniform(0.5, 1.5) + attempt * 0.15)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
            continue
        assert process.returncode == 0, process.stderr.read() if process.stderr else b""  # type: ignore[union-attr]
        break
    else:
        raise AssertionError("never finished")
    assert kills >= 2, "the run was not interrupted: make the corpus longer"
    assert b"tracker" in checkpoint.read_bytes()
    got = _facts(read_ndjson(out))
    assert got[1] == want[1]  # every abort line: the same category as uninterrupted
    assert got[0] == want[0]  # every summary: the same disposition, abort, completeness, recipients
