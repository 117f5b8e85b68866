"""Wire format: one compact JSON object per line (NDJSON), encoded with orjson."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

_OPTS = orjson.OPT_APPEND_NEWLINE


def encode_line(event: dict[str, Any]) -> bytes:
    """``{...}\\n`` as UTF-8 bytes."""
    return orjson.dumps(event, option=_OPTS)


def encode_lines(events: Iterable[dict[str, Any]]) -> bytes:
    """Several events as NDJSON in one bytes object (one write for a batch)."""
    return b"".join([orjson.dumps(event, option=_OPTS) for event in events])


def decode(data: bytes | str) -> Any:
    """Parse one JSON document."""
    return orjson.loads(data)
