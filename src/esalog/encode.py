"""Wire format: one compact JSON object per line (NDJSON), encoded with orjson.

Where orjson is not importable (the Splunk app bundles only pure-Python code, and orjson is a compiled
wheel), the stdlib ``json`` module produces the same compact UTF-8 output, about ten times slower.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - exercised by the Splunk app test, which runs without orjson
    import json

    _dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode

    def encode_line(event: dict[str, Any]) -> bytes:
        """``{...}\\n`` as UTF-8 bytes."""
        return (_dumps(event) + "\n").encode("utf-8")

    def encode_lines(events: Iterable[dict[str, Any]]) -> bytes:
        """Several events as NDJSON in one bytes object (one write for a batch)."""
        return b"".join([encode_line(event) for event in events])

    def decode(data: bytes | str) -> Any:
        """Parse one JSON document."""
        return json.loads(data)

else:
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
