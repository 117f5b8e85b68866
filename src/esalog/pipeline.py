"""The one-way chain: raw line -> header/rule match (LineParser) -> stages (session tracking) -> out.

A *stage* sees each event once, in input order, may enrich it in place and may return extra events
(message summaries) to emit right after it; ``flush()`` returns what is still pending at the end.
State lives in the stages, never in the parser.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, tzinfo
from typing import Any, Protocol

from esalog.inputs import RawLine, expand_paths, input_name, open_binary, read_lines
from esalog.parsers.engine import Event
from esalog.parsers.parser import LineParser, Stream

_PROBLEM_TAGS = {"invalid_utf8": "esalog_invalid_utf8", "binary": "esalog_binary",
                 "line_too_long": "esalog_truncated"}


class Stage(Protocol):
    """A processing step after parsing (e.g. the session tracker)."""

    def __call__(self, event: Event, stream: Stream) -> Sequence[Event] | None:
        """Enrich *event* in place; return extra events to emit after it, or None."""

    def flush(self) -> Iterable[Event]:
        """Events still pending at the end of input (e.g. summaries of unfinished messages), lazily."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where an event's line sits in its input (for checkpoints and deterministic ids)."""

    input: str
    offset: int
    next_offset: int
    line: int


@dataclass
class Counters:
    """What the pipeline saw; printed as the closing summary."""

    lines: int = 0
    events: int = 0
    unmatched: int = 0
    errors: int = 0
    extra: int = 0  # events added by stages (summaries)
    by_action: dict[str, int] = field(default_factory=dict)

    def count(self, event: Event) -> None:
        self.events += 1
        ev = event["event"]
        if ev.get("kind") == "pipeline_error":
            self.errors += 1
        elif ev.get("action") == "unknown":
            self.unmatched += 1


@dataclass
class ClockOptions:
    """How times without zone or year are read."""

    tz: tzinfo = UTC
    year: int | None = None
    host: str | None = None
    today: date | None = None


class Pipeline:
    """Parser plus stages over one or many inputs, one event per line, in order."""

    def __init__(self, parser: LineParser, stages: Iterable[Stage] = (), clock: ClockOptions | None = None) -> None:
        self.parser = parser
        self.stages = list(stages)
        self.clock = clock or ClockOptions()
        self.counters = Counters()

    def open_stream(self, name: str) -> Stream:
        """State for a new input."""
        c = self.clock
        return self.parser.new_stream(name, tz=c.tz, year=c.year, host=c.host, today=c.today)

    def process(self, raw: RawLine, stream: Stream) -> list[Event]:
        """The events of one line: its own event first, then any events stages add."""
        self.counters.lines += 1
        tags = [_PROBLEM_TAGS[p] for p in raw.problems] if raw.problems else None
        text = raw.text
        if not text.strip():
            event = self.parser.error_event(text, stream, "empty", "empty line", tags)
        else:
            event = self.parser.parse(text, stream, tags=tags)
            if "line_too_long" in raw.problems:
                event.setdefault("error", {"type": "line_too_long",
                                           "message": "line longer than the limit; the rest was skipped"})
        out = [event]
        self.counters.count(event)
        for stage in self.stages:
            extra = stage(event, stream)
            if extra:
                out.extend(extra)
                self.counters.extra += len(extra)
        return out

    def process_text(self, text: str, stream: Stream, offset: int = 0) -> list[Event]:
        """Same as :meth:`process` for text that arrives already decoded (filter mode, syslog)."""
        return self.process(RawLine(text, offset, offset, self.counters.lines + 1), stream)

    def flush(self) -> Iterator[Event]:
        """Pending events of every stage at the end of all input, one at a time (there may be many)."""
        for stage in self.stages:
            for event in stage.flush():
                self.counters.extra += 1
                yield event

    def run_paths(self, paths: list[str]) -> Iterator[tuple[Event, Position]]:
        """Every event of every input, inputs in the order given, then the flushed ones."""
        last = Position("", 0, 0, 0)
        for path in expand_paths(paths):
            name = input_name(path)
            stream = self.open_stream(name)
            handle = open_binary(path)
            try:
                for raw in read_lines(handle):
                    last = Position(name, raw.offset, raw.next_offset, raw.number)
                    for event in self.process(raw, stream):
                        yield event, last
            finally:
                if path != "-":
                    handle.close()
        for event in self.flush():
            yield event, last


def merge_passthrough(event: Event, extra: dict[str, Any]) -> Event:
    """Keep the keys of an input JSON object that the event does not set (filter mode)."""
    for key, value in extra.items():
        if key not in event:
            event[key] = value
    return event
