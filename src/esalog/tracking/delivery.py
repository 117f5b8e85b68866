"""Handlers of delivery lines: per-recipient fates (delivered, bounced, deferred, dropped), the remote
reply, and the destination of the delivery connection."""

from __future__ import annotations

from esalog.parsers.record import Record
from esalog.tracking.context import Context, Handler, rids_of
from esalog.tracking.store import Appliance, Fate, Msg


def _delivery(ctx: Context, rec: Record, app: Appliance, t: float, ts: str,
              fate_name: str | None) -> tuple[Msg, list[Fate]] | None:
    """Common work of delivery lines: per-RID fates, recipients' addresses, destination."""
    msg = ctx.mid_event(rec, app, t, ts, False)
    if msg is None:
        return None
    rids = rids_of(rec) or msg.recipient_rids() or [0]
    dcid = rec.dcid
    dconn = app.dcids.get(dcid) if dcid is not None else None
    if dconn is None and dcid is None and msg.fates:
        first = msg.fates.get(rids[0])
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
    if ctx.enrich:
        if msg.rcpts and not rec.has("email.to"):
            found = [a for a in map(msg.recipient, rids) if a]
            if found:
                rec.set("email.to", {"address": found})
        if dconn is not None and dconn.destination is not None and not rec.has("destination"):
            rec.set("destination", dconn.destination)
    return msg, fates


def started(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """``Delivery start``: the recipients' fates and destination, no fate set yet."""
    _delivery(ctx, rec, app, t, ts, None)


def delivered(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """``Message done``: the recipients named are delivered."""
    _delivery(ctx, rec, app, t, ts, "delivered")


def response(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """The remote reply to a delivery; a 2xx counts as delivered where no other fate was logged."""
    found = _delivery(ctx, rec, app, t, ts, None)
    if found is not None:
        reply = rec.get_str("cisco.esa.response")
        accepted = reply is not None and reply[:1] == "2"
        for fate in found[1]:
            fate.response = reply
            if accepted and fate.fate == "unknown":
                fate.fate = "delivered"  # a 2xx reply whose 'Message done' line is missing


def _with_reason(rec: Record, found: tuple[Msg, list[Fate]] | None) -> None:
    """Bounce or delay reason (status code, category, remote reply) on the recipients' fates."""
    if found is None:
        return
    bounce = rec.subtree("cisco.esa.bounce") or {}
    reason = rec.get_str("event.reason") or " - ".join(
        str(p) for p in (bounce.get("status_code"), bounce.get("category")) if p
    )
    reply = bounce.get("response")
    if reply:
        reason = f"{reason} ({bounce.get('smtp_code', '')} {' '.join(reply)})".strip()
    for fate in found[1]:
        fate.reason = reason or None
        fate.status_code = bounce.get("status_code")


def bounced(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """A bounce (or double bounce): the recipients bounced, with the reason."""
    _with_reason(rec, _delivery(ctx, rec, app, t, ts, "bounced"))


def deferred(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """A delayed delivery: the recipients deferred, with the reason."""
    _with_reason(rec, _delivery(ctx, rec, app, t, ts, "deferred"))


def dropped(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """The message deleted or dropped (quarantine deletion, LDAP drop): the recipients dropped."""
    _delivery(ctx, rec, app, t, ts, "dropped")


HANDLERS: dict[str, Handler] = {
    "delivery-started": started,
    "message-delivered": delivered,
    "delivery-response": response,
    "message-bounced": bounced,
    "double-bounce": bounced,
    "delivery-deferred": deferred,
    "message-deleted": dropped,
    "quarantine-deleted": dropped,
    "ldap-drop": dropped,
}
