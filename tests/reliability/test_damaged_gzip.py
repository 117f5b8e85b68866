"""Issue 12 item 4: a truncated or corrupt ``.gz`` among ``mail.@*``: every readable line shipped, the
damage marked and reported, later files shipped, exit 1, and a rerun goes on past it."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import pytest

from esalog.testing import FakeHEC
from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.conftest import run_cli
from tests.reliability.conftest import TOKEN, tally


def readable_lines(data: bytes, chunk: int) -> list[str]:
    """The lines that can be got out of damaged gzip bytes read *chunk* bytes at a time (the last one
    possibly cut): what any reader must deliver at least."""
    decompressor = zlib.decompressobj(31)
    text = b""
    try:
        for start in range(0, len(data), chunk):
            text += decompressor.decompress(data[start : start + chunk])
    except zlib.error:
        pass
    return [line for line in text.decode("utf-8", "replace").split("\n") if line]


def header(hour: int) -> str:
    return FILE_HEADER.replace("08:00:00", f"{hour:02d}:00:00")


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_damaged_gzip_ships_every_readable_line_and_later_files(tmp_path: Path, damage: str) -> None:
    first = header(8) + "".join(distinct_lines(500))
    second = header(9) + "".join(distinct_lines(30_000, start=500))
    third = header(10) + "".join(distinct_lines(300, start=30_500))
    (tmp_path / "mail.@20261102T080000.s.gz").write_bytes(gzip.compress(first.encode()))
    packed = gzip.compress(second.encode())
    if damage == "truncated":
        broken = packed[: len(packed) * 9 // 10]
    else:  # bytes in the middle overwritten: the deflate stream (or its CRC) is wrong
        middle = len(packed) * 9 // 10
        broken = packed[:middle] + b"\x00garbage\xff" * 8 + packed[middle + 72 :]
    assert len(packed) > 140_000  # the damage lies past the reader's first 128 KiB read
    (tmp_path / "mail.@20261102T090000.s.gz").write_bytes(broken)
    (tmp_path / "mail.@20261102T100000.s").write_text(third)
    checkpoint = tmp_path / "ship.ckpt"
    dead = tmp_path / "dead.ndjson"
    args = ["ship", "--to", "hec", "--checkpoint", str(checkpoint), "--dead-letter", str(dead),
            str(tmp_path / "mail.@*")]
    env = {"ESALOG_HEC_TOKEN": TOKEN}
    with FakeHEC(token=TOKEN) as hec:
        result = run_cli(*args[:3], "--hec-url", hec.url, *args[3:], env=env)
        assert result.returncode == 1, result.stderr
        assert b"mail.@20261102T090000.s.gz: unreadable from uncompressed byte" in result.stderr
        events = [e["event"] for e in hec.events]
        originals = [e["event"].get("original") for e in events if e["event"].get("original")]
        # of the damaged file: every line that decompresses before the damage (in the reader's 128 KiB
        # reads), not the lines after it (a corrupt deflate stream may yield some garbage before it fails)
        lines = second.splitlines()
        got = set(originals) - set(first.splitlines()) - set(third.splitlines())
        at_least = readable_lines(broken, 128 * 1024)[:-1]
        assert len(at_least) > 1000 and set(at_least) <= got
        assert not set(lines[-100:]) & got
        counts = tally([*first.splitlines(), *third.splitlines()], originals)
        assert counts["lost"] == 0 and counts["duplicated"] == 0, counts
        errors = [e for e in events if e["event"].get("kind") == "pipeline_error" and "unreadable from" in str(e)]
        assert len(errors) == 1 and "mail.@20261102T090000.s.gz" in str(errors[0])
        # a rerun with the same checkpoint does not stop at the damaged file: new data after it is shipped
        with open(tmp_path / "mail.@20261102T100000.s", "a") as handle:
            handle.write("".join(distinct_lines(20, start=40_000)))
        before = hec.count
        again = run_cli(*args[:3], "--hec-url", hec.url, *args[3:], env=env)
        assert again.returncode == 0, again.stderr
        assert hec.count - before == 20
