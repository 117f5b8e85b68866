"""The session tracker: a pipeline stage that follows ICID -> MID -> RID -> DCID per appliance.

It enriches events in place (connection facts on MID events, recipients and destination on
delivery events), derives the abort category, and emits one ``message-summary`` per MID when it
finishes, is evicted (marked incomplete) or input ends. Work per event is O(1): one dict lookup on
``event.action`` picks the handler.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from esalog.parsers.parser import Stream
from esalog.tracking.aborts import classify_line, classify_receive_abort, clock
from esalog.tracking.state import Appliance, Conn, DeliveryConn, Msg, OpenTable, Record
from esalog.tracking.summary import build_summary, disposition, outcome_of

Event = dict[str, Any]
Handler = Callable[[Event, dict[str, Any], Appliance, float, str], object]

DEFAULT_MAX_OPEN = 200_000
DEFAULT_TTL = 24 * 3600.0
DEFAULT_INBOUND_TIMEOUT = 300.0
DATASET = "cisco_esa.mail_logs"
_EXPIRE_EVERY = 60.0  # log seconds between TTL sweeps
MAX_LIST = 256  # most attachments, generated copies or continuations kept per message
_RECEIVE_ABORTS = frozenset({"receiving_aborted", "sender_quit"})
#: Actions never tracked: unmatched lines, and remediation of messages finished long ago.
_NOT_TRACKED = frozenset({"unknown", "remediation-initiated", "remediation-processed"})


def _epoch(ts: str) -> float:
    try:
        return datetime.fromisoformat(ts).timestamp()
    except (TypeError, ValueError):
        return 0.0


def _one_or_list(addresses: list[str] | None) -> str | list[str] | None:
    """One address as a plain string (saves a list per open message), several as the list."""
    if addresses and len(addresses) == 1:
        return addresses[0]
    return addresses


def _rid_list(rids: Any) -> list[int]:
    """``cisco.esa.rid`` as a list of ints (a pack may give a single int)."""
    if rids is None:
        return []
    return [rids] if isinstance(rids, int) else rids


def _append_bounded(items: list[int] | None, item: int) -> list[int]:
    """*items* plus *item*, unless it already holds MAX_LIST entries (bounded state on odd input)."""
    if items is None:
        return [item]
    if len(items) < MAX_LIST:
        items.append(item)
    return items


def _split_recipients(event: Event) -> list[str]:
    """Addresses named by a split line: '... due to <why> for following recipients: a@x, b@y'."""
    reason = event["event"].get("reason") or ""
    _, found, names = reason.partition("following recipients: ")
    return [n.strip() for n in names.split(",") if n.strip()] if found else []


def _first_rid_fate(msg: Msg, rids: list[int] | None) -> Any:
    if rids and msg.fates:
        return msg.fates.get(rids[0])
    return None


class Tracker:
    """Stateful stage: enrichment, abort categories and message summaries (see module doc)."""

    def __init__(
        self,
        *,
        enrich: bool = True,
        summaries: bool = False,
        max_open: int = DEFAULT_MAX_OPEN,
        ttl: float = DEFAULT_TTL,
        inbound_timeout: float = DEFAULT_INBOUND_TIMEOUT,
    ) -> None:
        self.enrich = enrich
        self.summaries = summaries
        self.inbound_timeout = inbound_timeout
        self.appliances: dict[str, Appliance] = {}
        self.table = OpenTable(max_open, ttl, self._evicted)
        self._to_back = self.table.order.move_to_end
        self._out: list[Event] = []
        self._last_obs: Any = None
        self._last_app: Appliance | None = None
        self._last_ts: str | None = None
        self._last_t = 0.0
        self._next_expire = float("-inf")
        self._handlers: dict[str, Handler] = {
            "connection-opened": self._on_conn_opened,
            "sender-group-matched": self._on_sender_group,
            "sender-group-rejected": self._on_sender_group,
            "tls-negotiated": self._on_tls,
            "tls-failed": self._on_tls,
            "connection-lost": self._on_conn_lost,
            "connection-closed": self._on_conn_closed,
            "delivery-connection-opened": self._on_dconn_opened,
            "delivery-connection-closed": self._on_dconn_closed,
            "delivery-connection-error": self._on_dconn_closed,
            "message-started": self._on_started,
            "envelope-from": self._on_from,
            "envelope-to": self._on_to,
            "message-id": self._on_message_id,
            "message-subject": self._on_subject,
            "message-received": self._on_received,
            "policy-matched": self._on_policy,
            "message-attachment": self._on_attachment,
            "message-split": self._on_split,
            "message-rewritten": self._on_continued,
            "message-reinjected": self._on_continued,
            "message-generated": self._on_generated,
            "bounce-generated": self._on_generated,
            "message-quarantined": self._on_quarantined,
            "spam-quarantined": self._on_quarantined,
            "rpc-delivered": self._on_quarantined,
            "message-released": self._on_released,
            "message-aborted": self._on_aborted,
            "message-finished": self._on_finished,
            "delivery-started": self._on_delivery_started,
            "rpc-delivery-started": self._on_quarantined,
            "spam-quarantine-tagged": self._mid_event,
            "message-queued": self._mid_event,
            "message-delivered": self._on_delivered,
            "delivery-response": self._on_response,
            "message-bounced": self._on_bounced,
            "double-bounce": self._on_bounced,
            "delivery-deferred": self._on_deferred,
            "message-deleted": self._on_deleted,
            "quarantine-deleted": self._on_deleted,
            "ldap-drop": self._on_deleted,
        }

    # -- Stage protocol ---------------------------------------------------------------------------

    def __call__(self, event: Event, stream: Stream) -> list[Event] | None:
        ev = event["event"]
        action = ev.get("action")
        if ev.get("dataset") != DATASET:  # bounce logs, Consolidated Event Log: one line, no session
            classify_one_line(event)
            return None
        handler = self._handlers.get(action)  # type: ignore[arg-type]
        if handler is None:
            if action is None or action in _NOT_TRACKED:
                return None
            # any other line naming a MID is enriched like the rest of its message
            handler = self._on_verdict if action.endswith("-verdict") else self._mid_event
        cisco = event.get("cisco")
        esa = cisco.get("esa") if cisco is not None else None
        if esa is None:
            return None
        obs = event["observer"]
        if obs is self._last_obs:
            app = self._last_app
        else:
            app = self._appliance(obs, stream)
        ts = event["@timestamp"]
        if ts is self._last_ts or ts == self._last_ts:
            t = self._last_t
        else:
            t = self._last_t = _epoch(ts)
            self._last_ts = ts
            if t >= self._next_expire:
                self._next_expire = t + _EXPIRE_EVERY
                self.table.expire(t)
        try:
            handler(event, esa, app, t, ts)  # type: ignore[arg-type]
        except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
            # A field of an unexpected shape (e.g. from a user pack): keep the event, say so, go on.
            event["tags"] = [*event.get("tags", ()), "esalog_tracking_error"]
            event.setdefault("error", {"type": "tracking", "message": f"session tracking skipped: {exc!r}"})
        if self._out:
            out, self._out = self._out, []
            return out
        return None

    def flush(self) -> Iterator[Event]:
        """Summaries (incomplete) of every message still open, one at a time; all state is dropped."""
        out, self._out = self._out, []
        yield from out
        for rec in self.table.drain():
            if isinstance(rec, Msg) and self.summaries:
                yield build_summary(rec, self._observer_of(rec), DATASET, "end_of_input")
        self.appliances.clear()
        self._last_obs = self._last_app = None

    def open_counts(self) -> dict[str, int]:
        """How many connections, messages and delivery connections are held (for tests and stats)."""
        counts = {"icids": 0, "mids": 0, "dcids": 0, "finished_memory": 0}
        for app in self.appliances.values():
            counts["icids"] += len(app.icids)
            counts["mids"] += len(app.mids)
            counts["dcids"] += len(app.dcids)
            counts["finished_memory"] += len(app.finished)
        counts["table"] = len(self.table)
        return counts

    # -- keys, records ----------------------------------------------------------------------------

    def _appliance(self, obs: dict[str, Any], stream: Stream) -> Appliance:
        key = obs.get("hostname") or obs.get("serial_number") or f"stream:{stream.name}"
        app = self.appliances.get(key)
        if app is None:
            app = self.appliances[key] = Appliance(key)
        app.observer = obs
        self._last_obs = obs
        self._last_app = app
        return app

    def _observer_of(self, rec: Record) -> dict[str, Any]:
        for app in self.appliances.values():
            if app.mids is rec.home:
                return app.observer
        return {"vendor": "Cisco", "product": "Secure Email Gateway", "type": "mail-gateway"}

    def _evicted(self, rec: Record, why: str) -> None:
        if isinstance(rec, Msg) and self.summaries:
            self._out.append(build_summary(rec, self._observer_of(rec), DATASET, why))

    def _conn(self, app: Appliance, icid: int, t: float) -> Conn:
        conn = app.icids.get(icid)
        if conn is None:
            conn = app.icids[icid] = Conn(app.icids, icid, t)
            self.table.add(conn)
        else:
            self.table.touch(conn, t)
        return conn

    def _msg(self, app: Appliance, mid: int, t: float, ts: str) -> Msg | None:
        """The open message *mid* (created on first sight), or None for a line after its finish."""
        msg = app.mids.get(mid)
        if msg is None:
            if mid in app.finished:
                return None
            msg = app.mids[mid] = Msg(app.mids, mid, t, ts)
            self.table.add(msg)
        else:
            msg.last = t
            msg.last_ts = ts
            self._to_back(msg)  # an open message is always in the table
        msg.lines += 1
        return msg

    def _mid_event(
        self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str, inbound: bool = True
    ) -> Msg | None:
        """Common work of every MID line: find the message, link its connection, enrich the event.

        *inbound* False (delivery lines): their ``source``/``destination``/``tls`` describe the outbound
        connection, so only the ICID and sender group of the inbound one are copied.
        """
        mid = esa.get("mid")
        if mid is None:
            return None
        msg = self._msg(app, mid, t, ts)
        if msg is None:
            return None
        icid = esa.get("icid")
        if icid is not None and msg.icid is None:
            msg.icid = icid
        conn = msg.conn
        if conn is None and msg.icid:
            conn = msg.conn = app.icids.get(msg.icid)
        if self.enrich:
            if icid is None and msg.icid is not None:
                esa["icid"] = msg.icid
            if conn is not None:
                if conn.sender_group is not None:
                    esa["sender_group"] = conn.sender_group
                    if conn.sbrs is not None:
                        esa["sbrs"] = conn.sbrs
                if inbound:
                    if conn.source is not None and "source" not in event:
                        event["source"] = conn.source
                        if conn.related is not None and "related" not in event:
                            event["related"] = conn.related
                    if conn.tls is not None and "tls" not in event:
                        event["tls"] = conn.tls
        return msg

    # -- connections ------------------------------------------------------------------------------

    def _on_conn_opened(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        icid = esa.get("icid")
        if icid is None:
            return
        old = app.icids.pop(icid, None)
        if old is not None:
            self.table.discard(old)
        conn = self._conn(app, icid, t)
        conn.source = event.get("source")
        if conn.source is not None and "ip" in conn.source:
            conn.related = {"ip": [conn.source["ip"]]}
        conn.listener_ip = event.get("destination", {}).get("ip")
        conn.interface = esa.get("interface")

    def _on_sender_group(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        icid = esa.get("icid")
        if icid is None:
            return
        conn = self._conn(app, icid, t)
        conn.sender_group = esa.get("sender_group")
        conn.sbrs = esa.get("sbrs")
        conn.hat_action = esa.get("hat_action")
        conn.country = esa.get("country")

    def _on_tls(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        tls = event.get("tls")
        icid = esa.get("icid")
        if icid is not None:
            conn = self._conn(app, icid, t)
            conn.tls = tls
            if event["event"].get("action") == "tls-failed":
                conn.tls_failed = event["event"].get("reason") or "TLS failed"
            return
        dcid = esa.get("dcid")
        if dcid is not None:
            dconn = app.dcids.get(dcid)
            if dconn is not None:
                dconn.tls = tls
                self.table.touch(dconn, t)

    def _on_conn_lost(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        icid = esa.get("icid")
        if icid is not None:
            self._conn(app, icid, t).lost_at = t

    def _on_conn_closed(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        conn = app.icids.pop(esa.get("icid"), None)  # type: ignore[arg-type]
        if conn is not None:
            self.table.discard(conn)  # messages still open keep their own reference

    def _on_dconn_opened(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        dcid = esa.get("dcid")
        if dcid is None:
            return
        old = app.dcids.pop(dcid, None)
        if old is not None:
            self.table.discard(old)
        dconn = app.dcids[dcid] = DeliveryConn(app.dcids, dcid, t)
        dconn.destination = event.get("destination")
        self.table.add(dconn)

    def _on_dconn_closed(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        dconn = app.dcids.pop(esa.get("dcid"), None)  # type: ignore[arg-type]
        if dconn is not None:
            self.table.discard(dconn)

    # -- message receiving --------------------------------------------------------------------------

    def _on_started(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        mid = esa.get("mid")
        if mid in app.finished and mid not in app.mids:
            del app.finished[mid]  # a new message reusing a finished MID (e.g. the same log read twice)
        msg = self._mid_event(event, esa, app, t, ts)
        if msg is not None:
            msg.started = True

    def _on_from(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        msg = self._mid_event(event, esa, app, t, ts)
        if msg is not None:
            msg.sender = _one_or_list(event.get("email", {}).get("from", {}).get("address"))

    def _on_to(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        msg = self._mid_event(event, esa, app, t, ts)
        if msg is None:
            return
        rids = _rid_list(esa.get("rid"))
        addresses = event.get("email", {}).get("to", {}).get("address") or ()
        for i, rid in enumerate(rids):
            msg.set_recipient(rid, addresses[i] if i < len(addresses) else None)

    def _on_message_id(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        msg = self._mid_event(event, esa, app, t, ts)
        if msg is not None:
            msg.message_id = event.get("email", {}).get("message_id")

    def _on_subject(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        msg = self._mid_event(event, esa, app, t, ts)
        if msg is not None:
            msg.subject = event.get("email", {}).get("subject")

    def _on_received(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        msg = self._mid_event(event, esa, app, t, ts)
        if msg is not None:
            msg.size = esa.get("size_bytes")
            if msg.sender is None:
                msg.sender = _one_or_list(event.get("email", {}).get("from", {}).get("address"))

    def _on_policy(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        msg = self._mid_event(event, esa, app, t, ts)
        if msg is not None:
            msg.policy = esa.get("policy")
            msg.direction = event.get("email", {}).get("direction") or msg.direction

    def _on_attachment(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        msg = self._mid_event(event, esa, app, t, ts)
        found = event.get("email", {}).get("attachments")
        if msg is not None and found:
            if msg.attachments is None:
                msg.attachments = []
            msg.attachments.extend(found[: MAX_LIST - len(msg.attachments)])

    def _on_verdict(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        msg = self._mid_event(event, esa, app, t, ts)
        verdict = esa.get("verdict")
        if msg is None or not verdict:
            return
        category = verdict.get("category") or event["event"]["action"].removesuffix("-verdict")
        verdicts = msg.verdicts
        if verdicts is None:
            verdicts = msg.verdicts = {}
        known = verdicts.get(category)
        if known is None or known.get("interim") or not verdict.get("interim"):
            verdicts[category] = verdict  # a final verdict replaces an interim one, never the reverse

    # -- families ---------------------------------------------------------------------------------

    def _family(self, app: Appliance, parent: Msg, child_mid: int, t: float, ts: str, same_rids: bool) -> Msg | None:
        """The MID that carries (part of) *parent* on, with the parent's connection and envelope facts.

        *same_rids*: the child keeps the parent's RID numbering (rewrite, re-injection); a split
        child numbers its recipients from 0 again and logs its own To lines.
        """
        child = self._msg(app, child_mid, t, ts)
        if child is None:
            return None
        child.started = True
        child.parent = parent.id
        for name in ("icid", "conn", "sender", "message_id", "subject", "size", "policy", "direction"):
            if getattr(child, name) is None:
                setattr(child, name, getattr(parent, name))
        if same_rids and child.rcpts is None and parent.rcpts:
            child.rcpts = list(parent.rcpts)
        if child.verdicts is None and parent.verdicts:
            child.verdicts = dict(parent.verdicts)
        parent.continued_in = _append_bounded(parent.continued_in, child_mid)
        return child

    @staticmethod
    def _link(esa: dict[str, Any], parent_mid: int, child_mid: int) -> None:
        esa["related_mids"] = [parent_mid, child_mid]

    def _on_split(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        parent = self._mid_event(event, esa, app, t, ts)
        child_mid = esa.get("child_mid")
        if parent is None or child_mid is None:
            return
        child = self._family(app, parent, child_mid, t, ts, same_rids=False)
        if child is None:
            return
        moved = event.get("email", {}).get("to", {}).get("address") or _split_recipients(event)
        if moved and parent.rcpts:
            wanted = set(moved)
            if child.rcpts is None:  # until the child's own To lines say otherwise: RIDs from 0
                child.rcpts = [a for a in parent.rcpts if a in wanted]
            parent.rcpts = [None if a in wanted else a for a in parent.rcpts]
        self._link(esa, parent.id, child_mid)

    def _on_continued(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        parent = self._mid_event(event, esa, app, t, ts)
        child_mid = esa.get("child_mid")
        if parent is None or child_mid is None:
            return
        self._family(app, parent, child_mid, t, ts, same_rids=True)
        self._link(esa, parent.id, child_mid)

    def _on_generated(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        child = self._mid_event(event, esa, app, t, ts)
        parent_mid = esa.get("parent_mid")
        if child is None or parent_mid is None:
            return
        child.started = True
        child.parent = parent_mid
        parent = app.mids.get(parent_mid)
        if parent is not None:
            parent.children = _append_bounded(parent.children, child.id)
        self._link(esa, parent_mid, child.id)

    # -- quarantine, abort, finish ------------------------------------------------------------------

    def _on_quarantined(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        msg = self._mid_event(event, esa, app, t, ts)
        if msg is None:
            return
        name = esa.get("quarantine", {}).get("name") or msg.quarantine
        if name is None:
            name = "Policy" if event["event"]["action"] == "message-quarantined" else "Spam Quarantine"
        msg.quarantine = name
        msg.released = False

    def _on_released(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        msg = self._mid_event(event, esa, app, t, ts)
        if msg is not None:
            msg.released = True

    def _on_aborted(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        mid = esa.get("mid")
        if mid is None:
            return
        old = esa.get("abort") or {}
        abort = {**old, **classify_line(old.get("reason", ""))}  # keep what the pack itself read
        msg = app.mids.get(mid)
        if msg is not None and msg.lines and abort["category"] in _RECEIVE_ABORTS:
            # The open connection of that ICID first: if the one the MID saw was evicted, a 'lost'
            # line re-created it.
            conn = (app.icids.get(msg.icid) if msg.icid is not None else None) or msg.conn
            lost_at = None
            if conn is not None and conn.lost_at is not None and msg.first - 1 <= conn.lost_at <= t:
                lost_at = conn.lost_at
            if abort["category"] == "receiving_aborted":
                abort = classify_receive_abort(
                    abort,
                    mid=mid,
                    icid=msg.icid,
                    abort_at=t,
                    last_activity=msg.last,
                    lost_at=lost_at,
                    received=msg.size is not None,
                    timeout=self.inbound_timeout,
                )
            else:
                idle = max(0.0, t - msg.last)
                abort["idle_seconds"] = round(idle, 3)
                abort["smtp_phase"] = "after_data" if msg.size is not None else "before_data"
                abort["evidence"] = (
                    f"'{abort['reason']}' logged at {clock(t)}, {idle:.0f} s after the MID's previous line"
                )
        msg = self._mid_event(event, esa, app, t, ts)
        esa["abort"] = abort
        if msg is not None:
            msg.abort = abort

    def _on_finished(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        msg = self._mid_event(event, esa, app, t, ts)
        if msg is None:
            return
        if msg.abort is None and esa.get("finish_state") == "aborted":
            msg.abort = {
                "reason": "Message finished ... aborted",
                "category": "receiving_aborted",
                "confidence": "unknown",
                "initiated_by": "unknown",
                "evidence": "no 'Message aborted' line for this MID; the finish line says aborted",
            }
        if msg.abort is not None:
            esa["abort"] = msg.abort
        disp = disposition(msg)
        esa["disposition"] = disp
        ev = event["event"]
        ev["outcome"] = outcome_of(disp)
        del app.mids[msg.id]
        self.table.discard(msg)
        app.remember_finished(msg.id)
        if self.summaries:
            self._out.append(build_summary(msg, app.observer, DATASET, "finished"))

    # -- delivery ---------------------------------------------------------------------------------

    def _delivery(
        self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str, fate_name: str | None
    ) -> tuple[Msg, list[Any]] | None:
        """Common work of delivery lines: per-RID fates, recipients' addresses, destination."""
        msg = self._mid_event(event, esa, app, t, ts, False)
        if msg is None:
            return None
        rids = _rid_list(esa.get("rid")) or msg.recipient_rids() or [0]
        dcid = esa.get("dcid")
        dconn = app.dcids.get(dcid) if dcid is not None else None
        if dconn is None and dcid is None:
            first = _first_rid_fate(msg, rids)
            if first is not None and first.dcid is not None:
                dconn = app.dcids.get(first.dcid)
        dest_ip = dconn.destination.get("ip") if dconn is not None and dconn.destination else None
        fates = []
        for rid in rids:
            fate = msg.fate(rid)
            if fate_name is not None:
                fate.fate = fate_name
            if dcid is not None:
                fate.dcid = dcid
            if dest_ip is not None:
                fate.destination_ip = dest_ip
            fates.append(fate)
        if self.enrich:
            email = event.get("email")
            if msg.rcpts and email is not None and "to" not in email:
                found = [a for a in map(msg.recipient, rids) if a]
                if found:
                    email["to"] = {"address": found}
            if dconn is not None and dconn.destination is not None and "destination" not in event:
                event["destination"] = dconn.destination
        return msg, fates

    def _on_delivery_started(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        self._delivery(event, esa, app, t, ts, None)

    def _on_delivered(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        self._delivery(event, esa, app, t, ts, "delivered")

    def _on_response(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        found = self._delivery(event, esa, app, t, ts, None)
        if found is not None:
            response = esa.get("response")
            accepted = isinstance(response, str) and response[:1] == "2"
            for fate in found[1]:
                fate.response = response
                if accepted and fate.fate == "unknown":
                    fate.fate = "delivered"  # a 2xx reply whose 'Message done' line is missing

    def _on_bounced(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        self._with_reason(event, esa, self._delivery(event, esa, app, t, ts, "bounced"))

    def _on_deferred(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        self._with_reason(event, esa, self._delivery(event, esa, app, t, ts, "deferred"))

    @staticmethod
    def _with_reason(event: Event, esa: dict[str, Any], found: tuple[Msg, list[Any]] | None) -> None:
        """Bounce or delay reason (status code, category, remote reply) on the recipients' fates."""
        if found is None:
            return
        bounce = esa.get("bounce") or {}
        reason = event["event"].get("reason") or " - ".join(
            str(p) for p in (bounce.get("status_code"), bounce.get("category")) if p
        )
        reply = bounce.get("response")
        if reply:
            reason = f"{reason} ({bounce.get('smtp_code', '')} {' '.join(reply)})".strip()
        for fate in found[1]:
            fate.reason = reason or None
            fate.status_code = bounce.get("status_code")

    def _on_deleted(self, event: Event, esa: dict[str, Any], app: Appliance, t: float, ts: str) -> None:
        self._delivery(event, esa, app, t, ts, "dropped")


def classify_one_line(event: Event) -> None:
    """Abort category of a ``message-aborted`` event from its own line (no session state)."""
    if event["event"].get("action") == "message-aborted":
        esa = event.get("cisco", {}).get("esa")
        if esa is not None:
            old = esa.get("abort") or {}
            esa["abort"] = {**old, **classify_line(old.get("reason", ""))}


class StatelessAborts:
    """``--stateless``: abort categories from the abort line alone (for parallel workers)."""

    def __call__(self, event: Event, stream: Stream) -> None:
        classify_one_line(event)

    def flush(self) -> list[Event]:
        return []
