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

from esalog.inputs import RawLine, expand_paths, input_name, open_binary, read_blocks
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


#: Events per batch when :meth:`Pipeline.run_batches` hands on what the stages flush at the end.
FLUSH_BATCH = 512


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


@dataclass
class ClockOptions:
    """How times without zone or year are read."""

    tz: tzinfo = UTC
    year: int | None = None
    host: str | None = None
    today: date | None = None


class Pipeline:
    """Parser plus stages over one or many inputs, one event per line, in order."""

    def __init__(self, parser: LineParser, stages: Iterable[Stage] = (),
                 clock: ClockOptions | None = None) -> None:
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
        return self.process_lines([raw.text], stream, {0: raw.problems} if raw.problems else None)

    def process_lines(self, texts: Sequence[str], stream: Stream,
                      problems: dict[int, tuple[str, ...]] | None = None,
                      ends: list[int] | None = None) -> list[Event]:
        """The events of consecutive lines of *stream*, in order: each line's event, then its stages' events.

        *problems* maps a line's index in *texts* to what the input stage found wrong with it. When
        *ends* is given, it receives for each line the index in the result just after that line's events.
        """
        out: list[Event] = []
        append = out.append
        parse = self.parser.parse
        stages = self.stages
        counters = self.counters
        unmatched = errors = 0
        for index, text in enumerate(texts):
            found = problems.get(index) if problems else None
            tags = [_PROBLEM_TAGS[p] for p in found] if found else None
            if not text or text.isspace():
                event = self.parser.error_event(text, stream, "empty", "empty line", tags)
            else:
                event = parse(text, stream, tags=tags)
                if found and "line_too_long" in found:
                    event.setdefault("error", {"type": "line_too_long",
                                               "message": "line longer than the limit; the rest was skipped"})
            append(event)
            kind = event["event"]
            if kind["kind"] == "pipeline_error":
                errors += 1
            elif kind.get("action") == "unknown":
                unmatched += 1
            for stage in stages:
                extra = stage(event, stream)
                if extra:
                    out.extend(extra)
                    counters.extra += len(extra)
            if ends is not None:
                ends.append(len(out))
        counters.lines += len(texts)
        counters.events += len(texts)
        counters.errors += errors
        counters.unmatched += unmatched
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

    def run_batches(self, paths: list[str]) -> Iterator[tuple[list[Event], Position]]:
        """Every event of every input in batches (one per block read), inputs in the order given, each
        batch with the position of its last line; then the flushed events."""
        last = Position("", 0, 0, 0)
        for path in expand_paths(paths):
            name = input_name(path)
            stream = self.open_stream(name)
            handle = open_binary(path)
            try:
                for block in read_blocks(handle):
                    count = len(block.texts)
                    last = Position(name, block.next_offset - block.size(count - 1), block.next_offset,
                                    block.first_number + count - 1)
                    yield self.process_lines(block.texts, stream, block.problems), last
            finally:
                if path != "-":
                    handle.close()
        batch: list[Event] = []
        for event in self.flush():  # summaries of what is still open: possibly many, streamed
            batch.append(event)
            if len(batch) >= FLUSH_BATCH:
                yield batch, last
                batch = []
        if batch:
            yield batch, last

    def run_paths(self, paths: list[str]) -> Iterator[tuple[Event, Position]]:
        """Every event of :meth:`run_batches`, one at a time, each with its batch's position."""
        for events, position in self.run_batches(paths):
            for event in events:
                yield event, position


def merge_passthrough(event: Event, extra: dict[str, Any]) -> Event:
    """Keep the keys of an input JSON object that the event does not set (filter mode)."""
    for key, value in extra.items():
        if key not in event:
            event[key] = value
    return event
