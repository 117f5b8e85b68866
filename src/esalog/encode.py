"""Wire format: one compact JSON object per line (NDJSON), encoded with orjson."""

from __future__ import annotations

from typing import Any

import orjson

_OPTS = orjson.OPT_APPEND_NEWLINE


def encode_line(event: dict[str, Any]) -> bytes:
    """``{...}\\n`` as UTF-8 bytes."""
    return orjson.dumps(event, option=_OPTS)


def decode(data: bytes | str) -> Any:
    """Parse one JSON document."""
    return orjson.loads(data)
