"""Named converters a pattern may apply to a captured value: ``%{QS:email.subject:unquote}``.

A converter takes the captured text and returns the value to store, or ``None`` to store nothing.
Unknown names are rejected when a pack loads, never at match time.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

Converter = Callable[[str], object]

_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[\\'\"abfnrtv0])")
_SIMPLE_ESCAPES = {
    "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f",
    "n": "\n", "r": "\r", "t": "\t", "v": "\v", "0": "\0",
}


def decode_escapes(text: str) -> str:
    r"""Decode Python-style escapes (``\r\n``, ``\t``, ``\xNN``, ``\'``) without ``eval``."""
    if "\\" not in text:
        return text

    def _one(m: re.Match[str]) -> str:
        code = m.group(1)
        if code[0] in "xuU":
            return chr(int(code[1:], 16))
        return _SIMPLE_ESCAPES[code]

    return _ESCAPE.sub(_one, text)


def unquote(text: str) -> str:
    """Strip one pair of matching quotes (``'...'`` or ``"..."``) and decode escapes inside."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    return decode_escapes(text)


def number_or_none(text: str) -> float | None:
    """A float, or ``None`` when the text is a word (``None``, ``not enabled``...)."""
    try:
        return float(text)
    except ValueError:
        return None


def rid_list(text: str) -> list[int]:
    """``[0, 1, 2]`` or ``0`` -> ``[0, 1, 2]`` / ``[0]``."""
    if text.isdigit():
        return [int(text)]
    return [int(x) for x in text.strip("[] ").replace(",", " ").split()]


def address(text: str) -> str | None:
    """An envelope address without its angle brackets; ``None`` when empty."""
    text = text.strip().removeprefix("<").removesuffix(">").strip()
    return text or None


def address_list(text: str) -> list[str] | None:
    """One envelope address as a one-element list (ECS ``email.*.address`` are arrays)."""
    if len(text) > 2 and text[0] == "<" and text[-1] == ">" and not (text[1].isspace() or text[-2].isspace()):
        return [text[1:-1]]  # the common ``<user@example.com>``: nothing else to strip
    addr = address(text)
    return [addr] if addr else None


def comma_list(text: str) -> list[str] | None:
    """``a@x, b@y`` -> ``["a@x", "b@y"]``."""
    items = [part.strip() for part in text.split(",") if part.strip()]
    return items or None


def lower(text: str) -> str:
    return text.lower()


def yes_no(text: str) -> bool | None:
    """``yes``/``true``/``True`` -> True, ``no``/``false`` -> False."""
    low = text.lower()
    if low in ("yes", "true"):
        return True
    if low in ("no", "false"):
        return False
    return None


def kebab(text: str) -> str:
    """``Dropped by CASE`` -> ``dropped-by-case``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def py_literal(text: str) -> object:
    """A Python literal (tuple, list, str, number) parsed safely with ``ast.literal_eval``; else the text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def list_of(text: str) -> list[str]:
    """Wrap one value in a list."""
    return [text]


CONVERTERS: dict[str, Converter] = {
    "int": int,  # the builtins themselves: no Python frame per capture on the hot path
    "float": float,
    "str": str,
    "number_or_none": number_or_none,
    "unquote": unquote,
    "unescape": decode_escapes,
    "rid_list": rid_list,
    "address": address,
    "address_list": address_list,
    "comma_list": comma_list,
    "lower": lower,
    "yesno": yes_no,
    "kebab": kebab,
    "list": list_of,
}
