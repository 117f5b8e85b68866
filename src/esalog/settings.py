"""Typed configuration: dataclass fields that carry their own help, flag and check.

Every configuration of esalog (parsing and clock, tracking, sources, delivery, each sink) is a frozen
dataclass whose fields are declared with :func:`setting`. The dataclass is the single source of
defaults and validation: :func:`validate` (called from ``__post_init__``) raises
:class:`~esalog.errors.ConfigError` naming the option, whoever built the object (the command line, the
Splunk modular input, a test). The command line builds its options from these declarations
(:mod:`esalog.cli.options`); nothing below the CLI ever sees argv.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

from esalog.errors import ConfigError

Check = Callable[[Any], str | None]
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def setting(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    flag: str | None = None,
    metavar: str | None = None,
    parse: Callable[[str], Any] | None = None,
    choices: Sequence[str] | None = None,
    check: Check | None = None,
    repeat: bool = False,
) -> Any:
    """A dataclass field with its documentation.

    *flag*: the command-line option (``--max-open``); a bool field whose default is True takes a
    ``--no-...`` flag. *parse* turns the option's text into the value (``int``, :func:`duration`...);
    *check* returns what is wrong with a value, or None. *repeat*: the option may be given several
    times (the field is a tuple).
    """
    meta = {"help": help, "flag": flag, "metavar": metavar, "parse": parse, "choices": choices, "check": check,
            "repeat": repeat}
    return dataclasses.field(default=default, metadata=meta)


def validate(instance: Any) -> None:
    """Run every field's check; raise ConfigError naming the option of the first bad value."""
    for f in dataclasses.fields(instance):
        value = getattr(instance, f.name)
        choices = f.metadata.get("choices")
        check = f.metadata.get("check")
        problem = None
        if choices is not None and value is not None and value not in choices:
            problem = f"expected one of {', '.join(choices)}, got {value!r}"
        elif check is not None and value is not None:
            problem = check(value)
        if problem:
            raise ConfigError(f"{option_name(f)}: {problem}")


def option_name(f: dataclasses.Field[Any]) -> str:
    """How the user names a field: its flag, else its name."""
    return f.metadata.get("flag") or f.name


# ------------------------------------------------------------------------------------------ checks

def positive(value: float) -> str | None:
    """A number above zero."""
    return None if value > 0 else f"expected a number above 0, got {value!r}"


def at_least(low: float) -> Check:
    """A number not below *low*."""
    return lambda value: None if value >= low else f"expected at least {low:g}, got {value!r}"


def parsed_by(parse: Callable[[Any], object]) -> Check:
    """A check that a value is read by *parse* (whose ConfigError says what is wrong)."""

    def check(value: Any) -> str | None:
        try:
            parse(value)
        except ConfigError as exc:
            return str(exc)
        return None

    return check


def in_range(low: int, high: int, what: str = "a number") -> Check:
    """An integer between *low* and *high*, inclusive."""
    return lambda value: None if low <= value <= high else f"expected {what} from {low} to {high}, got {value!r}"


def each(check: Check) -> Check:
    """A check of every value of a repeatable option (the first problem found)."""

    def check_all(values: Sequence[Any]) -> str | None:
        for value in values:
            problem = check(value)
            if problem:
                return problem
        return None

    return check_all


def not_empty(value: str) -> str | None:
    """Some text, not blanks."""
    return None if value.strip() else f"expected a value, got {value!r}"


def without_credentials(url: str) -> str:
    """*url* with a ``user:password@`` replaced by ``***@``: what a message may show of it."""
    scheme, sep, rest = url.partition("//")
    if not sep:  # no scheme: user:password@host:9200/...
        scheme, rest = "", url
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        return url
    return f"{scheme}{sep}***@{authority.rpartition('@')[2]}{slash}{path}"


def http_url(example: str) -> Check:
    """An ``http://`` or ``https://`` URL with a host (and a valid port); *example* is shown when not.
    A ``user:password@`` in the value is never shown."""

    def check(value: str) -> str | None:
        from urllib.parse import urlsplit  # (start-up: only the shipping commands take URLs)

        expected = f"expected a URL such as {example}, got {without_credentials(value)!r}"
        try:
            parts = urlsplit(value.strip())
            port = parts.port
        except ValueError as exc:
            return f"{expected} ({exc})"
        if parts.scheme not in ("http", "https"):
            if not parts.netloc and "//" not in value:  # localhost:8088, splunk.example.com
                return f"{expected}: it needs the scheme, e.g. https://{without_credentials(value.strip())}"
            return f"{expected}: the scheme must be http or https"
        if not parts.hostname:
            return f"{expected}: no host name"
        if any(char.isspace() or not char.isprintable() for char in parts.hostname):
            return f"{expected}: a space or control character in the host name"
        try:
            parts.hostname.encode("idna")  # as urllib3 does when it connects
        except UnicodeError:
            return f"{expected}: the host name has an empty or too long label"
        if port == 0:
            return f"{expected}: port 0"
        return None

    return check


# ----------------------------------------------------------------------------------------- parsers

def integer(text: str) -> int:
    """An integer option (ConfigError names what was typed)."""
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"expected an integer, got {text!r}") from None


def number(text: str) -> float:
    """A number option (ConfigError names what was typed)."""
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(f"expected a finite number, got {text!r}")
    return value


def duration(text: str) -> float:
    """``24h``, ``90m``, ``3600s``, ``2d`` or plain seconds -> seconds."""
    m = _DURATION.fullmatch(text.lower())
    if not m:
        raise ConfigError(f"invalid duration {text!r}: use e.g. 300, 3600s, 90m, 24h, 2d")
    return float(m.group(1)) * _UNIT[m.group(2)]


# ------------------------------------------------------------------------------ output paths

def _writable_file(path: str) -> str | None:
    """What keeps *path* from being created or appended to, or None.

    Tried for real, not guessed from permission bits (root, read-only mounts, /proc): an existing
    regular file is opened for appending (not changed), a new one is created and removed again. A
    FIFO or device is only checked for permission (opening it would wait for, or disturb, the reader).
    """
    if path == "-":
        return None
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return f"{path!r} is a directory"
    if not os.path.exists(directory):
        return f"no such directory {directory!r}"
    if not os.path.isdir(directory):
        return f"{directory!r} is not a directory"
    if os.path.exists(path):
        if not os.path.isfile(path):
            return None if os.access(path, os.W_OK) else f"{path!r} is not writable"
        try:
            with open(path, "ab"):
                pass
        except OSError as exc:
            return f"cannot open it for writing: {exc.strerror or exc}"
        return None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.close(fd)
        os.remove(path)
    except OSError as exc:
        return f"cannot create it: {exc.strerror or exc}"
    return None


def check_writable(flag: str, path: str | None) -> None:
    """ConfigError unless *path* can be written (checked before any work starts)."""
    if path is not None:
        problem = _writable_file(path)
        if problem:
            raise ConfigError(f"{flag} {path!r}: {problem}")


def check_directory(flag: str, path: str) -> None:
    """ConfigError unless *path* is (or can be made as) a writable directory; nothing is left behind."""
    target = os.path.abspath(path)
    if os.path.exists(target) and not os.path.isdir(target):
        raise ConfigError(f"{flag} {path!r}: not a directory")
    existing = target
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ConfigError(f"{flag} {path!r}: {existing!r} is not a directory")
    import tempfile

    try:  # a real try in the deepest directory that exists (permission bits do not tell root's truth)
        probe = tempfile.mkdtemp(prefix=".esalog-probe-", dir=existing)
        os.rmdir(probe)
    except OSError as exc:
        raise ConfigError(f"{flag} {path!r}: cannot write in {existing!r}: {exc.strerror or exc}") from None
