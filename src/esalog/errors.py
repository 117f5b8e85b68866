"""One error tree for esalog: every error names where it happened; and the one form of a warning."""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLocation:
    """Where an error sits: a file, and optionally the rule id and line inside it."""

    path: str
    rule: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        text = self.path
        if self.line is not None:
            text += f":{self.line}"
        if self.rule:
            text += f" (rule {self.rule!r})"
        return text


class EsalogError(Exception):
    """Root of every error esalog raises on purpose."""

    def __init__(self, message: str, location: SourceLocation | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, EsalogError)
            and type(other) is type(self)
            and self.message == other.message
            and self.location == other.location
        )

    __hash__ = Exception.__hash__


class PackError(EsalogError):
    """A parser pack is malformed (bad YAML, unknown grok name, bad regex, undeclared field...)."""


class ConfigError(EsalogError):
    """A command-line option or configuration value is invalid."""


class SinkError(EsalogError):
    """A sink cannot deliver and will not retry (bad token, refused for good...)."""


#: Exit codes of every command: success; runtime failure (I/O, delivery, damaged input); usage or
#: configuration error (bad option, malformed pack, missing or unwritable file); ``--strict`` and some
#: line was unmatched or not an ESA line.
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_STRICT = 0, 1, 2, 3


def exit_code(error: EsalogError) -> int:
    """The exit code of an error that ends a command."""
    return EXIT_USAGE if isinstance(error, ConfigError | PackError) else EXIT_FAILURE


def warn(message: str) -> None:
    """One warning line on stderr (a problem that does not stop the command)."""
    print(f"esalog: warning: {message}", file=sys.stderr, flush=True)
