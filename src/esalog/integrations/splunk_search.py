"""Splunk search command ``| esaparse``: parse ``_raw`` of ``cisco:esa:textmail`` events at search time.

A chunked (protocol v2) streaming command: every record gains esalog's fields under flattened dotted
names (``cisco.esa.mid``, ``cisco.esa.abort.category``, ``event.action`` ...). The session tracker runs
over the records in the order they reach the command, one parser stream per ``host``; Splunk returns
newest first, so for categories that need earlier lines search ``... | sort 0 _time | esaparse``.
SC4S and the Cisco add-on index the message without its syslog header: such records are read with
their ``_time``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from splunklib.searchcommands import Configuration, Option, StreamingCommand, dispatch, validators

from esalog.encode import to_event
from esalog.flatten import flatten
from esalog.parsers.config import ParseConfig
from esalog.parsers.header import LEVELS, iso_utc
from esalog.pipeline import PipelineConfig, build_pipeline

#: Fields not added to the record: the raw line is ``_raw`` already.
SKIPPED = frozenset({"event.original"})
_BARE = tuple(f"{level}:" for level in LEVELS)


@Configuration()
class EsaParseCommand(StreamingCommand):
    """Adds esalog's fields to each record, parsed from ``field`` (default ``_raw``).

    ##Syntax
    esaparse [field=<field>] [tz=<zone>]

    ##Description
    Parses Cisco ESA text mail log lines with esalog and adds its fields (dotted names), the abort
    category included. Records are tracked per host in the order they arrive.
    """

    field = Option(doc="field holding the ESA line (default _raw)", default="_raw",
                   validate=validators.Fieldname())
    tz = Option(doc="zone of time stamps without one (default UTC)", default="UTC")

    def prepare(self) -> None:
        self.pipeline = build_pipeline(PipelineConfig(ParseConfig(tz=self.tz, keep_original=False)))
        self.streams: dict[str, Any] = {}

    def stream(self, records: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        # splunklib writes a chunk with the field names of its first record: give every record of the
        # chunk (at most splunkd's chunk size) the same names.
        parsed = [self._parse(record) for record in records]
        names = dict.fromkeys(name for record in parsed for name in record)
        for record in parsed:
            for name in names:
                record.setdefault(name, None)
            yield record

    def _parse(self, record: dict[str, Any]) -> dict[str, Any]:
        text = record.get(self.field)
        if isinstance(text, list):
            text = text[0] if text else None
        if not text:
            return record
        host = record.get("host") or ""
        stream = self.streams.get(host)
        if stream is None:
            stream = self.streams[host] = self.pipeline.open_stream(f"splunk:{host}")
        event = to_event(self.pipeline.process(_with_time(text, record.get("_time")), stream)[0])
        for name, value in flatten(event, SKIPPED).items():
            record.setdefault(name, value)
        return record


def _with_time(text: str, splunk_time: Any) -> str:
    """A line indexed without its syslog header (``Info: ...``) gets the record's ``_time`` in front."""
    if splunk_time in (None, "") or not text.lstrip().startswith(_BARE):
        return text
    try:
        moment = datetime.fromtimestamp(float(splunk_time), UTC)
    except (TypeError, ValueError, OverflowError):
        return text
    return f"{iso_utc(moment)} {text.lstrip()}"


def main(argv: list[str]) -> None:
    """Entry point of ``bin/esaparse.py``."""
    dispatch(EsaParseCommand, argv, sys.stdin, sys.stdout, "__main__")
