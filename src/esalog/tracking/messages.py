"""Handlers of message lines (MID): receiving (envelope, headers, size, policy, attachments, verdicts),
families (splits, rewrites, generated messages), quarantine, abort and finish."""

from __future__ import annotations

from esalog.parsers.record import Record
from esalog.tracking.aborts import abort_facts, classify_receive_abort, clock
from esalog.tracking.context import MAX_LIST, Context, Handler, append_bounded, rids_of
from esalog.tracking.store import Appliance, Msg
from esalog.tracking.summary import disposition, outcome_of, recipient_fate

_RECEIVE_ABORTS = frozenset({"receiving_aborted", "sender_quit"})


def _one_or_list(addresses: list[str] | None) -> str | list[str] | None:
    """One address as a plain string (saves a list per open message), several as the list."""
    if addresses and len(addresses) == 1:
        return addresses[0]
    return addresses


# ----------------------------------------------------------------------------------------- receiving

def started(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """``Start MID``: a new message; an open one under the same MID on another connection ends here."""
    mid = rec.mid
    if mid is not None and mid in app.finished and mid not in app.mids:
        del app.finished[mid]  # a new message reusing a finished MID (e.g. the same log read twice)
    old = app.mids.get(mid) if mid is not None else None
    if old is not None and old.icid is not None and rec.icid is not None and old.icid != rec.icid:
        # a new message on another connection under the MID of one still open (its end was never logged:
        # another day's file, a restart): that one ends here, and takes none of its facts to the new one
        del app.mids[old.id]
        ctx.store.table.discard(old)
        ctx.emit_summary(old, "mid_reused")
    msg = ctx.mid_event(rec, app, t, ts)
    if msg is not None:
        msg.started = True


def envelope_from(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """The envelope sender."""
    msg = ctx.mid_event(rec, app, t, ts)
    if msg is not None:
        msg.sender = _one_or_list(rec.get_list("email.from.address"))


def envelope_to(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """The envelope recipients, each with its RID."""
    msg = ctx.mid_event(rec, app, t, ts)
    if msg is None:
        return
    addresses = rec.get_list("email.to.address") or ()
    for i, rid in enumerate(rids_of(rec)):
        msg.set_recipient(rid, addresses[i] if i < len(addresses) else None)


def message_id(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """The ``Message-ID`` header."""
    msg = ctx.mid_event(rec, app, t, ts)
    if msg is not None:
        msg.message_id = rec.get_str("email.message_id")


def subject(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """The subject."""
    msg = ctx.mid_event(rec, app, t, ts)
    if msg is not None:
        msg.subject = rec.get_str("email.subject")


def received(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """The message received: its size (and its sender where no envelope line gave it)."""
    msg = ctx.mid_event(rec, app, t, ts)
    if msg is not None:
        msg.size = rec.get_int("cisco.esa.size_bytes")
        if msg.sender is None:
            msg.sender = _one_or_list(rec.get_list("email.from.address"))


def policy(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """The mail policy matched, and the direction it gives."""
    msg = ctx.mid_event(rec, app, t, ts)
    if msg is not None:
        msg.policy = rec.get_str("cisco.esa.policy")
        msg.direction = rec.get_str("email.direction") or msg.direction


def attachment(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """The attachments named (bounded by MAX_LIST)."""
    msg = ctx.mid_event(rec, app, t, ts)
    found = rec.get_list("email.attachments")
    if msg is not None and found:
        if msg.attachments is None:
            msg.attachments = []
        msg.attachments.extend(found[: MAX_LIST - len(msg.attachments)])


def verdict(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """A scanning verdict per category; a final verdict replaces an interim one, never the reverse."""
    msg = ctx.mid_event(rec, app, t, ts)
    found = rec.subtree("cisco.esa.verdict")
    if msg is None or not found:
        return
    category = found.get("category") or (rec.action or "").removesuffix("-verdict")
    verdicts = msg.verdicts
    if verdicts is None:
        verdicts = msg.verdicts = {}
    known = verdicts.get(category)
    if known is None or known.get("interim") or not found.get("interim"):
        verdicts[category] = found  # a final verdict replaces an interim one, never the reverse


# ------------------------------------------------------------------------------------------ families

def _family(ctx: Context, app: Appliance, parent: Msg, child_mid: int, t: float, ts: str,
            same_rids: bool) -> Msg | None:
    """The MID that carries (part of) *parent* on, with the parent's connection and envelope facts.

    *same_rids*: the child keeps the parent's RID numbering (rewrite, re-injection); a split
    child numbers its recipients from 0 again and logs its own To lines.
    """
    child = ctx.store.msg(app, child_mid, t, ts)
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
    parent.continued_in = append_bounded(parent.continued_in, child_mid)
    return child


def _split_recipients(rec: Record) -> list[str]:
    """Addresses named by a split line: '... due to <why> for following recipients: a@x, b@y'."""
    reason = rec.get_str("event.reason") or ""
    _, found, names = reason.partition("following recipients: ")
    return [n.strip() for n in names.split(",") if n.strip()] if found else []


def split(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """The message split: the child MID takes the recipients the line names."""
    parent = ctx.mid_event(rec, app, t, ts)
    child_mid = rec.get_int("cisco.esa.child_mid")
    if parent is None or child_mid is None:
        return
    child = _family(ctx, app, parent, child_mid, t, ts, same_rids=False)
    if child is None:
        return
    moved = rec.get_list("email.to.address") or _split_recipients(rec)
    if moved and parent.rcpts:
        wanted = set(moved)
        if child.rcpts is None:  # until the child's own To lines say otherwise: RIDs from 0
            child.rcpts = [a for a in parent.rcpts if a in wanted]
        parent.rcpts = [None if a in wanted else a for a in parent.rcpts]
    rec.set("cisco.esa.related_mids", [parent.id, child_mid])


def continued(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """The message rewritten or re-injected under a new MID, which keeps its RID numbering."""
    parent = ctx.mid_event(rec, app, t, ts)
    child_mid = rec.get_int("cisco.esa.child_mid")
    if parent is None or child_mid is None:
        return
    _family(ctx, app, parent, child_mid, t, ts, same_rids=True)
    rec.set("cisco.esa.related_mids", [parent.id, child_mid])


def generated(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """A message (or bounce) generated from another: the child is linked to its parent."""
    child = ctx.mid_event(rec, app, t, ts)
    parent_mid = rec.get_int("cisco.esa.parent_mid")
    if child is None or parent_mid is None:
        return
    child.started = True
    child.parent = parent_mid
    parent = app.mids.get(parent_mid)
    if parent is not None:
        parent.children = append_bounded(parent.children, child.id)
    rec.set("cisco.esa.related_mids", [parent_mid, child.id])


# ------------------------------------------------------------------------- quarantine, abort, finish

def quarantined(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """The message quarantined (or handed to the Spam Quarantine by RPC): which quarantine."""
    msg = ctx.mid_event(rec, app, t, ts)
    if msg is None:
        return
    name = rec.get_str("cisco.esa.quarantine.name") or msg.quarantine
    if name is None:
        name = "Policy" if rec.action == "message-quarantined" else "Spam Quarantine"
    msg.quarantine = name
    msg.released = False


def released(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """The message released from its quarantine."""
    msg = ctx.mid_event(rec, app, t, ts)
    if msg is not None:
        msg.released = True


def aborted(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """``Message aborted``: the abort category, told apart with the session state where it can be."""
    mid = rec.mid
    if mid is None:
        return
    abort = abort_facts(rec)
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
                timeout=ctx.inbound_timeout,
            )
        else:
            idle = max(0.0, t - msg.last)
            abort["idle_seconds"] = round(idle, 3)
            abort["smtp_phase"] = "after_data" if msg.size is not None else "before_data"
            abort["evidence"] = (
                f"'{abort['reason']}' logged at {clock(t)}, {idle:.0f} s after the MID's previous line"
            )
    msg = ctx.mid_event(rec, app, t, ts)
    rec.set("cisco.esa.abort", abort)
    if msg is not None:
        msg.abort = abort


def finished(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """``Message finished``: the disposition; the summary is emitted and the message finished in the store."""
    msg = ctx.mid_event(rec, app, t, ts)
    if msg is None:
        return
    if msg.abort is None and rec.get("cisco.esa.finish_state") == "aborted":
        msg.abort = {
            "reason": "Message finished ... aborted",
            "category": "receiving_aborted",
            "confidence": "unknown",
            "initiated_by": "unknown",
            "evidence": "no 'Message aborted' line for this MID; the finish line says aborted",
        }
    if msg.abort is not None:
        rec.set("cisco.esa.abort", msg.abort)
    disp = disposition(msg)
    rec.set("cisco.esa.disposition", disp)
    rec.set("event.outcome", outcome_of(disp))
    ctx.store.finish(msg)
    ctx.emit_summary(msg, "finished")
    if disp in ("delivered", "partially_delivered"):
        fates = msg.fates or {}
        delivered = [a for rid in msg.recipient_rids()
                     if (a := msg.recipient(rid)) and recipient_fate(msg, fates.get(rid)) == "delivered"]
        ctx.out += ctx.verdicts.delivered(msg, delivered, t)


def mid_line(ctx: Context, rec: Record, app: Appliance, t: float, ts: str) -> None:
    """Any other line naming a MID: enriched like the rest of its message."""
    ctx.mid_event(rec, app, t, ts)


HANDLERS: dict[str, Handler] = {
    "message-started": started,
    "envelope-from": envelope_from,
    "envelope-to": envelope_to,
    "message-id": message_id,
    "message-subject": subject,
    "message-received": received,
    "policy-matched": policy,
    "message-attachment": attachment,
    "message-split": split,
    "message-rewritten": continued,
    "message-reinjected": continued,
    "message-generated": generated,
    "bounce-generated": generated,
    "message-quarantined": quarantined,
    "spam-quarantined": quarantined,
    "rpc-delivered": quarantined,
    "rpc-delivery-started": quarantined,
    "message-released": released,
    "message-aborted": aborted,
    "message-finished": finished,
    "spam-quarantine-tagged": mid_line,
    "message-queued": mid_line,
}
