"""``esalog schema``: the JSON Schema of an event."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from esalog.errors import EXIT_OK
from esalog.schemas import schema_text


def register(sub: Any) -> None:
    s = sub.add_parser("schema", help="print the JSON Schema of an event")
    s.set_defaults(func=cmd_schema)


def cmd_schema(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_text())
    return EXIT_OK
