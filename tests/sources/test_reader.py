"""The source stage: lines read in blocks keep each line's records and checkpoint offsets exact."""

from __future__ import annotations

from pathlib import Path

from esalog.encode import encode_lines
from esalog.pipeline import Pipeline, build_pipeline
from esalog.sources.lines import MAX_LINE_BYTES
from esalog.sources.reader import Source, SourceConfig
from esalog.testing.generate import FILE_HEADER as HEADER
from esalog.testing.generate import distinct_lines
from tests.reference_lines import reference_lines


def per_line(pipeline: Pipeline, path: Path) -> list[tuple[int, int, bytes]]:
    """(line start, line end, its NDJSON) for every line the source reads from *path*."""
    out = []
    for batch in Source(pipeline, SourceConfig(paths=(str(path),))).batches():
        out += [(line.offset, line.next_offset, encode_lines(line.records)) for line in batch.lines()]
    return out


def test_blocks_match_line_by_line_reading(tmp_path: Path) -> None:
    """Records per line and offsets equal those of reading and processing one line at a time."""
    body = [line.encode() for line in distinct_lines(400)]
    body[10] = body[10].replace(b"\n", b"\r\n")
    body[20] = b"Mon Nov  2 08:00:03 2026 Info: MID 5 Subject \"caf\xe9\"\n"  # not UTF-8
    body[40] = b"Mon Nov  2 08:00:03 2026 Info: " + b"x" * (MAX_LINE_BYTES + 10) + b"\n"
    path = tmp_path / "mail.log"
    path.write_bytes(HEADER.encode() + b"".join(body) + b"Mon Nov  2 08:00:04 2026 Info: no newline")
    got = per_line(build_pipeline(), path)
    reference = build_pipeline()
    stream = reference.open_stream(str(path))
    with open(path, "rb") as handle:
        processed = [(raw.offset, raw.next_offset, reference.process(raw.text, stream, raw.problems))
                     for raw in reference_lines(handle)]
    # encoded once all are read: the header lines take the time offset that follows them
    expected = [(start, end, encode_lines(records)) for start, end, records in processed]
    assert len(body) + 3 == len(got)
    assert path.stat().st_size == got[-1][1]
    assert expected == got
