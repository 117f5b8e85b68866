"""Helpers for the tracking tests: run lines through a real parser and a tracker, build catalog events."""

from __future__ import annotations

import functools
from typing import Any

from esalog.encode import to_event
from esalog.parsers.config import ParseConfig
from esalog.parsers.parser import LineParser
from esalog.parsers.record import Record
from esalog.pipeline import Pipeline
from esalog.tracking.config import TrackingConfig
from esalog.tracking.tracker import Tracker


@functools.cache
def _parser() -> LineParser:
    return LineParser.from_options()


class Run:
    """A pipeline with one tracker; ``feed`` returns every event (lines and summaries) in order."""

    def __init__(self, **tracker_options: Any) -> None:
        tracker_options.setdefault("summaries", True)
        self.tracker = Tracker(TrackingConfig(**tracker_options))
        self.pipeline = Pipeline(_parser(), [self.tracker], ParseConfig(year=2014))
        self.stream = self.pipeline.open_stream("test.log")

    def feed(self, lines: list[str] | str) -> list[dict[str, Any]]:
        if isinstance(lines, str):
            lines = [ln.strip() for ln in lines.strip().splitlines() if ln.strip()]
        out: list[dict[str, Any]] = []
        for line in lines:
            out.extend(to_event(record) for record in self.pipeline.process(line, self.stream))
        return out

    def inject(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Pass a hand-built event (a kind the pack does not read yet) through the tracker."""
        record = Record.of_document(event, self.stream.appliance(None))
        return [event, *(to_event(r) for r in self.tracker(record) or [])]

    def flush(self) -> list[dict[str, Any]]:
        return [to_event(record) for record in self.pipeline.flush()]


def catalog_event(run: Run, when: str, action: str, email: dict[str, Any] | None = None, **esa: Any) -> dict[str, Any]:
    """An event shaped like the catalog's rules make it (``when``: ``2014-08-14T11:04:31``)."""
    event: dict[str, Any] = {
        "@timestamp": f"{when}.000Z",
        "message": action,
        "event": {
            "kind": "event",
            "module": "cisco_esa",
            "dataset": "cisco_esa.mail_logs",
            "action": action,
            "category": ["email"],
            "type": ["info"],
            "outcome": "success",
        },
        "observer": run.stream.observer(None),
        "cisco": {"esa": {"kind": action, **esa}},
    }
    if "mid" in esa:
        event["email"] = {"local_id": str(esa["mid"]), **(email or {})}
    return event


def by_action(events: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    """The events with this event.action."""
    return [e for e in events if e["event"].get("action") == action]
