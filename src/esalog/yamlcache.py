"""What a YAML file (a pack, the field declarations) parses to, kept as JSON between runs: reading JSON
takes a few milliseconds where parsing the mail log pack's YAML takes tens (start-up).

An entry is ``<cache>/yaml/<hash of the file's path>.json`` holding the hash of the file's text and its
data, so each file has one entry, replaced when the text changes, and a changed file is never read from a
stale one. The cache is ``$ESALOG_CACHE_DIR``, else ``$XDG_CACHE_HOME/esalog``, else ``~/.cache/esalog``;
``ESALOG_CACHE_DIR=off`` turns it off. It is only ever a shortcut: an entry that cannot be read or
written, or data that JSON cannot hold exactly (dates, keys that are not text), means the YAML is parsed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from esalog.digest import hex_digest

#: Set to a directory for the cache, or to ``off``.
CACHE_ENV = "ESALOG_CACHE_DIR"
#: Part of every key: bump it when what a parse returns changes shape (e.g. the rules' ``__line__``).
FORMAT = b"esalog-yaml-1\0"


def cache_dir() -> Path | None:
    """Where entries go, or None when the cache is off."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen:
        return None if chosen.lower() == "off" else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "esalog"


def load(text: str, origin: str, parse: Callable[[str], Any]) -> Any:
    """``parse(text)``, or what it gave last time for this *text* of the file at *origin*."""
    folder = cache_dir()
    if folder is None:
        return parse(text)
    key = hex_digest(FORMAT + text.encode("utf-8", "surrogatepass"), 16)
    where = os.path.abspath(origin).encode("utf-8", "surrogatepass")
    entry = folder / "yaml" / f"{hex_digest(where, 16)}.json"
    try:
        kept = json.loads(entry.read_bytes())
        if isinstance(kept, dict) and kept.get("key") == key and "data" in kept:
            return kept["data"]
    except (OSError, ValueError):
        pass
    data = parse(text)
    partial = entry.with_name(f".{entry.name}.{os.getpid()}")
    try:
        encoded = json.dumps({"key": key, "data": data}, separators=(",", ":"))
        if json.loads(encoded)["data"] != data:  # JSON would change it (a date, an integer key): parse each time
            return data
        entry.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(encoded, encoding="utf-8")
        os.replace(partial, entry)  # whole or not at all, whoever else writes it
    except (OSError, TypeError, ValueError):
        with suppress(OSError):
            partial.unlink()
    return data
