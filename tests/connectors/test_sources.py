"""The ship reader: lines read in blocks keep each line's events and checkpoint offsets exact."""

from __future__ import annotations

import argparse
from pathlib import Path

from esalog.cli import add_parse_options, build_pipeline
from esalog.connectors.sources import Reader
from esalog.inputs import MAX_LINE_BYTES, read_lines
from esalog.pipeline import Pipeline
from tests.connectors.conftest import HEADER, esa_lines


def default_pipeline() -> Pipeline:
    """The pipeline ``esalog ship`` builds with no parsing options (session tracking included)."""
    parser = argparse.ArgumentParser()
    add_parse_options(parser)
    return build_pipeline(parser.parse_args([]))


def test_reader_matches_line_by_line_reading(tmp_path: Path) -> None:
    """Events per line, next_offset and origin equal those of reading and processing one line at a time."""
    body = [line.encode() for line in esa_lines(400)]
    body[10] = body[10].replace(b"\n", b"\r\n")
    body[20] = b"Mon Nov  2 08:00:03 2026 Info: MID 5 Subject \"caf\xe9\"\n"  # not UTF-8
    body[40] = b"Mon Nov  2 08:00:03 2026 Info: " + b"x" * (MAX_LINE_BYTES + 10) + b"\n"
    path = tmp_path / "mail.log"
    path.write_bytes(HEADER.encode() + b"".join(body) + b"Mon Nov  2 08:00:04 2026 Info: no newline")
    got = [(line.next_offset, line.origin, line.events) for line in Reader(default_pipeline(), [str(path)]).lines()]
    reference = default_pipeline()
    stream = reference.open_stream(path.name)
    with open(path, "rb") as handle:
        key = got[0][1].split(":")[0]
        expected = [(raw.next_offset, f"{key}:{raw.offset}", reference.process(raw, stream))
                    for raw in read_lines(handle)]
    assert len(body) + 3 == len(got)
    assert path.stat().st_size == got[-1][0]
    assert expected == got
