"""Fixtures for the connector tests: generated ESA log files (one event per line, distinct lines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from esalog.connectors.base import Sink
from esalog.connectors.batch import Item
from esalog.parsers.record import Record
from esalog.pipeline import PipelineConfig, build_pipeline
from esalog.sources.reader import Source, SourceConfig
from esalog.testing.generate import FILE_HEADER, distinct_lines
from esalog.tracking.config import TrackingConfig


def write_log(path: Path, count: int) -> Path:
    """A log file with the two header lines and *count* - 2 body lines (*count* lines in all)."""
    path.write_text(FILE_HEADER + "".join(distinct_lines(count - 2)), encoding="utf-8")
    return path


@pytest.fixture
def small_log(tmp_path: Path) -> Path:
    """A 400-line ESA log file."""
    return write_log(tmp_path / "mail.@20261102T080000.s", 400)


def shipped_records(path: Path, event: dict[str, Any]) -> tuple[list[Record], list[int]]:
    """The records ``ship --stateless`` hands to a sink for a small log at *path* (the compiled core's records
    of their encoded events, where the core is built), with a message summary (of *event*) and an event
    without a readable time stamp among them, and per line the index just after its records."""
    log = write_log(path, 60)
    pipeline = build_pipeline(PipelineConfig(tracking=TrackingConfig(stateless=True)))
    batches = list(Source(pipeline, SourceConfig(paths=(str(log),)), encoded_records=True).batches())
    records = [record for batch in batches for record in batch.records]
    summary = Record.of_document({**event, "event": {"action": "message-summary", "kind": "state"}})
    no_time = Record.of_document({"@timestamp": "not a time", "message": "x",
                                  "event": {"created": "2026-11-02T07:00:00.000Z"}})
    records[30:30] = [summary, summary, no_time]
    # one line with no event, one with three (the summary a line finishes), the others one each
    ends = [*range(1, 30), 29, *range(33, len(records) + 1)]
    return records, ends


def encoded_both_ways(sink: Sink, records: list[Record], ends: list[int]) -> tuple[list[tuple[bytes, str]], list[Item]]:
    """What *sink* makes of the lines *ends* cuts *records* into, one event at a time with encode_item (the
    data and ticket of each) and at once with encode_lines (the items)."""
    tickets = [f"line {n}" for n in range(len(ends))]
    origins = [f"k:{n}" for n in range(len(ends))]
    expected = []
    start = 0
    for line, end in enumerate(ends):
        expected += [(sink.encode_item(record, origins[line], number, tickets[line]).data, tickets[line])
                     for number, record in enumerate(records[start:end])]
        start = end
    return expected, sink.encode_lines(records, ends, origins.__getitem__, tickets)
