"""Handlers of connection lines: inbound (ICID: opened, sender group, TLS, lost, closed) and delivery
connections (DCID: opened, closed, errors)."""

from __future__ import annotations

from esalog.parsers.record import Record
from esalog.tracking.context import Context, Handler
from esalog.tracking.store import Appliance, Conn


def opened(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """``New SMTP ICID``: a new inbound connection with its client's address, listener and interface."""
    icid = rec.icid
    if icid is None:
        return
    conn = ctx.store.new_conn(app, icid, t)
    conn.source = rec.subtree("source")
    if conn.source is not None and "ip" in conn.source:
        conn.related = {"ip": [conn.source["ip"]]}
    conn.listener_ip = rec.get_str("destination.ip")
    conn.interface = rec.get_str("cisco.esa.interface")
    conn.changed()


def _source(ctx: Context, rec: Record, conn: Conn) -> None:
    """A connection line after ``New SMTP ICID`` (accept, reject, TLS, lost, close) gets its client's
    address: "rejects by source IP" needs no join."""
    if ctx.enrich and conn.source is not None and not rec.has("source"):
        rec.set("source", conn.source)
        if conn.related is not None and not rec.has("related"):
            rec.set("related", conn.related)


def sender_group(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """A sender group matched (or rejected) the connection: its group, SBRS, HAT action and country."""
    icid = rec.icid
    if icid is None:
        return
    conn = ctx.store.conn(app, icid, t)
    _source(ctx, rec, conn)
    conn.sender_group = rec.get_str("cisco.esa.sender_group")
    conn.sbrs = rec.subtree("cisco.esa.sbrs")
    conn.hat_action = rec.get_str("cisco.esa.hat_action")
    conn.country = rec.get_str("cisco.esa.country")
    conn.changed()


def tls(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """TLS negotiated or failed, on an inbound connection (ICID) or a delivery connection (DCID)."""
    facts = rec.subtree("tls")
    icid = rec.icid
    if icid is not None:
        conn = ctx.store.conn(app, icid, t)
        conn.tls = facts
        conn.changed()
        _source(ctx, rec, conn)
        if rec.action == "tls-failed":
            conn.tls_failed = rec.get_str("event.reason") or "TLS failed"
        return
    dcid = rec.dcid
    if dcid is not None:
        dconn = app.dcids.get(dcid)
        if dconn is not None:
            dconn.tls = facts
            ctx.store.table.touch(dconn, t)


def lost(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """The inbound connection was lost: the time is kept, to tell the cause of its message's abort."""
    icid = rec.icid
    if icid is not None:
        conn = ctx.store.conn(app, icid, t)
        conn.lost_at = t
        _source(ctx, rec, conn)


def closed(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """The inbound connection closed: the store forgets it."""
    icid = rec.icid
    conn = app.icids.get(icid) if icid is not None else None
    if conn is not None:
        _source(ctx, rec, conn)
        ctx.store.close(conn)


def delivery_opened(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """A delivery connection (DCID) opened to its destination."""
    dcid = rec.dcid
    if dcid is not None:
        ctx.store.new_dconn(app, dcid, t).destination = rec.subtree("destination")


def delivery_closed(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """A delivery connection closed or failed: the store forgets it."""
    dcid = rec.dcid
    if dcid is not None:
        ctx.store.close(app.dcids.get(dcid))


HANDLERS: dict[str, Handler] = {
    "connection-opened": opened,
    "sender-group-matched": sender_group,
    "sender-group-rejected": sender_group,
    "tls-negotiated": tls,
    "tls-failed": tls,
    "connection-lost": lost,
    "connection-closed": closed,
    "delivery-connection-opened": delivery_opened,
    "delivery-connection-closed": delivery_closed,
    "delivery-connection-error": delivery_closed,
}
