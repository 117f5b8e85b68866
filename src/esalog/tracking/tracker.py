"""The session tracker: a pipeline stage that follows ICID -> MID -> RID -> DCID per appliance.

It enriches records (connection facts on MID lines, recipients and destination on delivery lines),
derives the abort category, and emits one ``message-summary`` per MID when it finishes, is evicted
(marked incomplete) or input ends. Work per line is O(1): one dict lookup on ``event.action`` picks the
phase handler (:mod:`~esalog.tracking.connections`, :mod:`~esalog.tracking.messages`,
:mod:`~esalog.tracking.delivery`); the state is the :class:`~esalog.tracking.store.SessionStore`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from esalog.parsers.record import Record
from esalog.tracking import connections, delivery, messages
from esalog.tracking.aborts import abort_facts
from esalog.tracking.config import TrackingConfig
from esalog.tracking.context import DATASET, Context, Handler
from esalog.tracking.store import Msg

_EXPIRE_EVERY = 60.0  # log seconds between TTL sweeps
#: Actions never tracked: unmatched lines, and remediation of messages finished long ago.
_NOT_TRACKED = frozenset({"unknown", "remediation-initiated", "remediation-processed"})
HANDLERS: dict[str, Handler] = {**connections.HANDLERS, **messages.HANDLERS, **delivery.HANDLERS}


def _epoch(ts: str) -> float:
    try:
        return datetime.fromisoformat(ts).timestamp()
    except (TypeError, ValueError):
        return 0.0


class Tracker(Context):
    """Stateful stage: enrichment, abort categories and message summaries (see module doc)."""

    def __init__(self, config: TrackingConfig | None = None) -> None:
        super().__init__(config or TrackingConfig())
        self._last_ts: str | None = None
        self._last_t = 0.0
        self._next_expire = float("-inf")

    def __call__(self, record: Record) -> list[Record] | None:
        if record.dataset != DATASET:  # bounce logs, Consolidated Event Log: one line, no session
            classify_one_line(record)
            return None
        action = record.action
        handler = HANDLERS.get(action)  # type: ignore[arg-type]
        if handler is None:
            if action is None or action in _NOT_TRACKED:
                return None
            handler = messages.verdict if action.endswith("-verdict") else messages.mid_line
        app = self.store.appliance(record.appliance)
        app.observer = record.observer
        ts = record.timestamp
        if ts is self._last_ts or ts == self._last_ts:
            t = self._last_t
        else:
            t = self._last_t = _epoch(ts)
            self._last_ts = ts
            if t >= self._next_expire:
                self._next_expire = t + _EXPIRE_EVERY
                self.store.table.expire(t)
        handler(self, record, app, t, ts)
        if self.out:
            out, self.out = self.out, []
            return out
        return None

    def flush(self) -> Iterator[Record]:
        """Summaries (incomplete) of every message still open, one at a time; all state is dropped."""
        out, self.out = self.out, []
        yield from out
        for rec in self.store.drain():
            if isinstance(rec, Msg):
                self.emit_summary(rec, "end_of_input")
                yield from self.out
                self.out.clear()

    def open_counts(self) -> dict[str, int]:
        """How many connections, messages and delivery connections are held (for tests and stats)."""
        return self.store.open_counts()


def classify_one_line(record: Record) -> None:
    """Abort category of a ``message-aborted`` record from its own line (no session state)."""
    if record.action == "message-aborted":
        record.set("cisco.esa.abort", abort_facts(record))


class StatelessAborts:
    """``--stateless``: abort categories from the abort line alone (for parallel workers)."""

    def __call__(self, record: Record) -> None:
        classify_one_line(record)

    def flush(self) -> list[Record]:
        return []
