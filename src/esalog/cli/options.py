"""Command-line options made from the typed settings (:mod:`esalog.settings`), and settings made back
from the parsed options: the dataclasses stay the one source of defaults, help texts and checks."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from esalog.errors import ConfigError
from esalog.settings import option_name

T = TypeVar("T")


def add_settings(group: argparse._ActionsContainer, cls: type[Any], *, prefix: str = "") -> None:
    """Add an option for every field of the settings dataclass *cls* that has a flag.

    Defaults are left to the dataclass (argparse default ``None``), so that what was not typed is
    told apart from what was. Values stay text here: :func:`settings_from` reads them with the field's
    ``parse`` and the dataclass checks them, so every option's value is read and refused in one way
    (``esalog: error: --flag: what is wrong``, exit 2), whoever builds the settings.
    """
    for f in dataclasses.fields(cls):
        meta = f.metadata
        flag = meta.get("flag")
        if not flag:
            continue
        dest = prefix + f.name
        default = f.default
        help_text = meta["help"]
        if f.type in (bool, "bool"):
            group.add_argument(flag, dest=dest, action="store_const", const=not default, default=None,
                               help=help_text)
            continue
        kwargs: dict[str, Any] = {"dest": dest, "default": None, "help": help_text}
        if meta.get("metavar"):
            kwargs["metavar"] = meta["metavar"]
        if meta.get("choices"):
            kwargs["choices"] = tuple(meta["choices"])
        if meta.get("repeat"):
            kwargs["action"] = "append"
        group.add_argument(flag, **kwargs)


def settings_from(cls: type[T], args: argparse.Namespace, *, prefix: str = "", **given: Any) -> T:
    """The settings dataclass *cls* from the parsed options (typed ones only; the rest keep defaults).

    Each typed value is read with its field's ``parse``; what it cannot read is a ConfigError naming the
    option, like what the dataclass's checks refuse.
    """
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in given:
            continue
        value = getattr(args, prefix + f.name, None)
        if value is None:
            continue
        parse = f.metadata.get("parse")
        if f.metadata.get("repeat"):
            values[f.name] = tuple(_read(f, parse, item) for item in value)
        else:
            values[f.name] = _read(f, parse, value)
    return cls(**values, **given)


def _read(f: dataclasses.Field[Any], parse: Callable[[str], Any] | None, value: Any) -> Any:
    """*value* as typed, read by *parse* (a ConfigError names the option)."""
    if parse is None or not isinstance(value, str):
        return value
    try:
        return parse(value)
    except ConfigError as exc:
        raise ConfigError(f"{option_name(f)}: {exc}") from None
