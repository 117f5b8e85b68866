"""Splunk modular input ``esalog://NAME``: ESA log files -> one JSON event per line (and per message).

splunkd runs ``bin/esalog.py --scheme``, ``--validate-arguments`` (XML on stdin) and, to stream, the script
with the input definition XML on stdin; events go to stdout as ``<stream><event>`` XML. The offset
reached in each file is kept in Splunk's checkpoint directory, written only after the events before it
were flushed to splunkd: a restart resumes there and loses nothing (a line may repeat if splunkd dies
between the two). Session-tracking state is not checkpointed: a message open across a restart is
summarised as incomplete.
"""

from __future__ import annotations

import glob
import io
import json
import os
import re
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splunklib.modularinput import Argument, Event, EventWriter, Scheme, Script

from esalog.errors import EsalogError
from esalog.inputs import open_binary, read_lines
from esalog.integrations.splunk import epoch_seconds, pipeline_from_argv, sourcetype_of
from esalog.parsers.header import parse_tz
from esalog.pipeline import Pipeline

LOG_TYPES = ("auto", "mail_logs", "bounce_logs", "consolidated_event")
CHUNK_BYTES = 8 * 1024 * 1024  # read at most this much of a file per step (bounded memory)
POLL_SECONDS = 2.0
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
        if log_type not in LOG_TYPES:
            raise ValueError(f"log_type must be one of {', '.join(LOG_TYPES)}, not {log_type!r}")
        return cls(path=path, follow=_boolean("follow", params.get("follow"), True), time_zone=time_zone,
                   inbound_timeout=int(raw_timeout), log_type=log_type, index=params.get("index") or None,
                   summaries=_boolean("summaries", params.get("summaries"), False))

    def pipeline_argv(self) -> list[str]:
        """The ``esalog parse`` options that build this input's pipeline."""
        argv = ["--tz", self.time_zone, "--inbound-timeout", str(self.inbound_timeout)]
        if self.log_type != "auto":
            argv += ["--log-type", self.log_type]
        if self.summaries:
            argv.append("--summaries")
        return argv


class Checkpoint:
    """Per-file offsets of one stanza, in a JSON file in splunkd's checkpoint directory."""

    def __init__(self, directory: str, stanza: str) -> None:
        self.path = Path(directory) / (re.sub(r"[^A-Za-z0-9_.-]", "_", stanza) + ".json")
        try:
            self.files: dict[str, dict[str, int]] = json.loads(self.path.read_text())["files"]
        except (OSError, ValueError, KeyError, TypeError):
            self.files = {}

    def offset(self, path: str, inode: int, size: int | None) -> int:
        """Where to resume *path*: 0 for a new or replaced (rotated, truncated) file."""
        state = self.files.get(path)
        if not state or state.get("inode") != inode or (size is not None and size < state.get("offset", 0)):
            return 0
        return int(state.get("offset", 0))

    def save(self, path: str, inode: int, offset: int) -> None:
        self.files[path] = {"inode": inode, "offset": offset}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"files": self.files}))
        os.replace(tmp, self.path)


class EsalogInput(Script):
    """The ``esalog://`` modular input."""

    def __init__(self) -> None:
        super().__init__()
        self.stopping = False

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
            ("log_type", "auto, mail_logs, bounce_logs or consolidated_event",
             Argument.data_type_string, False),
        ]
        for name, description, data_type, required in args:
            scheme.add_argument(Argument(name, description=description, data_type=data_type,
                                         required_on_create=required, required_on_edit=False))
        return scheme

    def validate_input(self, definition: Any) -> None:
        InputConfig.from_params(definition.parameters)

    def stream_events(self, inputs: Any, ew: EventWriter) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        checkpoint_dir = inputs.metadata["checkpoint_dir"]
        for stanza, params in inputs.inputs.items():
            try:
                config = InputConfig.from_params(params)
            except ValueError as exc:
                ew.log(EventWriter.ERROR, f"{stanza}: {exc}")
                continue
            self.run_stanza(stanza, config, Checkpoint(checkpoint_dir, stanza), ew)

    def _stop(self, *_: Any) -> None:
        self.stopping = True

    def run_stanza(self, stanza: str, config: InputConfig, checkpoint: Checkpoint, ew: EventWriter) -> None:
        """Read every matching file from its checkpoint; with follow, keep polling until SIGTERM."""
        pipeline = pipeline_from_argv(config.pipeline_argv())
        streams: dict[str, Any] = {}
        while not self.stopping:
            for path in sorted(glob.glob(config.path)):
                if self.stopping:
                    break
                if os.path.isfile(path):
                    self._read_file(stanza, config, path, pipeline, streams, checkpoint, ew)
            if not config.follow:
                break
            deadline = time.monotonic() + POLL_SECONDS
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(0.2)
        for event in pipeline.flush():
            self._write(ew, stanza, config, event, "esalog")
        sys.stdout.flush()
        counters = pipeline.counters
        ew.log(EventWriter.INFO, f"{stanza}: {counters.lines} lines, {counters.events} events, "
                                 f"{counters.unmatched} unmatched, {counters.extra} summaries")

    def _read_file(self, stanza: str, config: InputConfig, path: str, pipeline: Pipeline,
                   streams: dict[str, Any], checkpoint: Checkpoint, ew: EventWriter) -> None:
        try:
            stat = os.stat(path)
            handle = open_binary(path)
        except OSError as exc:
            ew.log(EventWriter.WARN, f"{stanza}: cannot read {path}: {exc.strerror}")
            return
        with handle:
            compressed = not isinstance(handle, io.BufferedReader)
            offset = checkpoint.offset(path, stat.st_ino, None if compressed else stat.st_size)
            if compressed:
                handle.read(offset)  # gzip cannot seek: skip what was read before
            else:
                handle.seek(offset)
            stream = streams.get(path)
            if stream is None or offset == 0:
                stream = streams[path] = pipeline.open_stream(path)
            pending = b""
            while not self.stopping:
                chunk = handle.read(CHUNK_BYTES)
                data = pending + chunk
                # complete lines only, unless the file is done growing (or one line outgrew a chunk)
                last = not chunk and (compressed or not config.follow)
                end = len(data) if last or len(data) > 2 * CHUNK_BYTES else data.rfind(b"\n") + 1
                pending = data[end:]
                if end:
                    for raw in read_lines(io.BytesIO(data[:end]), start_offset=offset):
                        for event in pipeline.process(raw, stream):
                            self._write(ew, stanza, config, event, path)
                    offset += end
                    sys.stdout.flush()
                    checkpoint.save(path, stat.st_ino, offset)
                if not chunk:
                    break

    @staticmethod
    def _write(ew: EventWriter, stanza: str, config: InputConfig, event: dict[str, Any], source: str) -> None:
        from esalog.encode import encode_line

        sourcetype = sourcetype_of(event)
        ew.write_event(Event(
            data=encode_line(event)[:-1].decode("utf-8"), stanza=stanza, time=f"{epoch_seconds(event):.3f}",
            host=event.get("observer", {}).get("hostname"), index=config.index, source=source,
            sourcetype=sourcetype, unbroken=True, done=True))


def main(argv: list[str]) -> int:
    """Entry point of ``bin/esalog.py``."""
    return EsalogInput().run(argv)
