"""Session state: slotted records per appliance, bounded by count and by log-time TTL.

Every open record (connection or message) sits in its appliance's store (``dict`` keyed by the
numeric id) and in one :class:`OpenTable` that keeps them in least-recently-queued order. Eviction
is a CLOCK-style second chance: a record touched since it was queued goes to the back once instead
of being evicted. Finishing a record removes it from both, so nothing stays behind.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

#: How many finished MIDs per appliance are remembered so that a stray late line does not reopen them.
FINISHED_MEMORY = 4096


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
        fin = self.finished
        fin[mid] = None
        if len(fin) > FINISHED_MEMORY:
            fin.popitem(last=False)


class Record:
    """Base of every open record: where it lives and when it was last seen (log time)."""

    __slots__ = ("home", "id", "last", "queued")

    def __init__(self, home: dict[int, Any], ident: int, t: float) -> None:
        self.home = home
        self.id = ident
        self.last = t
        self.queued = t


class Conn(Record):
    """An inbound SMTP connection (ICID)."""

    __slots__ = ("country", "hat_action", "interface", "listener_ip", "lost_at", "related", "sbrs",
                 "sender_group", "source", "tls", "tls_failed")

    def __init__(self, home: dict[int, Any], ident: int, t: float) -> None:
        super().__init__(home, ident, t)
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


class DeliveryConn(Record):
    """An outbound delivery connection (DCID)."""

    __slots__ = ("destination", "tls")

    def __init__(self, home: dict[int, Any], ident: int, t: float) -> None:
        super().__init__(home, ident, t)
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


class Msg(Record):
    """A message (MID) and everything its lines said, until ``Message finished``."""

    __slots__ = ("abort", "attachments", "children", "conn", "continued_in", "direction", "fates", "first",
                 "first_ts", "icid", "last_ts", "lines", "message_id", "parent", "policy", "quarantine",
                 "rcpts", "released", "sender", "size", "started", "subject", "verdicts")

    def __init__(self, home: dict[int, Any], ident: int, t: float, ts: str) -> None:
        super().__init__(home, ident, t)
        self.first = t
        self.first_ts = ts
        self.last_ts = ts
        self.lines = 0
        self.started = False  # Start MID (or a split/rewrite/generation line) was seen
        self.icid: int | None = None
        self.conn: Conn | None = None
        self.sender: list[str] | None = None
        self.rcpts: dict[int, str | None] | None = None
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

    def __init__(self, max_open: int, ttl: float, on_evict: Callable[[Record, str], None]) -> None:
        self.max_open = max_open
        self.ttl = ttl
        self.on_evict = on_evict
        self.order: OrderedDict[Record, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self.order)

    def add(self, rec: Record) -> None:
        """Track a new record (already in its store); evict the stalest when over the bound."""
        order = self.order
        order[rec] = None
        if len(order) > self.max_open:
            self._evict_stalest()

    def discard(self, rec: Record) -> None:
        """Forget a finished record."""
        self.order.pop(rec, None)

    def _evict_stalest(self) -> None:
        order = self.order
        for _ in range(8):  # second chance for records touched since they were queued, bounded
            rec = next(iter(order))
            if rec.last <= rec.queued:
                break
            rec.queued = rec.last
            order.move_to_end(rec)
        rec, _ = order.popitem(last=False)
        self._drop(rec, "max_open")

    def expire(self, now: float) -> None:
        """Evict every record not seen within the TTL before log time *now*."""
        order = self.order
        cutoff = now - self.ttl
        while order:
            rec = next(iter(order))
            if rec.last < cutoff:
                order.popitem(last=False)
                self._drop(rec, "ttl")
            elif rec.last > rec.queued:
                rec.queued = rec.last
                order.move_to_end(rec)
            else:
                break  # untouched since queued and not expired: everything behind it is younger

    def drain(self) -> list[Record]:
        """Remove and return every record, oldest first (end of input)."""
        records = list(self.order)
        self.order.clear()
        for rec in records:
            if rec.home.get(rec.id) is rec:
                del rec.home[rec.id]
        return records

    def _drop(self, rec: Record, why: str) -> None:
        if rec.home.get(rec.id) is rec:
            del rec.home[rec.id]
        self.on_evict(rec, why)
