"""Abort categories: pure functions from the abort text (and, when tracking, the session facts).

``Message aborted MID n <reason>`` says little by itself: ``Receiving aborted`` may be a lost
connection or the listener's unsuccessful-inbound timeout. With the session state (was the MID's
ICID reported ``lost``? how long was the MID idle?) the cause can be told apart (Cisco TN 118295).
"""

from __future__ import annotations

import re
import time
from typing import Any

CATEGORIES = (
    "connection_lost",
    "inbound_timeout",
    "sender_quit",
    "receiving_aborted",
    "policy_drop",
    "policy_bounce",
    "other",
)
#: Log time stamps have whole seconds: an idle time this much below the timeout still counts as it.
TIMEOUT_TOLERANCE = 1.0

RECEIVING_ABORTED = "Receiving aborted"
BY_SENDER = "Receiving aborted by sender"
_FILTER = re.compile(
    r"(?P<verb>Dropped|Bounced) by (?:(?P<kind>content filter|filter|message filter) "
    r"(?P<q>['\"])(?P<name>.*)(?P=q)(?: in the (?P<dir>inbound|outbound) table)?"
    r"|(?P<engine>[^'\"]+?))\s*$"
)


def clock(epoch: float) -> str:
    """``11:05:36`` (UTC) for evidence sentences."""
    return time.strftime("%H:%M:%S", time.gmtime(epoch))


def classify_line(reason: str) -> dict[str, Any]:
    """What the abort text alone tells: the category and its facts (no session state needed)."""
    text = reason.strip()
    if text.startswith(BY_SENDER):
        return {
            "reason": reason,
            "category": "sender_quit",
            "confidence": "logged",
            "initiated_by": "sender",
            "evidence": "the abort line says the sender ended the session",
        }
    if text.startswith(RECEIVING_ABORTED):
        return {
            "reason": reason,
            "category": "receiving_aborted",
            "confidence": "unknown",
            "initiated_by": "unknown",
            "evidence": "no earlier line of this message: lost connection or timeout cannot be told",
        }
    m = _FILTER.match(text)
    if m:
        abort: dict[str, Any] = {"reason": reason, "confidence": "logged", "initiated_by": "policy"}
        if m["verb"] == "Dropped":
            abort["category"] = "policy_drop"
        else:
            abort["category"] = "policy_bounce"
        if m["name"] is not None:
            abort["filter"] = m["name"]
            abort["filter_type"] = "content" if m["kind"] == "content filter" else "message"
            if m["dir"]:
                abort["direction"] = m["dir"]
            abort["evidence"] = f"{m['kind']} '{m['name']}'" + (f" in the {m['dir']} table" if m["dir"] else "")
        else:
            abort["engine"] = m["engine"]
            abort["evidence"] = f"engine {m['engine']}"
        abort["evidence"] = f"{m['verb'].lower()} by " + abort["evidence"]
        return abort
    return {
        "reason": reason,
        "category": "other",
        "confidence": "logged",
        "initiated_by": "unknown",
        "evidence": "abort text not known to esalog, kept in abort.reason",
    }


def classify_receive_abort(
    abort: dict[str, Any],
    *,
    mid: int,
    icid: int | None,
    abort_at: float,
    last_activity: float,
    lost_at: float | None,
    received: bool,
    timeout: float,
) -> dict[str, Any]:
    """Refine a ``receiving_aborted`` verdict with the session facts of MID *mid* (returns a new dict).

    *last_activity*: log time of the MID's previous line; *lost_at*: time of ``ICID n lost`` for
    its connection when logged at or before the abort; *received*: a ``ready N bytes`` line was seen.
    """
    idle = max(0.0, abort_at - last_activity)
    out = dict(abort)
    out["idle_seconds"] = round(idle, 3)
    out["smtp_phase"] = "after_data" if received else "before_data"
    conn = f"ICID {icid}" if icid is not None else "its connection"
    if lost_at is not None:
        out.update(
            category="connection_lost",
            confidence="logged",
            initiated_by="network",
            evidence=f"{conn} lost at {clock(lost_at)}, {abort_at - lost_at:.0f} s before the abort",
        )
    elif idle >= timeout - TIMEOUT_TOLERANCE:
        out.update(
            category="inbound_timeout",
            confidence="inferred",
            initiated_by="appliance",
            evidence=f"no 'lost' for {conn}; MID {mid} idle {idle:.0f} s since {clock(last_activity)}, "
            f"at least the {timeout:.0f} s listener timeout",
        )
    else:
        out.update(
            category="connection_lost",
            confidence="inferred",
            initiated_by="network",
            evidence=f"no 'lost' for {conn}, but MID {mid} was idle only {idle:.0f} s "
            f"(since {clock(last_activity)}), below the {timeout:.0f} s listener timeout",
        )
    return out


#: What Cisco suggests for each category (TN 118295, TN 118579, the listener settings).
ADVICE: dict[str, str] = {
    "connection_lost": "The TCP session ended without QUIT (reset or FIN): enable an Injection Debug log "
    "for the sending host, take a packet capture on the listener, and check firewalls "
    "or SMTP-inspection devices (SMTP fixup/ESMTP inspection) between sender and ESA.",
    "inbound_timeout": "The listener's 'Timeout for Unsuccessful Inbound Connections' (default 5 min) "
    "expired: check the sender's behaviour with an Injection Debug log, and the "
    "listener timeout under Network > Listeners if legitimate senders are slow.",
    "sender_quit": "The client sent QUIT before the message was complete: a sender-side decision (often "
    "after a rejected recipient or the SIZE limit); check the sender's logs or an "
    "Injection Debug log for that host.",
    "receiving_aborted": "The log cannot tell a lost connection from a timeout here (no earlier line of the "
    "message, or --stateless): process the whole log with tracking on.",
    "policy_drop": "Dropped on purpose by an engine or filter: review the named content/message filter or "
    "the engine's policy (Mail Policies) and Message Tracking for the MID.",
    "policy_bounce": "Bounced by a content filter: review the filter's conditions and the bounce profile.",
    "other": "An abort text esalog does not know: search Message Tracking for the MID and report the line.",
}
