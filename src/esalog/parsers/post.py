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

_SMTP_TAIL = re.compile(r"^(?P<reply>\(.*\))(?: (?P<extra>\[.*\]))?$")


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


POSTPROCESSORS: dict[str, PostProcessor] = {
    "smtp_reply": smtp_reply,
    "direction_from_table": direction_from_table,
}
