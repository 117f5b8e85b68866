"""The pack-example runner: every rule's examples must be read by that rule and yield their fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from esalog.encode import to_event
from esalog.parsers.fields import get_field
from esalog.parsers.parser import LineParser, Stream
from esalog.parsers.record import PIPELINE_ERROR

#: Examples are read as if today were this date, so year-less syslog lines get a fixed year.
EXAMPLE_TODAY = date(2026, 11, 27)
_MISSING = object()


@dataclass(frozen=True)
class ExampleResult:
    """The outcome of one pack example."""

    log_type: str
    rule_id: str
    line: str
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_fields(event: dict[str, Any], expected: dict[str, Any]) -> str | None:
    """The first expected dotted field that differs from *event*, described; None if all match."""
    for name, want in expected.items():
        got = get_field(event, name, _MISSING)
        if got is _MISSING:
            return f"{name}: missing (expected {want!r})"
        if got != want and not (isinstance(want, int | float) and isinstance(got, int | float)
                                and float(got) == float(want) and not isinstance(got, bool)):
            return f"{name}: got {got!r}, expected {want!r}"
    return None


def parse_event(parser: LineParser, line: str, stream: Stream) -> dict[str, Any]:
    """The nested event of one line (the pipeline hands on records; tests and tools often want events)."""
    return to_event(parser.parse(line, stream))


def run_pack_examples(parser: LineParser) -> list[ExampleResult]:
    """Parse every example of every rule; each must be read by its own rule and yield its fields."""
    results: list[ExampleResult] = []
    for log_type, pack in sorted(parser.packs.items()):
        for rule in pack.rules:
            for example in rule.source.examples:
                stream = parser.new_stream(f"example:{rule.id}", today=EXAMPLE_TODAY)
                stream.log_type = log_type
                record = parser.parse(example.line, stream)
                event = to_event(record)
                problem: str | None
                if record.kind == PIPELINE_ERROR:
                    problem = f"not read as an ESA line: {event['error']['message']}"
                elif record.rule is None:
                    problem = f"no rule matched (expected {rule.id!r})"
                elif record.rule.id != rule.id:
                    problem = f"read by rule {record.rule.id!r} instead of {rule.id!r}"
                else:
                    problem = check_fields(event, dict(example.fields))
                results.append(ExampleResult(log_type, rule.id, example.line, problem))
    return results
