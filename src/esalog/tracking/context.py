"""What every phase handler of the tracker works with: the session store, the settings, the summaries
to emit, and the common work of a line naming a MID (:meth:`Context.mid_event`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from esalog.names import MAIL_DATASET
from esalog.parsers.record import Record
from esalog.tracking.config import TrackingConfig
from esalog.tracking.store import Appliance, Conn, Msg, OpenRecord, SessionStore
from esalog.tracking.summary import build_summary
from esalog.tracking.verdicts import VerdictIndex

MAX_LIST = 256  # most attachments, generated copies, continuations or file hashes kept per message


class Context:
    """The tracker's state (one place) and the helpers its handlers share."""

    def __init__(self, config: TrackingConfig) -> None:
        self.config = config
        self.enrich = config.enrich
        self.summaries = config.summaries
        self.inbound_timeout = config.inbound_timeout
        self.store = SessionStore(config.max_open, config.session_ttl, self._evicted)
        self.verdicts = VerdictIndex(config.verdict_window, config.verdict_messages)
        self.out: list[Record] = []

    def emit_summary(self, msg: Msg, end_reason: str) -> None:
        """Queue the summary of *msg* (when summaries are on)."""
        if self.summaries:
            self.out.append(Record.of_document(build_summary(msg, msg.appliance.observer, MAIL_DATASET, end_reason),
                                               msg.appliance.key))

    def _evicted(self, rec: OpenRecord, why: str) -> None:
        if isinstance(rec, Msg):
            self.emit_summary(rec, why)

    def mid_event(self, rec: Record, app: Appliance, t: float, ts: str, inbound: bool = True) -> Msg | None:
        """Common work of every MID line: find the message, link its connection, enrich the record.

        *inbound* False (delivery lines): their ``source``/``destination``/``tls`` describe the outbound
        connection, so only the ICID and sender group of the inbound one are copied.
        """
        mid = rec.mid
        if mid is None:
            return None
        msg = self.store.msg(app, mid, t, ts)
        if msg is None:
            return None
        icid = rec.icid
        if icid is not None and msg.icid is None:
            msg.icid = icid
        conn = msg.conn
        if conn is None and msg.icid:
            conn = msg.conn = app.icids.get(msg.icid)
        if self.enrich:
            if icid is None and msg.icid is not None:
                rec.set("cisco.esa.icid", msg.icid)
                rec.icid = msg.icid
            if conn is not None:
                rule = rec.rule
                if rule is None or rule.may_have_connection_facts:
                    self._enrich_field_by_field(rec, conn, inbound)
                else:  # the usual MID line: nothing of its own to keep, the connection's fields in one go
                    rec.update(*conn.enrichment_for(inbound))
        return msg

    @staticmethod
    def _enrich_field_by_field(rec: Record, conn: Conn, inbound: bool) -> None:
        """The connection's fields, each only where the line has none of its own."""
        if conn.sender_group is not None:
            rec.set("cisco.esa.sender_group", conn.sender_group)
            if conn.sbrs is not None:
                rec.set("cisco.esa.sbrs", conn.sbrs)
        if inbound:
            if conn.source is not None and not rec.has("source"):
                rec.set("source", conn.source)
                if conn.related is not None and not rec.has("related"):
                    rec.set("related", conn.related)
            if conn.tls is not None and not rec.has("tls"):
                rec.set("tls", conn.tls)


Handler = Callable[[Context, Record, Appliance, float, str], Any]


def append_bounded(items: list[int] | None, item: int) -> list[int]:
    """*items* plus *item*, unless it already holds MAX_LIST entries (bounded state on odd input)."""
    if items is None:
        return [item]
    if len(items) < MAX_LIST:
        items.append(item)
    return items


def rids_of(rec: Record) -> list[int]:
    """The RIDs a line names (``cisco.esa.rid``) as a list of ints (a pack may give a single int)."""
    rids = rec.get("cisco.esa.rid")
    if isinstance(rids, int) and not isinstance(rids, bool):
        return [rids]
    return [r for r in rids if isinstance(r, int)] if isinstance(rids, list) else []
