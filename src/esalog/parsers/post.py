"""Named rule-level post-processors: ``post: [name, ...]`` in a rule.

A post-processor runs after the captures are stored and may derive fields from several of them.
It receives the event and changes it in place. Unknown names are rejected when a pack loads.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from esalog.parsers.converters import py_literal

PostProcessor = Callable[[dict[str, Any]], None]

_SMTP_TAIL = re.compile(r"^(?P<reply>\(.*\))(?: ?(?P<extra>\[.*\]))?$")


def smtp_reply(event: dict[str, Any]) -> None:
    """Split ``cisco.esa.bounce.reply`` (``('550', ['line', ...]) []``) into code and lines.

    Parsed with ``ast.literal_eval`` (no ``eval``); a tail that is not a Python literal is kept as text.
    """
    bounce = event.get("cisco", {}).get("esa", {}).get("bounce")
    if not bounce or "reply" not in bounce:
        return
    raw = bounce["reply"]
    m = _SMTP_TAIL.match(raw)
    value = py_literal(m.group("reply")) if m else raw
    if isinstance(value, tuple) and len(value) == 2:
        code, lines = value
        bounce["smtp_code"] = str(code)
        if isinstance(lines, list | tuple):
            bounce["response"] = [str(x) for x in lines]
        else:
            bounce["response"] = [str(lines)]


def direction_from_table(event: dict[str, Any]) -> None:
    """``... in the inbound table`` -> ``email.direction`` = ``inbound`` (ECS wording)."""
    table = event.get("cisco", {}).get("esa", {}).get("policy_table")
    if table in ("inbound", "outbound"):
        event.setdefault("email", {})["direction"] = table


#: CEF ``act`` -> (event.action, event.outcome, event.type); anything else keeps the rule's values.
_FINAL_ACTIONS: dict[str, tuple[str, str, list[str]]] = {
    "DELIVERED": ("message-delivered", "success", ["end", "allowed"]),
    "QUARANTINED": ("message-quarantined", "success", ["info"]),
    "DQ": ("message-quarantined", "success", ["info"]),
    "ABORTED": ("message-aborted", "failure", ["end", "denied"]),
    "DROPPED": ("message-aborted", "failure", ["end", "denied"]),
    "BOUNCED": ("message-bounced", "failure", ["end", "denied"]),
}


def cef_final_action(event: dict[str, Any]) -> None:
    """CEF ``act`` -> event.action/outcome; an aborted reception also gives ``cisco.esa.abort.reason``."""
    esa = event.get("cisco", {}).get("esa", {})
    act = esa.get("final_action")
    found = _FINAL_ACTIONS.get(str(act).upper()) if act else None
    if found is None:
        return
    ev = event["event"]
    ev["action"], ev["outcome"], ev["type"] = found[0], found[1], list(found[2])
    if found[0] == "message-aborted":
        esa["abort"] = {"reason": esa.get("final_action_details") or str(act)}


POSTPROCESSORS: dict[str, PostProcessor] = {
    "cef_final_action": cef_final_action,
    "smtp_reply": smtp_reply,
    "direction_from_table": direction_from_table,
}
