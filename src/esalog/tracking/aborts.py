"""Abort categories: pure functions from the abort text (and, when tracking, the session facts).

``Message aborted MID n <reason>`` says little by itself: ``Receiving aborted`` may be a lost
connection or the listener's unsuccessful-inbound timeout. With the session state (was the MID's
ICID reported ``lost``? how long was the MID idle?) the cause can be told apart (Cisco TN 118295).
"""

from __future__ import annotations

import time
from typing import Any

from esalog.parsers.record import Record

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


def clock(epoch: float) -> str:
    """``11:05:36`` (UTC) for evidence sentences."""
    return time.strftime("%H:%M:%S", time.gmtime(epoch))


def abort_facts(record: Record) -> dict[str, Any]:
    """The abort of a ``message-aborted`` record: what the pack read, plus the category of its text.

    The pack reads the cause (``_abort_verb``, ``_abort_filter_kind``, ``cisco.esa.filter.name``,
    ``cisco.esa.policy_table``, ``_abort_engine``); an abort whose rule reads none of them (the CEF final
    action) is classified by its first words.
    """
    old = record.subtree("cisco.esa.abort") or {}
    reason = old.get("reason", "")
    facts = classify_line(
        reason if isinstance(reason, str) else str(reason),
        verb=record.get_str("_abort_verb"),
        filter_kind=record.get_str("_abort_filter_kind"),
        filter_name=record.get_str("cisco.esa.filter.name"),
        direction=record.get_str("cisco.esa.policy_table"),
        engine=record.get_str("_abort_engine"),
    )
    return {**old, **facts}


def classify_line(reason: str, *, verb: str | None = None, filter_kind: str | None = None,
                  filter_name: str | None = None, direction: str | None = None,
                  engine: str | None = None) -> dict[str, Any]:
    """What the abort line alone tells: the category and its facts (no session state needed)."""
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
    if verb is None:  # a rule that does not read the cause: "Dropped by <engine>" by its words
        head, by, rest = text.partition(" by ")
        if by and head in ("Dropped", "Bounced") and rest and not any(q in rest for q in "'\""):
            verb, engine = head, rest.strip()
    if verb in ("Dropped", "Bounced"):
        abort: dict[str, Any] = {"reason": reason, "confidence": "logged", "initiated_by": "policy",
                                 "category": "policy_drop" if verb == "Dropped" else "policy_bounce"}
        if filter_kind is not None and filter_name is not None:
            abort["filter"] = filter_name
            abort["filter_type"] = "content" if filter_kind == "content filter" else "message"
            if direction:
                abort["direction"] = direction
            evidence = f"{filter_kind} '{filter_name}'" + (f" in the {direction} table" if direction else "")
        else:
            abort["engine"] = engine
            evidence = f"engine {engine}"
        abort["evidence"] = f"{verb.lower()} by {evidence}"
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
