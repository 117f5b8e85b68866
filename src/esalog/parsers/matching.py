"""What the parser and the rule compiler agree on about matching: the shape of a rule's compiled pattern
and of its match (``re`` and the ``regex`` module alike), a user rule's time budget, and what converting
a capture may raise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

#: What a converter may raise on text its pattern let through (user packs): the line gets a tagged
#: event naming the rule and field, never an exception.
CONVERSION_ERRORS = (ValueError, TypeError, ArithmeticError, LookupError, UnicodeError)

#: Seconds one rule of a user pack may take to match one line. Python's ``re`` cannot be interrupted, so
#: user rules (any pattern a user writes: nested quantifiers such as ``(?:x+x+)+y`` take exponential time)
#: run on the ``regex`` module (``re``-compatible VERSION0 syntax), whose matching stops at a timeout;
#: a line that exceeds it is kept as an event tagged ``esalog_rule_timeout``. Built-in rules keep ``re``.
USER_RULE_SECONDS = 0.05


class RuleMatch(Protocol):
    """What the parser reads of a match (``re.Match`` and the ``regex`` module's alike)."""

    def groups(self) -> tuple[str | None, ...]: ...


class RulePattern(Protocol):
    """A rule's compiled pattern: ``re.Pattern`` (built-in rules) or
    :class:`~esalog.parsers.compiler.TimedPattern` (user rules)."""

    @property
    def pattern(self) -> str: ...

    @property
    def groupindex(self) -> Mapping[str, int]: ...

    def fullmatch(self, string: str) -> RuleMatch | None: ...
