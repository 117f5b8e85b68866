"""Named rule-level post-processors: ``post: [name, ...]`` in a rule.

A post-processor runs after the captures are stored and may derive fields from several of them.
It receives the line's :class:`~esalog.parsers.record.Record`, reads its fields with ``get`` and adds
fields with ``set``. Unknown names are rejected when a pack loads.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from esalog.parsers.converters import py_literal
from esalog.parsers.record import Record

PostProcessor = Callable[[Record], None]

_SMTP_TAIL = re.compile(r"^(?P<reply>\(.*\))(?: ?(?P<extra>\[.*\]))?$")
#: The start of a reply tuple a relay cut short: ``('550', ['5.1.1 The email acc`` (the code survives).
_CUT_REPLY = re.compile(r"^\(\s*'(?P<code>\d{3})'")


def smtp_reply(record: Record) -> None:
    """Split ``cisco.esa.bounce.reply`` (``('550', ['line', ...]) []``) into code and lines.

    Parsed with ``ast.literal_eval`` (no ``eval``); a tail that is not a Python literal is kept as text.
    A reply that stops before its closing bracket was cut by a relay's size limit: the line is flagged
    ``cisco.esa.truncated`` and the code, when it survived, is still read.
    """
    raw = record.get("cisco.esa.bounce.reply")
    if not isinstance(raw, str):
        return
    m = _SMTP_TAIL.match(raw)
    value = py_literal(m.group("reply")) if m else raw
    if isinstance(value, tuple) and len(value) == 2:
        code, lines = value
        record.set("cisco.esa.bounce.smtp_code", str(code))
        if isinstance(lines, list | tuple):
            record.set("cisco.esa.bounce.response", [str(x) for x in lines])
        else:
            record.set("cisco.esa.bounce.response", [str(lines)])
    elif not raw.rstrip().endswith((")", "]")):
        record.set("cisco.esa.truncated", True)
        cut = _CUT_REPLY.match(raw)
        if cut:
            record.set("cisco.esa.bounce.smtp_code", cut.group("code"))


def direction_from_table(record: Record) -> None:
    """``... in the inbound table`` -> ``email.direction`` = ``inbound`` (ECS wording)."""
    table = record.get("cisco.esa.policy_table")
    if table in ("inbound", "outbound"):
        record.set("email.direction", table)


#: CEF ``act`` -> (event.action, event.outcome, event.type); anything else keeps the rule's values.
_FINAL_ACTIONS: dict[str, tuple[str, str, list[str]]] = {
    "DELIVERED": ("message-delivered", "success", ["end", "allowed"]),
    "QUARANTINED": ("message-quarantined", "success", ["info"]),
    "DQ": ("message-quarantined", "success", ["info"]),
    "ABORTED": ("message-aborted", "failure", ["end", "denied"]),
    "DROPPED": ("message-aborted", "failure", ["end", "denied"]),
    "BOUNCED": ("message-bounced", "failure", ["end", "denied"]),
}


def cef_final_action(record: Record) -> None:
    """CEF ``act`` -> event.action/outcome; an aborted reception also gives ``cisco.esa.abort.reason``."""
    act = record.get("cisco.esa.final_action")
    found = _FINAL_ACTIONS.get(str(act).upper()) if act else None
    if found is None:
        return
    record.set("event.action", found[0])
    record.set("event.outcome", found[1])
    record.set("event.type", list(found[2]))
    if found[0] == "message-aborted":
        record.set("cisco.esa.abort", {"reason": record.get("cisco.esa.final_action_details") or str(act)})


POSTPROCESSORS: dict[str, PostProcessor] = {
    "cef_final_action": cef_final_action,
    "smtp_reply": smtp_reply,
    "direction_from_table": direction_from_table,
}
