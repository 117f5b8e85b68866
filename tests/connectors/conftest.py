"""Fixtures for the connector tests: generated ESA log files (one event per line, distinct lines)."""

from __future__ import annotations

from pathlib import Path

import pytest

HEADER = (
    "Mon Nov  2 08:00:00 2026 Info: Begin Logfile\n"
    "Mon Nov  2 08:00:00 2026 Info: Time offset from UTC: 3600 seconds\n"
)


def esa_lines(count: int, start: int = 0) -> list[str]:
    """*count* distinct ESA mail log lines (file form), cycling through a message's life."""
    lines = []
    for n in range(start, start + count):
        mid, kind = n // 4, n % 4
        if kind == 0:
            lines.append(f"Mon Nov  2 08:00:01 2026 Info: Start MID {mid} ICID {mid}\n")
        elif kind == 1:
            lines.append(f"Mon Nov  2 08:00:01 2026 Info: MID {mid} ICID {mid} From: <a{n}@example.com>\n")
        elif kind == 2:
            lines.append(f'Mon Nov  2 08:00:02 2026 Info: MID {mid} Subject "hello {n}"\n')
        else:
            lines.append(f"Mon Nov  2 08:00:02 2026 Info: Message finished MID {mid} done\n")
    return lines


def write_log(path: Path, count: int) -> Path:
    """A log file with the two header lines and *count* - 2 body lines (*count* lines in all)."""
    path.write_text(HEADER + "".join(esa_lines(count - 2)), encoding="utf-8")
    return path


@pytest.fixture
def small_log(tmp_path: Path) -> Path:
    """A 400-line ESA log file."""
    return write_log(tmp_path / "mail.@20261102T080000.s", 400)
