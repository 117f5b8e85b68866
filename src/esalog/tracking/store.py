"""The session store: slotted records per appliance, bounded by count and by log-time TTL.

Every open record (connection or message) sits in its appliance's table (``dict`` keyed by the
numeric id) and in one :class:`OpenTable` that keeps them in least-recently-used order (a touch
moves a record to the back, O(1)), so the stalest record is always at the front for eviction by
count or by log-time TTL. Finishing a record removes it from both, so nothing stays behind. Each
record knows its appliance (for the observer of an evicted message's summary: no search).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

#: How many finished MIDs per appliance are remembered so that a stray late line does not reopen them.
FINISHED_MEMORY = 4096
#: Appliances remembered with nothing open (their finished MIDs); those with open records are bounded by
#: --max-open
MAX_APPLIANCES = 4096
#: A To line whose RID jumps this far past the last one is not stored (bounds memory on bad input).
MAX_RID_GAP = 1024


class Appliance:
    """The stores of one appliance (hostname, serial number or input name)."""

    __slots__ = ("dcids", "finished", "icids", "key", "mids", "observer")

    def __init__(self, key: str) -> None:
        self.key = key
        self.icids: dict[int, Conn] = {}
        self.mids: dict[int, Msg] = {}
        self.dcids: dict[int, DeliveryConn] = {}
        self.observer: dict[str, Any] = {}  # the latest observer object of its events (shared)
        self.finished: OrderedDict[int, None] = OrderedDict()

    def remember_finished(self, mid: int) -> None:
        """Keep *mid* among the last FINISHED_MEMORY finished MIDs (a late line of it opens no new message)."""
        fin = self.finished
        fin[mid] = None
        if len(fin) > FINISHED_MEMORY:
            fin.popitem(last=False)


class OpenRecord:
    """Base of every open record: its appliance, where it lives and when it was last seen (log time)."""

    __slots__ = ("appliance", "home", "id", "last")

    def __init__(self, appliance: Appliance, home: dict[int, Any], ident: int, t: float) -> None:
        self.appliance = appliance
        self.home = home
        self.id = ident
        self.last = t


#: fields (dotted, in order) a line gets from its connection, and their top-level names (True: set whole)
Enrichment = tuple[dict[str, Any], dict[str, bool]]


class Conn(OpenRecord):
    """An inbound SMTP connection (ICID)."""

    __slots__ = (
        "country",
        "enrichment",
        "hat_action",
        "interface",
        "listener_ip",
        "lost_at",
        "related",
        "sbrs",
        "sender_group",
        "source",
        "tls",
        "tls_failed",
    )

    def __init__(self, appliance: Appliance, home: dict[int, Any], ident: int, t: float) -> None:
        super().__init__(appliance, home, ident, t)
        self.source: dict[str, Any] | None = None  # shared by the events it enriches: never mutated
        self.related: dict[str, Any] | None = None
        self.listener_ip: str | None = None
        self.interface: str | None = None
        self.sender_group: str | None = None
        self.sbrs: dict[str, Any] | None = None
        self.hat_action: str | None = None
        self.country: str | None = None
        self.tls: dict[str, Any] | None = None
        self.tls_failed: str | None = None
        self.lost_at: float | None = None
        # the fields it adds to its messages' lines, made once per change (see enrichment_for)
        self.enrichment: tuple[Enrichment, Enrichment] | None = None  # inbound, delivery lines

    def changed(self) -> None:
        """A fact of the connection changed: its enrichment is made again when next needed."""
        self.enrichment = None

    def enrichment_for(self, inbound: bool) -> Enrichment:
        """The fields (dotted, in order) a line of one of its messages gets, and their top-level names.

        *inbound* False (delivery lines): only the sender group and SBRS, not the inbound connection's
        source, related and TLS objects.
        """
        made = self.enrichment
        if made is None:
            ids: dict[str, Any] = {}
            if self.sender_group is not None:
                ids["cisco.esa.sender_group"] = self.sender_group
                if self.sbrs is not None:
                    ids["cisco.esa.sbrs"] = self.sbrs
            full = dict(ids)
            if self.source is not None:
                full["source"] = self.source
                if self.related is not None:
                    full["related"] = self.related
            if self.tls is not None:
                full["tls"] = self.tls
            made = self.enrichment = ((full, _roots(full)), (ids, _roots(ids)))
        return made[0] if inbound else made[1]


def _roots(fields: dict[str, Any]) -> dict[str, bool]:
    return {name.partition(".")[0]: type(value) is dict for name, value in fields.items()}


class DeliveryConn(OpenRecord):
    """An outbound delivery connection (DCID)."""

    __slots__ = ("destination", "tls")

    def __init__(self, appliance: Appliance, home: dict[int, Any], ident: int, t: float) -> None:
        super().__init__(appliance, home, ident, t)
        self.destination: dict[str, Any] | None = None  # shared by the events it enriches
        self.tls: dict[str, Any] | None = None


class Fate:
    """What happened to one recipient (one RID) of a message."""

    __slots__ = ("dcid", "destination_ip", "fate", "reason", "response", "status_code")

    def __init__(self) -> None:
        self.fate = "unknown"
        self.dcid: int | None = None
        self.destination_ip: str | None = None
        self.response: str | None = None
        self.reason: str | None = None
        self.status_code: str | None = None


class Msg(OpenRecord):
    """A message (MID) and everything its lines said, until ``Message finished``."""

    __slots__ = (
        "abort",
        "attachments",
        "children",
        "conn",
        "continued_in",
        "direction",
        "fates",
        "first",
        "first_ts",
        "hashes",
        "icid",
        "last_ts",
        "lines",
        "message_id",
        "parent",
        "policy",
        "quarantine",
        "rcpts",
        "released",
        "sender",
        "size",
        "started",
        "subject",
        "verdicts",
    )

    def __init__(self, appliance: Appliance, home: dict[int, Any], ident: int, t: float, ts: str) -> None:
        super().__init__(appliance, home, ident, t)
        self.first = t
        self.first_ts = ts
        self.last_ts = ts
        self.lines = 0
        self.started = False  # Start MID (or a split/rewrite/generation line) was seen
        self.icid: int | None = None
        self.conn: Conn | None = None
        self.sender: str | list[str] | None = None  # one address kept as a plain string
        self.rcpts: list[str | None] | None = None  # index = RID; "" = empty To:, None = never named
        self.fates: dict[int, Fate] | None = None
        self.message_id: str | None = None
        self.subject: str | None = None
        self.size: int | None = None
        self.attachments: list[dict[str, Any]] | None = None
        self.policy: str | None = None
        self.direction: str | None = None
        self.verdicts: dict[str, dict[str, Any]] | None = None
        self.abort: dict[str, Any] | None = None
        self.quarantine: str | None = None
        self.released = False
        self.parent: int | None = None
        self.children: list[int] | None = None
        self.continued_in: list[int] | None = None
        self.hashes: set[str] | None = None  # SHA-256 of files AMP named for it (bounded by MAX_HASHES)

    def set_recipient(self, rid: int, address: str | None) -> None:
        """Remember the address of RID *rid* (RIDs count up from 0; absurd gaps are ignored)."""
        rcpts = self.rcpts
        if rcpts is None:
            rcpts = self.rcpts = []
        if rid < len(rcpts):
            rcpts[rid] = address or ""
        elif rid < len(rcpts) + MAX_RID_GAP:
            rcpts.extend([None] * (rid - len(rcpts)))
            rcpts.append(address or "")

    def recipient(self, rid: int) -> str | None:
        """The address of RID *rid*, if a To line named one."""
        rcpts = self.rcpts
        return rcpts[rid] or None if rcpts is not None and 0 <= rid < len(rcpts) else None

    def recipient_rids(self) -> list[int]:
        """RIDs named by To lines or by delivery lines, in order."""
        rids = {i for i, a in enumerate(self.rcpts or ()) if a is not None}
        rids.update(self.fates or ())
        return sorted(rids)

    def senders(self) -> list[str]:
        """Envelope sender address(es) as a list."""
        sender = self.sender
        return [] if sender is None else [sender] if isinstance(sender, str) else list(sender)

    def fate(self, rid: int) -> Fate:
        """The fate record of recipient *rid*, created on first use."""
        fates = self.fates
        if fates is None:
            fates = self.fates = {}
        f = fates.get(rid)
        if f is None:
            f = fates[rid] = Fate()
        return f


class OpenTable:
    """Every open record of every appliance, bounded by *max_open* and a log-time *ttl*.

    ``on_evict(record, why)`` is called for each record pushed out (``why``: ``max_open`` or ``ttl``)
    after it has been removed from its store.
    """

    __slots__ = ("max_open", "on_evict", "order", "ttl")

    def __init__(self, max_open: int, ttl: float, on_evict: Callable[[OpenRecord, str], None]) -> None:
        self.max_open = max_open
        self.ttl = ttl
        self.on_evict = on_evict
        self.order: OrderedDict[OpenRecord, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self.order)

    def add(self, rec: OpenRecord) -> None:
        """Track a new record (already in its store); evict the stalest when over the bound."""
        order = self.order
        order[rec] = None
        if len(order) > self.max_open:
            self._evict_stalest()

    def discard(self, rec: OpenRecord) -> None:
        """Forget a finished record."""
        self.order.pop(rec, None)

    def touch(self, rec: OpenRecord, t: float) -> None:
        """*rec* was seen at log time *t*: it becomes the most recently used (if still open)."""
        rec.last = t
        order = self.order
        if rec in order:
            order.move_to_end(rec)

    def _evict_stalest(self) -> None:
        rec, _ = self.order.popitem(last=False)
        self._drop(rec, "max_open")

    def expire(self, now: float) -> None:
        """Evict every record not seen within the TTL before log time *now* (stalest first)."""
        order = self.order
        cutoff = now - self.ttl
        while order:
            rec = next(iter(order))
            if rec.last >= cutoff:
                break  # everything behind it was used later
            order.popitem(last=False)
            self._drop(rec, "ttl")

    def drain(self) -> Iterator[OpenRecord]:
        """Remove and yield every record, oldest first (end of input)."""
        order = self.order
        while order:
            rec, _ = order.popitem(last=False)
            if rec.home.get(rec.id) is rec:
                del rec.home[rec.id]
            yield rec

    def _drop(self, rec: OpenRecord, why: str) -> None:
        if rec.home.get(rec.id) is rec:
            del rec.home[rec.id]
        self.on_evict(rec, why)


class SessionStore:
    """Every appliance's open records and the one table that bounds them (the tracker's whole state)."""

    __slots__ = ("appliances", "table")

    def __init__(self, max_open: int, ttl: float, on_evict: Callable[[OpenRecord, str], None]) -> None:
        self.appliances: OrderedDict[str, Appliance] = OrderedDict()  # in the order first seen
        self.table = OpenTable(max_open, ttl, on_evict)

    def appliance(self, key: str) -> Appliance:
        """The appliance *key* (created on first sight; past :data:`MAX_APPLIANCES`, the first one seen that
        holds nothing open is forgotten, its finished MIDs with it, so a flood of host names stays bounded)."""
        app = self.appliances.get(key)
        if app is None:
            if len(self.appliances) >= MAX_APPLIANCES:
                idle = next((k for k, a in self.appliances.items() if not (a.icids or a.mids or a.dcids)), None)
                if idle is not None:
                    del self.appliances[idle]
            app = self.appliances[key] = Appliance(key)
        return app

    def conn(self, app: Appliance, icid: int, t: float) -> Conn:
        """The open connection *icid* of *app*, created on first sight; touched at log time *t*."""
        conn = app.icids.get(icid)
        if conn is None:
            conn = app.icids[icid] = Conn(app, app.icids, icid, t)
            self.table.add(conn)
        else:
            self.table.touch(conn, t)
        return conn

    def new_conn(self, app: Appliance, icid: int, t: float) -> Conn:
        """A connection opened now: a record of the same ICID still open is replaced."""
        old = app.icids.pop(icid, None)
        if old is not None:
            self.table.discard(old)
        return self.conn(app, icid, t)

    def new_dconn(self, app: Appliance, dcid: int, t: float) -> DeliveryConn:
        """A delivery connection opened now (replacing a record of the same DCID)."""
        old = app.dcids.pop(dcid, None)
        if old is not None:
            self.table.discard(old)
        dconn = app.dcids[dcid] = DeliveryConn(app, app.dcids, dcid, t)
        self.table.add(dconn)
        return dconn

    def close(self, rec: OpenRecord | None) -> None:
        """Forget a finished connection or delivery connection (messages keep their own reference)."""
        if rec is not None:
            rec.home.pop(rec.id, None)
            self.table.discard(rec)

    def msg(self, app: Appliance, mid: int, t: float, ts: str) -> Msg | None:
        """The open message *mid* (created on first sight), or None for a line after its finish."""
        msg = app.mids.get(mid)
        if msg is None:
            if mid in app.finished:
                return None
            msg = app.mids[mid] = Msg(app, app.mids, mid, t, ts)
            self.table.add(msg)
        else:
            msg.last = t
            msg.last_ts = ts
            self.table.order.move_to_end(msg)  # an open message is always in the table
        msg.lines += 1
        return msg

    def finish(self, msg: Msg) -> None:
        """*msg* is finished: forget it, and remember its MID so a stray late line does not reopen it."""
        app = msg.appliance
        del app.mids[msg.id]
        self.table.discard(msg)
        app.remember_finished(msg.id)

    def drain(self) -> Iterator[OpenRecord]:
        """Every open record, oldest first; the store is empty afterwards."""
        yield from self.table.drain()
        self.appliances.clear()

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
