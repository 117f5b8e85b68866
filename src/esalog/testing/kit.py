"""Helpers for testing esalog and things built on it: NDJSON reading, a capturing sink, the check every
sink must pass (the delivery invariant, each event exactly once), and a subprocess's stderr read as it
is written."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from esalog.connectors.base import Delivered, Driver, Outcome, Sink
from esalog.connectors.batch import Item
from esalog.encode import encode_line
from esalog.parsers.record import Record
from esalog.pipeline import build_pipeline
from esalog.sources.checkpoint import Ledger


def read_ndjson(source: bytes | str | Path) -> list[dict[str, Any]]:
    """The JSON objects of NDJSON text, bytes or a file (blank lines skipped)."""
    data = source.read_bytes() if isinstance(source, Path) else source
    if isinstance(data, str):
        data = data.encode("utf-8")
    return [orjson.loads(line) for line in data.splitlines() if line.strip()]


class StderrLines:
    """A running subprocess whose stderr (a pipe) is read line by line, as someone watching it would."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.lines: list[str] = []  # every stderr line read so far

    def readline(self) -> str:
        """The next stderr line ('' once stderr is closed)."""
        assert self.process.stderr is not None
        line = self.process.stderr.readline().decode()
        self.lines.append(line)
        return line

    def wait_line(self, needle: str, timeout: float = 30) -> str:
        """The first stderr line from now containing *needle*; AssertionError when stderr ends first or
        *timeout* has passed (checked between lines)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.readline()
            if not line:
                break
            if needle in line:
                return line
        raise AssertionError(f"{needle!r} not seen; the last lines: {self.lines[-20:]!r}")

    def wait_exit(self, timeout: float) -> tuple[int, str]:
        """Wait for the process to end: its exit code and the whole of its stderr."""
        _, rest = self.process.communicate(timeout=timeout)
        return self.process.returncode, "".join(self.lines) + (rest or b"").decode()


class CapturingSink(Sink):
    """A sink that keeps every delivered event in memory (the reference sink of the compliance check)."""

    name = "capture"

    def __init__(self) -> None:
        self.items: list[Item] = []

    def encode_item(self, record: Record, origin: str, index: int, ticket: Any) -> Item:
        return Item(encode_line(record), ticket)

    def send(self, items: Sequence[Item]) -> Outcome:
        self.items.extend(items)
        return Delivered()

    @property
    def events(self) -> list[dict[str, Any]]:
        return read_ndjson(b"".join(item.data for item in self.items))


def compliance_lines(count: int) -> list[str]:
    """*count* distinct ESA lines (file form) for sink tests."""
    return [f"Mon Nov  2 08:00:{n % 60:02d} 2026 Info: MID {n} ICID {n} From: <a{n}@example.com>"
            for n in range(count)]


def assert_sink_compliance(sink: Sink, delivered: Callable[[], list[dict[str, Any]]], *, count: int = 250,
                           ordered: bool | None = None) -> None:
    """Deliver *count* events through *sink* with the shared driver and check what every sink must do.

    *delivered* returns what the server (or file) holds afterwards, as events. Checks: the counters add
    up (received = acknowledged + dead-lettered + failed), every event arrived exactly once, and in
    input order when the sink sends one batch at a time (*ordered*, default: from the sink).
    """
    pipeline = build_pipeline()
    stream = pipeline.open_stream("compliance.log")
    lines = compliance_lines(count)
    ledger = Ledger()
    driver = Driver(sink, ledger=ledger, sleep=lambda _seconds: None)
    sink.open()
    driver.start()
    for number, line in enumerate(lines):
        records = pipeline.process(line, stream)
        ticket = ledger.open_line(None, "", "compliance.log", number + 1, len(records))
        for index, record in enumerate(records):
            driver.submit(record, f"compliance:{number}", index, ticket)
    driver.close()
    stats = driver.stats
    assert stats.received == count, f"{stats.received} events received of {count}"
    assert stats.received == stats.acknowledged + stats.dead_lettered + stats.failed, stats
    assert stats.acknowledged == count, f"only {stats.acknowledged} of {count} acknowledged: {stats}"
    originals = [str((event.get("event") or {}).get("original")) for event in delivered()]
    assert sorted(originals) == sorted(lines), "events lost or duplicated"
    if ordered if ordered is not None else sink.max_concurrency == 1:
        assert originals == lines, "events out of input order"
