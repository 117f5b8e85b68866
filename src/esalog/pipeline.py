"""The one-way chain: raw line -> header/rule match (LineParser) -> stages (session tracking) -> records.

A *stage* sees each record once, in input order, may add fields to it and may return extra records
(message summaries) to hand on right after it; ``flush()`` yields what is still pending at the end.
State lives in the stages, never in the parser. :func:`build_pipeline` makes the pipeline from its
typed configuration; nothing here knows about the command line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from esalog import native
from esalog.parsers.config import ParseConfig
from esalog.parsers.header import HeaderParser
from esalog.parsers.parser import OTHER_LOG_TYPES, LineParser, Stream, log_type_for
from esalog.parsers.record import PIPELINE_ERROR, Record
from esalog.tracking.config import TrackingConfig
from esalog.tracking.tracker import StatelessAborts, Tracker

if TYPE_CHECKING:
    from esalog.parsers.compiler import CompiledRule

_PROBLEM_TAGS = {"invalid_utf8": "esalog_invalid_utf8", "binary": "esalog_binary",
                 "line_too_long": "esalog_truncated", "read_error": "esalog_read_error",
                 "partial": "esalog_partial"}
_TOO_LONG = {"type": "line_too_long", "message": "line longer than the limit; the rest was skipped"}
_PARTIAL = {"type": "partial_frame",
            "message": "the connection ended inside this message (or the listener stopped); what arrived is kept"}


class Stage(Protocol):
    """A processing step after parsing (e.g. the session tracker)."""

    def __call__(self, record: Record) -> Sequence[Record] | None:
        """Add fields to *record*; return extra records to hand on after it, or None."""

    def flush(self) -> Iterable[Record]:
        """Records still pending at the end of input (e.g. summaries of unfinished messages), lazily."""


@dataclass
class Counters:
    """What the pipeline saw; printed as the closing summary."""

    lines: int = 0
    events: int = 0
    unmatched: int = 0
    errors: int = 0
    extra: int = 0  # records added by stages (summaries)
    by_action: dict[str, int] = field(default_factory=dict)

    def add(self, other: Counters) -> None:
        """Add the counts of *other* (another worker's input)."""
        self.lines += other.lines
        self.events += other.events
        self.unmatched += other.unmatched
        self.errors += other.errors
        self.extra += other.extra
        for action, n in other.by_action.items():
            self.by_action[action] = self.by_action.get(action, 0) + n


@dataclass(frozen=True)
class PipelineConfig:
    """Everything a pipeline is made of: how lines are parsed and how sessions are tracked."""

    parse: ParseConfig = field(default_factory=ParseConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)


class Pipeline:
    """Parser plus stages over one or many inputs, one record per line, in order.

    ``core`` is the compiled core (``esalog._core.Core``) when it can stand in for the parser and stages
    on the lines it reads (see :mod:`esalog.sources.native`), else None; ``record_core`` is the compiled
    core when it can stand in for the parser only (it makes the records of the lines it reads, the stages
    run on them: session tracking), else None.
    """

    def __init__(self, parser: LineParser, stages: Iterable[Stage] = (), config: ParseConfig | None = None) -> None:
        self.parser = parser
        self.stages = list(stages)
        self.config = config or ParseConfig()
        self._zone = self.config.zone
        self.counters = Counters()
        self.core: Any = None
        self.record_core: Any = None

    def with_stages(self, stages: Iterable[Stage]) -> Pipeline:
        """A pipeline of the same parser, configuration and cores with *stages* of its own (another input's
        session state)."""
        fresh = Pipeline(self.parser, stages, self.config)
        fresh.core, fresh.record_core = self.core, self.record_core
        return fresh

    def open_stream(self, name: str) -> Stream:
        """State for a new input (its clock and appliance identity)."""
        c = self.config
        return self.parser.new_stream(name, tz=self._zone, year=c.year, host=c.host, today=c.today)

    def process(self, text: str, stream: Stream, problems: tuple[str, ...] = ()) -> list[Record]:
        """The records of one line: its own record first, then any records stages add."""
        return self.process_lines([text], stream, {0: problems} if problems else None)

    def process_lines(self, texts: Sequence[str], stream: Stream,
                      problems: dict[int, tuple[str, ...]] | None = None,
                      ends: list[int] | None = None) -> list[Record]:
        """The records of consecutive lines of *stream*, in order: each line's record, then its stages' records.

        *problems* maps a line's index in *texts* to what the input stage found wrong with it. When
        *ends* is given, it receives for each line the index in the result just after that line's records.
        """
        out: list[Record] = []
        parse_line = self.parse_line
        staged = self.staged
        for index, text in enumerate(texts):
            staged(parse_line(text, stream, problems.get(index) if problems else None), out)
            if ends is not None:
                ends.append(len(out))
        self.count_lines(len(texts))
        return out

    def parse_line(self, text: str, stream: Stream, problems: tuple[str, ...] | None = None) -> Record:
        """The record of one line (*problems*: what the input stage found wrong with it), before the stages."""
        tags = [_PROBLEM_TAGS[p] for p in problems] if problems else None
        if not text or text.isspace():
            return self.parser.error_record(text, stream, "empty", "empty line", tags)
        record = self.parser.parse(text, stream, tags=tags)
        if problems and record.get("error") is None:
            if "line_too_long" in problems:
                record.set("error", dict(_TOO_LONG))
            elif "partial" in problems:
                record.set("error", dict(_PARTIAL))
        return record

    def staged(self, record: Record, out: list[Record]) -> None:
        """Append *record* (a line's) to *out*, counted, then the records the stages add after it."""
        out.append(record)
        counters = self.counters
        if record.kind == PIPELINE_ERROR:
            counters.errors += 1
        elif record.action == "unknown":
            counters.unmatched += 1
        for stage in self.stages:
            extra = stage(record)
            if extra:
                out.extend(extra)
                counters.extra += len(extra)

    def count_lines(self, lines: int) -> None:
        """*lines* more input lines, one event each, in the counters."""
        counters = self.counters
        counters.lines += lines
        counters.events += lines

    def flush(self) -> Iterator[Record]:
        """Pending records of every stage at the end of all input, one at a time (there may be many)."""
        for stage in self.stages:
            for record in stage.flush():
                self.counters.extra += 1
                yield record


def build_stages(config: TrackingConfig) -> list[Stage]:
    """The tracker (or the one-line classifier when stateless) from its configuration."""
    if config.stateless:
        return [StatelessAborts()]
    return [Tracker(config)]


def build_pipeline(config: PipelineConfig | None = None) -> Pipeline:
    """Parser and stages from the configuration (loads and checks the packs)."""
    config = config or PipelineConfig()
    p = config.parse
    parser = LineParser.from_options(p.packs, keep_original=p.keep_original, log_type=p.log_type, now=p.now)
    pipeline = Pipeline(parser, build_stages(config.tracking), p)
    core = native_core(parser, config.tracking)
    if config.tracking.stateless:
        pipeline.core = core
    else:
        pipeline.record_core = core
    return pipeline


def native_core(parser: LineParser, tracking: TrackingConfig) -> Any:
    """The compiled core for *parser*'s packs and this tracking configuration, None without it."""
    module = native.core()
    if module is None:
        return None
    from esalog.parsers.converters import CONVERTERS
    from esalog.parsers.post import POSTPROCESSORS

    module.register_converters(CONVERTERS, POSTPROCESSORS)
    return module.Core(parser.packs, keep_original=parser.keep_original, forced_log_type=parser.forced_log_type,
                       stateless=tracking.stateless, other_log_types=OTHER_LOG_TYPES, match_type=re.Match,
                       examples=example_bodies, route=log_type_for, record_type=Record)


def example_bodies(rule: CompiledRule) -> list[str]:
    """The message bodies of *rule*'s examples (what the core proves PCRE2 equal to ``re`` on)."""
    bodies = []
    for example in rule.source.examples:
        parts = HeaderParser().split(example.line)
        if parts is not None:
            bodies.append(parts[1])
    return bodies
