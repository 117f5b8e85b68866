"""Parse files of the other ESA log types in-process, the way the CLI does, with a fixed clock."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from esalog.parsers.parser import LineParser
from esalog.testing import parse_event

#: Year-less syslog stamps are read as if today were this date (as the pack examples are).
TODAY = date(2026, 11, 27)
#: The packs of issue 15, by log type (= subscription name esalog routes by).
OTHER_PACKS = ("authentication", "system", "gui_logs", "amp", "antivirus", "antispam", "error_logs", "status",
               "content_scanner", "updater_logs", "ftpd_logs", "slbld_logs", "cli_logs", "reportd_logs")


@lru_cache(maxsize=1)
def parser() -> LineParser:
    return LineParser.from_options()


def parse_file(path: Path, log_type: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(line, event) for every line of *path*; *log_type* stands for the file name's subscription."""
    p = parser()
    stream = p.new_stream(path.name, today=TODAY)
    if log_type is not None:
        stream.log_type = log_type
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [(line, parse_event(p, line, stream)) for line in lines]


def problems_of(event: dict[str, Any]) -> list[str]:
    """Why *event* is not a recognised line: unmatched, pipeline error, unsupported log type."""
    out = []
    if event["event"].get("kind") == "pipeline_error":
        out.append(f"pipeline_error: {event.get('error', {}).get('message')}")
    tags = event.get("tags", ())
    for tag in ("esalog_unmatched", "esalog_unsupported_log_type"):
        if tag in tags:
            out.append(tag)
    if event["event"].get("action") == "unknown":
        out.append("action unknown")
    return out
