"""Fixtures for the connector tests: generated ESA log files (one event per line, distinct lines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from esalog.testing.generate import FILE_HEADER, distinct_lines


def write_log(path: Path, count: int) -> Path:
    """A log file with the two header lines and *count* - 2 body lines (*count* lines in all)."""
    path.write_text(FILE_HEADER + "".join(distinct_lines(count - 2)), encoding="utf-8")
    return path


@pytest.fixture
def small_log(tmp_path: Path) -> Path:
    """A 400-line ESA log file."""
    return write_log(tmp_path / "mail.@20261102T080000.s", 400)
