"""Issue 12 item 3: Elasticsearch ``_id`` s never collide across appliances, and a resend reuses them."""

from __future__ import annotations

import os
from pathlib import Path

from esalog.testing import FakeElasticsearch
from esalog.testing.generate import distinct_lines
from tests.conftest import run_cli

FIRST = "Mon Nov  2 08:00:00 2026 Info: Begin Logfile\n"


def appliance_file(path: Path, serial: str | None, lines: list[str]) -> Path:
    header = FIRST + (f"Mon Nov  2 08:00:00 2026 Info: Version: 15.0.0-104 SN: {serial}\n" if serial else "")
    path.write_text(header + "".join(lines))
    return path


def ship_es(es: FakeElasticsearch, *paths: Path) -> None:
    result = run_cli("ship", "--to", "es", "--es-url", es.url, "--es-index", "esa", *map(str, paths))
    assert result.returncode == 0, result.stderr


def test_two_appliances_same_first_line_never_share_an_id(tmp_path: Path) -> None:
    """Same first line, same offsets, different serial numbers (and no serial at all): no overwrite."""
    lines = distinct_lines(300)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    (tmp_path / "d").mkdir()
    files = [
        appliance_file(tmp_path / "a" / "mail.@20261102T080000.s", "AAAA-1111", lines),
        appliance_file(tmp_path / "b" / "mail.@20261102T080000.s", "BBBB-2222", lines),
        # no header naming the appliance: the file's identity keeps them apart
        appliance_file(tmp_path / "c" / "mail.@20261102T080000.s", None, lines),
        appliance_file(tmp_path / "d" / "mail.@20261102T080000.s", None, lines),
    ]
    with FakeElasticsearch() as es:
        ship_es(es, *files)
        events = 2 * (len(lines) + 2) + 2 * (len(lines) + 1)
        assert len(es.ids("esa")) == events, "documents overwritten by an _id collision"


def test_resend_after_rotation_rename_reuses_the_ids(tmp_path: Path) -> None:
    """The same lines shipped again (no checkpoint) after the file was renamed: the same ids."""
    lines = distinct_lines(200)
    for serial in ("CCCC-3333", None):
        directory = tmp_path / (serial or "none")
        directory.mkdir()
        live = appliance_file(directory / "mail.current", serial, lines)
        with FakeElasticsearch() as es:
            ship_es(es, live)
            before = es.ids("esa")
            rotated = directory / "mail.@20261102T090000.s"
            os.rename(live, rotated)
            ship_es(es, rotated)
            assert es.ids("esa") == before
