"""Shared fixtures: the reference corpus beside the project, and helpers to run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("ESALOG_CORPUS", ROOT.parent / "shared" / "corpus"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """``../shared/corpus`` (or $ESALOG_CORPUS); tests that need it skip cleanly when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"reference corpus not found at {CORPUS}")
    return CORPUS


def run_cli(*args: str, input: bytes | None = None, timeout: float = 120,
            env: dict[str, str] | None = None, python_args: bool = False) -> subprocess.CompletedProcess[bytes]:
    """Run ``esalog ARGS`` in a subprocess, the way a user does (*python_args*: ``python ARGS`` instead)."""
    return subprocess.run(
        [sys.executable, *args] if python_args else [sys.executable, "-m", "esalog", *args],
        input=input, capture_output=True, timeout=timeout, env={**os.environ, **(env or {})},
    )
