"""Command-line options made from the typed settings (:mod:`esalog.settings`), and settings made back
from the parsed options: the dataclasses stay the one source of defaults, help texts and checks."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from esalog.errors import ConfigError

T = TypeVar("T")


def _parse_as(parse: Callable[[str], Any], flag: str) -> Callable[[str], Any]:
    """An argparse ``type`` that turns ConfigError into argparse's own one-line usage error."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = flag  # argparse names the type in messages
    return convert


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer not below *low* (argparse reports anything else in one line)."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected at least {low}, got {text!r}")
        return value

    return convert


def add_settings(group: argparse._ActionsContainer, cls: type[Any], *, prefix: str = "",
                 exclude: Iterable[str] = ()) -> None:
    """Add an option for every field of the settings dataclass *cls* that has a flag.

    Defaults are left to the dataclass (argparse default ``None``), so that what was not typed is
    told apart from what was; :func:`settings_from` builds the dataclass.
    """
    skip = set(exclude)
    defaults = {f.name: f for f in dataclasses.fields(cls)}
    for f in defaults.values():
        meta = f.metadata
        flag = meta.get("flag")
        if not flag or f.name in skip:
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
        if meta.get("parse"):
            kwargs["type"] = _parse_as(meta["parse"], flag)
        if meta.get("choices"):
            kwargs["choices"] = tuple(meta["choices"])
        if meta.get("repeat"):
            kwargs["action"] = "append"
        group.add_argument(flag, **kwargs)


def settings_from(cls: type[T], args: argparse.Namespace, *, prefix: str = "", **given: Any) -> T:
    """The settings dataclass *cls* from the parsed options (typed ones only; the rest keep defaults)."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in given:
            continue
        value = getattr(args, prefix + f.name, None)
        if value is None:
            continue
        values[f.name] = tuple(value) if f.metadata.get("repeat") else value
    return cls(**values, **given)
