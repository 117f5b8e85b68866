"""``esalog patterns coverage``: per-rule counts and unmatched lines grouped by shape."""

from __future__ import annotations

from pathlib import Path

from esalog.parsers.coverage import shape
from tests.conftest import run_cli


def test_shape_masks_variable_parts() -> None:
    """Numbers, addresses, IPs and quoted strings are masked."""
    assert shape("MID 12 to <a@b.c> from 10.0.0.1 'x y' \"z\" bob@example.com") == \
        "MID <n> to <addr> from <ip> '<q>' \"<q>\" <addr>"


def test_coverage_command_reports_rules_and_groups_unmatched_lines(tmp_path: Path) -> None:
    """The command counts each rule's lines and groups unknown lines by shape, most frequent first."""
    log = tmp_path / "mail_logs.@20261127T000000.s"
    log.write_text(
        "Thu Aug 14 11:05:36 2014 Info: ICID 10293 close\n"
        "Thu Aug 14 11:05:36 2014 Info: ICID 10294 close\n"
        "Thu Aug 14 11:05:36 2014 Info: MID 5 frobnicated 12 times\n"
        "Thu Aug 14 11:05:36 2014 Info: MID 6 frobnicated 3 times\n"
        "Thu Aug 14 11:05:36 2014 Info: Zorg 1\n"
        "not a log line\n")
    proc = run_cli("patterns", "coverage", str(log))
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    assert "    2  mail_logs           connection-closed" in out
    assert "6 lines: 2 recognised (33.3%), 3 unmatched in 2 shapes" in out
    shapes = out.split("unmatched lines by shape, most frequent first:")[1]
    assert shapes.index("    2  MID <n> frobnicated <n> times") < shapes.index("    1  Zorg <n>")
    assert "e.g. MID 5 frobnicated 12 times" in shapes
    assert "[no_header] not a log line" in out
