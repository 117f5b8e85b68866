"""One ``message-summary`` event per MID: the whole transaction, its recipients and its disposition."""

from __future__ import annotations

from typing import Any

from esalog.names import MODULE, SUMMARY_ACTION
from esalog.tracking.store import Fate, Msg

DISPOSITIONS = (
    "delivered",
    "partially_delivered",
    "bounced",
    "dropped",
    "quarantined",
    "aborted",
    "deferred",
    "unknown",
)
#: Recipient fates that end the story of a recipient (others may still change).
FINAL_FATES = frozenset({"delivered", "bounced", "deferred", "dropped", "quarantined", "aborted"})
_ABORT_FATE = {"policy_drop": "dropped", "policy_bounce": "bounced"}
_OUTCOME = {
    "delivered": "success",
    "partially_delivered": "success",
    "bounced": "failure",
    "dropped": "failure",
    "aborted": "failure",
}


def recipient_fate(msg: Msg, fate: Fate | None) -> str:
    """The fate of one recipient: its own delivery lines first, then the message's abort or quarantine."""
    if fate is not None and fate.fate in FINAL_FATES:
        return fate.fate
    if msg.abort is not None:
        return _ABORT_FATE.get(msg.abort.get("category", ""), "aborted")
    if msg.quarantine is not None and not msg.released:
        return "quarantined"
    return "unknown"


def disposition(msg: Msg) -> str:
    """The final word on a message (one of :data:`DISPOSITIONS`)."""
    if msg.abort is not None:
        return _ABORT_FATE.get(msg.abort.get("category", ""), "aborted")
    fates_map = msg.fates or {}
    fates = [recipient_fate(msg, fates_map.get(rid)) for rid in msg.recipient_rids()]
    if not fates:
        return "quarantined" if msg.quarantine is not None and not msg.released else "unknown"
    delivered = fates.count("delivered")
    if delivered == len(fates):
        return "delivered"
    if delivered:
        return "partially_delivered"
    for name in ("quarantined", "deferred", "bounced", "dropped"):
        if name in fates:
            return name
    return "unknown"


def outcome_of(disp: str) -> str:
    """ECS ``event.outcome`` for a disposition."""
    return _OUTCOME.get(disp, "unknown")


def build_summary(msg: Msg, observer: dict[str, Any], dataset: str, end_reason: str) -> dict[str, Any]:
    """The ``message-summary`` event of *msg*; *end_reason*: finished, max_open, ttl, end_of_input or mid_reused."""
    disp = disposition(msg)
    complete = end_reason == "finished" and msg.started
    esa: dict[str, Any] = {"kind": SUMMARY_ACTION, "mid": msg.id, "disposition": disp}
    event: dict[str, Any] = {
        "@timestamp": msg.last_ts,
        "event": {
            "kind": "state",
            "module": MODULE,
            "dataset": dataset,
            "action": SUMMARY_ACTION,
            "category": ["email"],
            "type": ["info"],
            "outcome": outcome_of(disp),
            "start": msg.first_ts,
            "end": msg.last_ts,
            "duration": max(0, round((msg.last - msg.first) * 1_000_000_000)),
        },
        "observer": observer,
        "cisco": {"esa": esa},
    }
    email: dict[str, Any] = {"local_id": str(msg.id)}
    if msg.icid is not None:
        esa["icid"] = msg.icid
    conn = msg.conn
    if conn is not None:
        if conn.source is not None:
            event["source"] = dict(conn.source)
            if "ip" in conn.source:
                event["related"] = {"ip": [conn.source["ip"]]}
        if conn.listener_ip is not None:
            event["destination"] = {"ip": conn.listener_ip}
        for name in ("interface", "sender_group", "hat_action", "country"):
            value = getattr(conn, name)
            if value is not None:
                esa[name] = value
        if conn.sbrs is not None:
            esa["sbrs"] = dict(conn.sbrs)
        if conn.tls is not None:
            event["tls"] = dict(conn.tls)
    if msg.sender is not None:
        email["from"] = {"address": msg.senders()}
    for name, value in (
        ("message_id", msg.message_id),
        ("subject", msg.subject),
        ("direction", msg.direction),
    ):
        if value is not None:
            email[name] = value
    if msg.attachments:
        email["attachments"] = list(msg.attachments)
    if msg.policy is not None:
        esa["policy"] = msg.policy
    if msg.size is not None:
        esa["size_bytes"] = msg.size
    if msg.verdicts:
        esa["verdicts"] = {
            category: v.get("result") or ("cached" if v.get("cached") else "unknown")
            for category, v in msg.verdicts.items()
        }
    if msg.abort is not None:
        esa["abort"] = msg.abort
        event["event"]["reason"] = msg.abort.get("reason", "")
    recipients, addresses = _recipients(msg)
    if recipients:
        esa["recipients"] = recipients
    if addresses:
        email["to"] = {"address": addresses}
    event["email"] = email
    related = sorted(
        {*(() if msg.parent is None else (msg.parent,)), *(msg.children or ()), *(msg.continued_in or ())} - {msg.id}
    )
    if related:
        esa["related_mids"] = related
    summary: dict[str, Any] = {"complete": complete, "end_reason": end_reason, "lines": msg.lines}
    if msg.quarantine is not None:
        summary["quarantine"] = msg.quarantine
    if msg.continued_in:
        summary["continued_in"] = list(msg.continued_in)
    esa["summary"] = summary
    event["message"] = _sentence(msg, disp, len(recipients), complete)
    return event


def _recipients(msg: Msg) -> tuple[list[dict[str, Any]], list[str]]:
    fates = msg.fates or {}
    entries: list[dict[str, Any]] = []
    addresses: list[str] = []
    for rid in msg.recipient_rids():
        fate = fates.get(rid)
        entry: dict[str, Any] = {"rid": rid, "fate": recipient_fate(msg, fate)}
        address = msg.recipient(rid)
        if address:
            entry["address"] = address
            addresses.append(address)
        if fate is not None:
            for name in ("dcid", "destination_ip", "response", "reason", "status_code"):
                value = getattr(fate, name)
                if value is not None:
                    entry[name] = value
        entries.append(entry)
    return entries, addresses


def _sentence(msg: Msg, disp: str, n_rcpts: int, complete: bool) -> str:
    text = f"MID {msg.id}: {disp}"
    if msg.abort is not None:
        text += f" ({msg.abort.get('category')}: {msg.abort.get('evidence', '')})"
    text += f", {n_rcpts} recipient{'s' if n_rcpts != 1 else ''}"
    if msg.continued_in:
        text += f", continued as MID {', '.join(map(str, msg.continued_in))}"
    return text + ("" if complete else ", incomplete")
