"""Grok-style pattern expansion: ``%{NAME:target.field:conv}`` becomes plain Python ``re``.

Expansion happens once, when a pack is loaded; the hot path only ever sees compiled ``re`` objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Built-in sub-patterns, available to every pack. A pack's own ``patterns:`` may add or override.
BASE_PATTERNS: dict[str, str] = {
    # numbers and ids
    "INT": r"[+-]?\d+",
    "POSINT": r"\d+",
    "NUMBER": r"[+-]?\d+(?:\.\d+)?",
    "ID": r"\d+",
    "MID": r"\d+",
    "ICID": r"\d+",
    "DCID": r"\d+",
    "RCID": r"\d+",
    "RID": r"\d+",
    "RIDLIST": r"\[\d+(?:, *\d+)*\]",
    # text
    "WORD": r"\w+",
    "NOTSPACE": r"\S+",
    "DATA": r".*?",
    "GREEDYDATA": r".*",
    "ANY": r".*",
    # Python-repr quoted string, single or double quotes, backslash escapes inside; written as an
    # unrolled loop (runs of plain characters, then one escape) so matching takes memory per escape, not
    # per character (the plain alternation kept a backtracking entry per character: 180x the line)
    "QS": r"""'[^'\\]*(?:\\.[^'\\]*)*'|"[^"\\]*(?:\\.[^"\\]*)*\"""",
    # network
    "IPV4": r"(?:\d{1,3}\.){3}\d{1,3}",
    # IPv6 also with its last 32 bits written as IPv4 (``::ffff:192.0.2.1``, a v4 client on a dual-stack
    # listener; ``64:ff9b::192.0.2.1``)
    "IPV6": r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){1,6}:(?:\d{1,3}\.){3}\d{1,3}"
            r"|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?",
    "IP": r"(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){1,6}:(?:\d{1,3}\.){3}\d{1,3}"
          r"|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}",
    "HOSTNAME": r"[A-Za-z0-9_.-]+",
    # mail
    "ADDR": r"<[^>]*>|[^\s<>]+",
    "SG": r"\S+",
}

#: Sub-patterns whose text is only digits: a dispatch key may skip over them.
DIGIT_PATTERNS = frozenset({"POSINT", "ID", "MID", "ICID", "DCID", "RCID", "RID"})

GROK_REF = re.compile(
    r"%\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?::(?P<field>[@A-Za-z0-9_.]+))?"
    r"(?::(?P<conv>[A-Za-z_][A-Za-z0-9_]*))?\}"
)


@dataclass(frozen=True)
class Capture:
    """One named capture of an expanded pattern: its regex group, target field and converter name."""

    group: str
    field: str
    conv: str | None


class GrokError(ValueError):
    """An unknown sub-pattern name, sub-patterns that refer to each other in a loop, or an expansion
    larger than :data:`MAX_EXPANDED_CHARS`."""


#: The longest regex a rule may expand to (the built-in rules stay under 2,500 characters); sub-patterns
#: that refer to each other twice per level would otherwise double at every level (2^28 characters).
MAX_EXPANDED_CHARS = 100_000


def expand(pattern: str, sub_patterns: dict[str, str]) -> tuple[str, list[Capture]]:
    """Expand every ``%{...}`` in *pattern*; return the regex text and its captures in order."""
    captures: list[Capture] = []
    size = [0]  # characters produced so far: the expansion stops as soon as it is too large

    def _grow(piece: str) -> str:
        size[0] += len(piece)
        if size[0] > MAX_EXPANDED_CHARS:
            raise GrokError(f"the pattern expands to more than {MAX_EXPANDED_CHARS:,} characters "
                            "(sub-patterns that refer to each other many times?)")
        return piece

    def _expand(text: str, stack: tuple[str, ...]) -> str:
        out: list[str] = []
        pos = 0
        for ref in GROK_REF.finditer(text):
            out.append(_grow(text[pos : ref.start()]))
            pos = ref.end()
            name, field, conv = ref.group("name", "field", "conv")
            if name in stack:
                raise GrokError(f"sub-pattern %{{{name}}} refers to itself ({' -> '.join((*stack, name))})")
            try:
                body = sub_patterns[name]
            except KeyError:
                raise GrokError(f"unknown sub-pattern %{{{name}}}") from None
            inner = _expand(body, (*stack, name))
            if field:
                group = f"c{len(captures)}"
                captures.append(Capture(group, field, conv))
                out.append(f"(?P<{group}>{inner})")
            else:
                out.append(f"(?:{inner})")
        out.append(_grow(text[pos:]))
        return "".join(out)

    return _expand(pattern, ()), captures


_LITERAL_WORD = re.compile(r"[A-Za-z0-9_:,/=@'-]+")


def dispatch_key(pattern: str) -> tuple[str, ...]:
    """The literal words a body must start with for *pattern* to match, as used for dispatch.

    Returns ``(first, second)`` when the pattern starts with a literal word followed by either a
    literal word or a digits-only id and then a literal word; ``(first,)`` when only the first word
    is literal; ``()`` when the pattern starts with a variable part.
    The body side computes the same key with :func:`body_keys`.
    """
    tokens: list[tuple[str, str]] = []  # ("lit", word) | ("digits", name) | ("var", name)
    pos = 0
    for ref in GROK_REF.finditer(pattern):
        _literal_tokens(pattern[pos : ref.start()], tokens, glued=True)
        if tokens and tokens[-1][0] in ("stop", "partial"):
            break
        name = ref.group("name")
        tokens.append(("digits" if name in DIGIT_PATTERNS else "var", name))
        pos = ref.end()
    else:
        _literal_tokens(pattern[pos:], tokens, glued=False)
    if not tokens or tokens[0][0] != "lit":
        return ()
    first = tokens[0][1]
    if len(tokens) > 1 and tokens[1][0] == "lit" and not tokens[1][1].isdigit():
        return (first, tokens[1][1])
    if len(tokens) > 1 and tokens[1][0] == "lit":  # a literal number is an id slot on the body side
        tokens[1] = ("digits", tokens[1][1])
    if len(tokens) > 2 and tokens[1][0] == "digits" and tokens[2][0] == "lit":
        return (first, tokens[2][1])
    return (first,)


def _literal_tokens(text: str, tokens: list[tuple[str, str]], *, glued: bool) -> None:
    """Append the whole literal words of *text* to *tokens*.

    Appends ("stop", "") at the first regex syntax, and ("partial", word) for a last word that is
    *glued* to the ``%{...}`` that follows it (its body-side word would be longer).
    """
    words = text.split(" ")
    for i, word in enumerate(words):
        if word == "":
            continue
        if not _LITERAL_WORD.fullmatch(word):
            tokens.append(("stop", ""))
            return
        if glued and i == len(words) - 1:
            tokens.append(("partial", word))
            return
        tokens.append(("lit", word))


def body_key(body: str) -> str:
    """The two-word dispatch key of a message body: ``"W1 W2"``, skipping a numeric id after ``W1``."""
    parts = body.split(" ", 3)
    if len(parts) > 2 and parts[1].isdigit():
        return f"{parts[0]} {parts[2]}"
    return f"{parts[0]} {parts[1]}" if len(parts) > 1 else body


def body_keys(body: str) -> tuple[str, str]:
    """The two dispatch keys of a message body: :func:`body_key` and the first word ``"W1"``."""
    return body_key(body), body.split(" ", 1)[0]
