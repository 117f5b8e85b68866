"""Shared fixtures: the reference corpus beside the project, and helpers to run the CLI.

When the reference corpus (``../shared/corpus``, or ``$ESALOG_CORPUS``) is absent, the tests that need
it are not run, and the run ends with one line that says how many, why, and how to point them at a
corpus (:func:`pytest_terminal_summary`). Nothing else is skipped: a test that needs a system package
fails when it is missing (``make test`` installs them first).
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
#: ``make test`` (what CI runs) draws the same examples on every run (HYPOTHESIS_PROFILE=ci): a rare case
#: found by a plain ``pytest`` run, which explores anew each time, becomes a test of its own instead of a
#: CI run that fails at random.
settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
CORPUS = Path(os.environ.get("ESALOG_CORPUS", ROOT.parent / "shared" / "corpus"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: The tests that need the reference corpus and were not run because it is absent (see the hooks below).
_NEEDS_CORPUS: list[str] = []


def corpus_line(count: int) -> str:
    """The closing line of a run without the reference corpus."""
    where = f"{CORPUS} (ESALOG_CORPUS)" if "ESALOG_CORPUS" in os.environ else str(CORPUS)
    return (f"esalog: {count} tests did not run: they need the reference corpus, not found at {where}; "
            "to run them, set ESALOG_CORPUS=/path/to/corpus (a copy of shared/corpus)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without the corpus, leave out the tests that use the ``corpus`` fixture (counted, said at the end)."""
    if CORPUS.is_dir():
        return
    kept, left_out = [], []
    for item in items:
        (left_out if "corpus" in getattr(item, "fixturenames", ()) else kept).append(item)
    if left_out:
        _NEEDS_CORPUS.extend(item.nodeid for item in left_out)
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _NEEDS_CORPUS:
        terminalreporter.write_line(corpus_line(len(_NEEDS_CORPUS)), yellow=True, bold=True)


@pytest.fixture(scope="session")
def corpus() -> Path:
    """``../shared/corpus`` (or $ESALOG_CORPUS); without it, the tests that use it are left out (above)."""
    assert CORPUS.is_dir(), f"reference corpus not found at {CORPUS}"
    return CORPUS


def run_cli(*args: str, input: bytes | None = None, timeout: float = 120,
            env: dict[str, str] | None = None, python_args: bool = False) -> subprocess.CompletedProcess[bytes]:
    """Run ``esalog ARGS`` in a subprocess, the way a user does (*python_args*: ``python ARGS`` instead)."""
    return subprocess.run(
        [sys.executable, *args] if python_args else [sys.executable, "-m", "esalog", *args],
        input=input, capture_output=True, timeout=timeout, env={**os.environ, **(env or {})},
    )


def run_cli_tty(*args: str, timeout: float = 120, stdin: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``esalog ARGS`` with stderr on a pseudo-terminal (what a user at a terminal sees there), stdout
    on a pipe and stdin from *stdin* (else nothing); ``stderr`` of the result holds every byte written to
    the terminal."""
    master, slave = pty.openpty()
    source = open(stdin, "rb") if stdin is not None else None  # closed once the child has it
    try:
        proc = subprocess.Popen([sys.executable, "-m", "esalog", *args], stdin=source or subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=slave, env=os.environ.copy())
    finally:
        os.close(slave)
        if source is not None:
            source.close()
    seen = bytearray()
    try:
        assert proc.stdout is not None
        out: list[bytes] = []
        reader = threading.Thread(target=lambda: out.append(proc.stdout.read() if proc.stdout else b""))
        reader.start()
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal (it exited)
                break
            if not data:
                break
            seen += data
        reader.join(timeout)
        code = proc.wait(timeout)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, code, b"".join(out), bytes(seen))
