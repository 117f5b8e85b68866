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

from esalog.names import MAIL_DATASET
from esalog.parsers.record import Record
from esalog.tracking import connections, delivery, messages
from esalog.tracking.aborts import abort_facts
from esalog.tracking.config import TrackingConfig
from esalog.tracking.context import MAX_LIST, Context, Handler
from esalog.tracking.store import Msg
from esalog.tracking.verdicts import RETRO_ACTION

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
        self.last_time = 0.0
        self.next_expire = float("-inf")

    def __call__(self, record: Record) -> list[Record] | None:
        rule = record.rule
        if rule is not None and rule.names_files:  # AMP reputation, CEF attachments, retrospective verdicts
            found = self._files(record)
            if found:
                return found
        if record.dataset != MAIL_DATASET:  # bounce logs, Consolidated Event Log: one line, no session
            classify_one_line(record)
            return None
        action = record.action
        handler = HANDLERS.get(action)  # type: ignore[arg-type]
        if handler is None:
            if action is None or action in _NOT_TRACKED:
                return None
            handler = messages.verdict if action.endswith("-verdict") else messages.mid_line
        app = self.store.appliances.get(record.appliance) or self.store.appliance(record.appliance)
        app.observer = record.observer
        ts = record.timestamp
        t = self.last_time if ts is self._last_ts else self._time(ts)  # lines of one second share a stamp
        if t >= self.next_expire:
            self.next_expire = t + _EXPIRE_EVERY
            self.store.table.expire(t)
        handler(self, record, app, t, ts)
        if self.out:
            out, self.out = self.out, []
            return out
        return None

    def _files(self, record: Record) -> list[Record] | None:
        """Files a line names: linked to its MID for later retrospective verdicts; a retrospective
        verdict gives one event per delivered message that carried the file."""
        t = self._time(record.timestamp)
        hashes = [h for h in (record.get_str("file.hash.sha256"),) if h]
        for attachment in record.get_list("email.attachments") or ():
            sha = attachment.get("file", {}).get("hash", {}).get("sha256") if isinstance(attachment, dict) else None
            if isinstance(sha, str):
                hashes.append(sha)
        if not hashes:
            return None
        if record.action == RETRO_ACTION:
            classify_one_line(record)
            return self.verdicts.retrospective(record, hashes[0], t) or None
        mid = record.mid
        if mid is not None:
            msg = self.store.appliance(record.appliance).mids.get(mid)
            for sha in hashes:
                self.verdicts.file_seen(record.appliance, mid, sha, t)
                if msg is not None:
                    if msg.hashes is None:
                        msg.hashes = set()
                    if len(msg.hashes) < MAX_LIST:
                        msg.hashes.add(sha.lower())
        return None

    def _time(self, ts: str) -> float:
        """Log time of a stamp (the last one is remembered: lines of one second share it)."""
        if ts is self._last_ts or ts == self._last_ts:
            return self.last_time
        self.last_time = _epoch(ts)
        self._last_ts = ts
        return self.last_time

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
        """Nothing: it keeps no state."""
        return []
