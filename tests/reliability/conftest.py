"""Helpers for the fault-injection tests: run the CLI as a user does and count lines by identity."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import orjson

TOKEN = "5e1f0c2a-7b3d-4e8f-9a6b-1c2d3e4f5a6b"


def esalog(*args: str, env: dict[str, str] | None = None, **kwargs: object) -> subprocess.Popen[bytes]:
    """Start ``esalog ARGS`` (stderr piped, stdout discarded unless given)."""
    options: dict[str, object] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
    options.update(kwargs)
    return subprocess.Popen([sys.executable, "-m", "esalog", *args], env={**os.environ, **(env or {})},
                            **options)  # type: ignore[call-overload]


def wait_until(condition: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    """Poll *condition* (bounded); fail with *what* when it never holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def kill_if_running(process: subprocess.Popen[bytes]) -> None:
    """Kill *process* if it still runs (a test that failed before it ended), and reap it."""
    if process.poll() is None:
        process.kill()
        process.wait(timeout=30)


def kill9(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def checkpoint_offsets(path: Path) -> dict[tuple[int, int], int]:
    """The offset per file of the checkpoint at *path* (none while it does not exist: the check that it is
    writable may create and remove it at the start)."""
    try:
        files = orjson.loads(path.read_bytes())["files"]
    except (FileNotFoundError, orjson.JSONDecodeError):
        return {}
    return {(f["dev"], f["ino"]): f["offset"] for f in files}


def original_of(event: dict[str, object]) -> str:
    """The input line of an event (HEC envelope or plain event)."""
    inner = event.get("event", event)
    assert isinstance(inner, dict)
    original = inner.get("event", {}).get("original") if isinstance(inner.get("event"), dict) else None
    return str(original)


def tally(sent: Iterable[str], delivered: Iterable[str]) -> dict[str, int]:
    """Lines in, delivered (distinct), duplicated, lost — by line identity (the line text is unique)."""
    wanted = Counter(sent)
    got = Counter(delivered)
    return {
        "in": sum(wanted.values()),
        "delivered": sum(1 for line in got if line in wanted),
        "duplicated": sum(n - 1 for line, n in got.items() if line in wanted and n > 1),
        "lost": sum(1 for line in wanted if line not in got),
        "unexpected": sum(1 for line in got if line not in wanted),
    }
