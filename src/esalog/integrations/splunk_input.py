"""Splunk modular input ``esalog://NAME``: ESA log files -> one JSON event per line (and per message).

splunkd runs ``bin/esalog.py --scheme``, ``--validate-arguments`` (XML on stdin) and, to stream, the script
with the input definition XML on stdin; events go to stdout as ``<stream><event>`` XML. Files are read
by esalog's one source stage (:mod:`esalog.sources`): known by identity, so a renamed (rotated) file is
not read again; resumed after its header lines are replayed, so a restart keeps the file's time offset;
a compressed file read to its end is not decompressed again. The offset reached in each file is kept in
Splunk's checkpoint directory, in esalog's checkpoint format, written only after the events before it
were flushed to splunkd: a restart resumes there and loses nothing (a line may repeat if splunkd dies
between the two). Session-tracking state is not checkpointed: a message open across a restart is
summarised as incomplete.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splunklib.modularinput import Argument, Event, EventWriter, Scheme, Script

from esalog import yamlcache
from esalog.encode import encode_line
from esalog.errors import EsalogError
from esalog.integrations.splunk import epoch_seconds
from esalog.names import sourcetype_of
from esalog.parsers.config import ParseConfig
from esalog.parsers.engine import builtin_log_types
from esalog.parsers.header import parse_tz
from esalog.parsers.record import Record
from esalog.pipeline import PipelineConfig, build_pipeline
from esalog.sources.checkpoint import Checkpoint
from esalog.sources.reader import Batch, Source, SourceConfig
from esalog.tracking.config import TrackingConfig
from esalog.tracking.persist import dump_state, load_state
from esalog.tracking.tracker import Tracker

POLL_SECONDS = 2.0
#: Seconds between checkpoint writes while events flow (and always at the end)
CHECKPOINT_SECONDS = 1.0
#: Seconds between saves of the session tracker's state (and at a stop)
STATE_SECONDS = 30.0
_TRUE, _FALSE = {"1", "true", "yes", "t", "y", "on"}, {"0", "false", "no", "f", "n", "off", ""}


def _boolean(name: str, value: str | None, default: bool) -> bool:
    if value is None:
        return default
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"{name} must be a boolean (1/0, true/false), not {value!r}")


@dataclass(frozen=True)
class InputConfig:
    """The checked parameters of one ``esalog://`` stanza."""

    path: str
    follow: bool = True
    time_zone: str = "UTC"
    inbound_timeout: int = 300
    summaries: bool = False
    log_type: str = "auto"
    index: str | None = None

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> InputConfig:
        """Validate the parameters splunkd passes; ValueError names the bad one."""
        path = (params.get("path") or "").strip()
        if not path:
            raise ValueError("path is required: a file or glob such as /var/log/esa/mail.@*.s")
        if not os.path.isabs(path):
            raise ValueError(f"path must be absolute, not {path!r}")
        time_zone = (params.get("time_zone") or "UTC").strip()
        try:
            parse_tz(time_zone)
        except EsalogError as exc:
            raise ValueError(str(exc)) from None
        raw_timeout = (params.get("inbound_timeout") or "300").strip()
        if not raw_timeout.isdigit() or int(raw_timeout) <= 0:
            raise ValueError(f"inbound_timeout must be a positive number of seconds, not {raw_timeout!r}")
        log_type = (params.get("log_type") or "auto").strip()
        known = ("auto", *builtin_log_types())
        if log_type not in known:
            raise ValueError(f"log_type must be one of {', '.join(known)}, not {log_type!r}")
        return cls(path=path, follow=_boolean("follow", params.get("follow"), True), time_zone=time_zone,
                   inbound_timeout=int(raw_timeout), log_type=log_type, index=params.get("index") or None,
                   summaries=_boolean("summaries", params.get("summaries"), False))

    def pipeline_config(self) -> PipelineConfig:
        """The pipeline this input runs (typed settings, no command line involved)."""
        return PipelineConfig(
            ParseConfig(tz=self.time_zone, log_type=None if self.log_type == "auto" else self.log_type),
            TrackingConfig(inbound_timeout=float(self.inbound_timeout), summaries=self.summaries),
        )


def fixed_directory(path: str) -> str:
    """The directory of *path* before its first glob character: ``/var/log/esa`` for ``/var/log/esa/mail.@*.s``."""
    first = min((i for i in (path.find(c) for c in "*?[") if i >= 0), default=len(path))
    return os.path.dirname(path[:first]) or os.sep


def checkpoint_for(directory: str, stanza: str) -> Checkpoint:
    """The checkpoint of one stanza in splunkd's checkpoint directory (esalog's checkpoint format)."""
    return Checkpoint(str(Path(directory) / (re.sub(r"[^A-Za-z0-9_.-]", "_", stanza) + ".json")))


class EsalogInput(Script):
    """The ``esalog://`` modular input."""

    def __init__(self) -> None:
        super().__init__()
        self.stopping = False
        self.source: Source | None = None
        self.sourcetypes: dict[str, str] = {}

    def get_scheme(self) -> Scheme:
        scheme = Scheme("Cisco ESA mail logs (esalog)")
        scheme.description = ("Parse Cisco Secure Email Gateway text mail log files into JSON events, with "
                              "abort categories and optional per-message summaries.")
        scheme.use_external_validation = True
        scheme.use_single_instance = False
        scheme.streaming_mode = Scheme.streaming_mode_xml
        args = [
            ("path", "File or glob of ESA mail log files (absolute)", Argument.data_type_string, True),
            ("follow", "Keep reading lines appended to the files (1) or stop at the end (0)",
             Argument.data_type_boolean, False),
            ("time_zone", "Zone of time stamps until a 'Time offset from UTC' header (IANA name or +HH:MM)",
             Argument.data_type_string, False),
            ("inbound_timeout", "Listener unsuccessful-inbound timeout in seconds (default 300)",
             Argument.data_type_number, False),
            ("summaries", "Also index one summary event per message (cisco:esa:message)",
             Argument.data_type_boolean, False),
            ("log_type", f"auto, or one of {', '.join(builtin_log_types())}", Argument.data_type_string, False),
        ]
        for name, description, data_type, required in args:
            scheme.add_argument(Argument(name, description=description, data_type=data_type,
                                         required_on_create=required, required_on_edit=False))
        return scheme

    def validate_input(self, definition: Any) -> None:
        config = InputConfig.from_params(definition.parameters)
        # an empty spool is fine (the ESA pushes later), a directory that is not there is a typo
        directory = fixed_directory(config.path)
        if not os.path.isdir(directory):
            raise ValueError(f"path {config.path!r}: there is no directory {directory} on this host "
                             f"(the ESA's SCP/FTP push or syslog writes the files there)")

    def stream_events(self, inputs: Any, ew: EventWriter) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        checkpoint_dir = inputs.metadata["checkpoint_dir"]
        # the packs' YAML cache beside the checkpoints: an app writes under $SPLUNK_HOME, not in a home folder
        os.environ.setdefault(yamlcache.CACHE_ENV, os.path.join(checkpoint_dir, "esalog-cache"))
        for stanza, params in inputs.inputs.items():
            try:
                config = InputConfig.from_params(params)
            except ValueError as exc:
                ew.log(EventWriter.ERROR, f"{stanza}: {exc}")
                continue
            try:
                self.run_stanza(stanza, config, checkpoint_for(checkpoint_dir, stanza), ew)
            except EsalogError as exc:
                ew.log(EventWriter.ERROR, f"{stanza}: {exc}")

    def _stop(self, *_: Any) -> None:
        self.stopping = True
        if self.source is not None:
            self.source.stop = True

    def run_stanza(self, stanza: str, config: InputConfig, checkpoint: Checkpoint, ew: EventWriter) -> None:
        """Read every matching file from its checkpoint; with follow, keep polling until SIGTERM."""
        pipeline = build_pipeline(config.pipeline_config())
        checkpoint.load().forget_missing()
        tracker = next((stage for stage in pipeline.stages if isinstance(stage, Tracker)), None)
        if tracker is not None and (saved := checkpoint.track_state()) is not None:
            load_state(tracker, saved)
        source = self.source = Source(
            pipeline, SourceConfig(paths=(config.path,), follow=config.follow, poll_interval=POLL_SECONDS),
            checkpoint=checkpoint, idle=lambda: _save(checkpoint))
        source.stop = self.stopping
        last_save = last_state = time.monotonic()
        self.sourcetypes = pipeline.parser.sourcetypes()
        for batch in source.batches():
            for record in _new_records(batch):
                self._write(ew, stanza, config, record, batch.input.name)
            sys.stdout.flush()  # the events are splunkd's now: the checkpoint may pass them
            if batch.input.file_id is not None:
                checkpoint.advance(batch.input.file_id, batch.input.path, batch.input.key, batch.next_offset,
                                   batch.done_size)
            if tracker is not None and time.monotonic() - last_state >= STATE_SECONDS:
                checkpoint.offer_state(dump_state(tracker), dict(source.positions))  # delivered: it is written
                last_state = time.monotonic()
            if time.monotonic() - last_save >= CHECKPOINT_SECONDS:
                checkpoint.save(force=True)
                last_save = time.monotonic()
        if tracker is not None:
            # the open messages go on at the next start (or the next run of an input without follow): their
            # state is saved with the checkpoint, they are summarised when they finish
            checkpoint.offer_state(dump_state(tracker), dict(source.positions))
        else:
            for record in pipeline.flush():
                self._write(ew, stanza, config, record, "esalog")
        sys.stdout.flush()
        checkpoint.save(force=True)
        for why in source.damaged:
            ew.log(EventWriter.ERROR, f"{stanza}: {why}")
        counters = pipeline.counters
        ew.log(EventWriter.INFO, f"{stanza}: {counters.lines} lines, {counters.events} events, "
                                 f"{counters.unmatched} unmatched, {counters.extra} summaries")

    def _write(self, ew: EventWriter, stanza: str, config: InputConfig, record: Record, source: str) -> None:
        ew.write_event(Event(
            data=encode_line(record)[:-1].decode("utf-8"), stanza=stanza,
            time=f"{epoch_seconds(record.timestamp):.3f}",
            # the appliance: the line's host, else the serial number of the file's header lines
            host=record.observer.get("hostname") or record.observer.get("serial_number"),
            index=config.index, source=source, sourcetype=sourcetype_of(record, self.sourcetypes), unbroken=True,
            done=True))


def _new_records(batch: Batch) -> list[Record]:
    """The records of *batch* not indexed before a restart (replayed lines were)."""
    if not batch.replay_until:
        return batch.records
    return [record for line in batch.lines() if not line.replayed for record in line.records]


def _save(checkpoint: Checkpoint) -> None:
    checkpoint.save(force=True)


def main(argv: list[str]) -> int:
    """Entry point of ``bin/esalog.py``."""
    return int(EsalogInput().run(argv))
