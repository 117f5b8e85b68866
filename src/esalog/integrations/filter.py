"""Filter mode under real hosts: plain lines, rsyslog ``omprog`` and rsyslog ``mmexternal``.

* ``lines``: every event as one JSON line on stdout (or ``--output FILE``). The lines of each read are
  answered at once, in one write, before the filter waits for more input: no answer waits for a later
  line, and a stream that comes in bursts costs one system call per read, not per line.
* ``rsyslog-omprog``: omprog's ``confirmMessages="on"`` protocol. ``OK`` on stdout at start and after
  each message once its events are written to ``--output FILE`` (stdout is the confirmation channel);
  any other reply makes rsyslog keep the message and retry it. ``useTransactions="on"`` is understood
  (``BEGIN TRANSACTION`` / ``DEFER_COMMIT`` / ``COMMIT TRANSACTION``). SIGHUP reopens the output file
  (omprog ``hup.signal="HUP"``, for logrotate). A message (or a transaction) whose rows cannot be
  written (disk full) is answered with the error and none of its rows stays in the file: rsyslog's
  retry adds neither a duplicate nor a torn row.
* ``rsyslog-mmexternal``: exactly one reply line per input line, ``{"$!":{"esa":EVENT}}``; the message
  itself is left intact; events a stage adds for that line (message summaries) ride along under
  ``$!esa_summaries``. With ``interface.input="fulljson"`` the line is read from the ``msg`` key.
  Nothing is ever written to stderr while messages flow (mmexternal mixes it into the replies).

Syslog-framed messages reach the filter as the MSG part with its leading space (``" Info: ..."``);
the header stage reads that form, so both ``%msg%`` and ``%rawmsg%`` work.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from esalog.encode import decode, encode_event, to_event
from esalog.errors import ConfigError
from esalog.pipeline import Pipeline
from esalog.settings import setting, validate
from esalog.sources.files import shrunk_below, truncated_text, unreadable_text
from esalog.sources.lines import Block, decode_line, read_blocks, read_line_bytes
from esalog.sources.native import encode_native, encode_records, records_staged
from esalog.sources.signals import Stopped, StopSignals
from esalog.writing import append_whole, write_all, write_whole

#: Lines as :func:`read_line_bytes` gives them: bytes, the bytes they take, cut at the length limit or not.
LineBytes = Iterator[tuple[bytes, int, bool]]

PROTOCOLS = ("lines", "rsyslog-omprog", "rsyslog-mmexternal")
#: Where the keys of an input JSON object other than the line go (the host's own metadata: Logstash's
#: ``host`` and ``@version``, Fluent Bit's ``date``, rsyslog's properties), unchanged: one declared
#: object, so the event still validates against the schema and nothing collides with its fields.
PASSTHROUGH = "passthrough"
#: Default key holding the raw line when an input line is a JSON object, per protocol.
DEFAULT_FIELD = {"lines": "message", "rsyslog-omprog": "message", "rsyslog-mmexternal": "msg"}

_BEGIN, _COMMIT = b"BEGIN TRANSACTION", b"COMMIT TRANSACTION"
#: Bytes of events the --output file holds back before appending them (a transaction longer than this is
#: appended as it comes, and still cut back if it fails).
HOLD_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class FilterConfig:
    """How ``esalog filter`` talks to its host."""

    protocol: str = setting(
        "lines", flag="--protocol", choices=PROTOCOLS,
        help="lines (default): JSON lines out; rsyslog-omprog: confirmMessages protocol, events to --output; "
             "rsyslog-mmexternal: one reply per line, event under $!esa")
    field: str | None = setting(None, flag="--field",
                                help="key holding the raw line when an input line is a JSON object "
                                     "(default: message; msg for rsyslog-mmexternal); the object's other keys "
                                     f"are kept under {PASSTHROUGH}")
    output: str | None = setting(
        None, flag="--output", metavar="FILE",
        help="append events to FILE (required with rsyslog-omprog; with rsyslog-mmexternal it receives what "
             "is still pending at the end of input)")

    def __post_init__(self) -> None:
        validate(self)
        if self.protocol == "rsyslog-omprog" and not self.output:
            raise ConfigError("--protocol rsyslog-omprog needs --output FILE: stdout carries the confirmations")

    @property
    def line_field(self) -> str:
        """The JSON key that carries the line: ``--field``, else the protocol's own."""
        return self.field or DEFAULT_FIELD[self.protocol]


class FilterInput:
    """Turns filter input lines (raw ESA lines or JSON objects carrying one) into events."""

    def __init__(self, pipeline: Pipeline, field: str) -> None:
        self.pipeline = pipeline
        self.field = field
        self.stream = pipeline.open_stream("stdin")
        self.core = pipeline.core
        self.native = self.core.stream(self.stream) if self.core is not None else None
        self.compiled = pipeline.core is not None or pipeline.record_core is not None
        self.stopped = False

    def ndjson(self, raw: bytes, cut: bool = False) -> bytes:
        """The events of the line *raw* (cut at the length limit or not) as NDJSON: the compiled core's
        where there is one (see :func:`~esalog.sources.native.encode_native`), else the Python path's."""
        if self.compiled and not cut:
            if self.native is not None and raw[:1] != b"{":  # --stateless: the event written by the core alone
                data = self.core.encode_line(self.native, raw)
                if data is not None:
                    self.pipeline.count_lines(1)
                    return data  # type: ignore[no-any-return]
            data = self._wrapped(raw) if raw.lstrip()[:1] == b"{" else self._compiled([raw])
            if data is not None:
                return data
        return b"".join([encode_event(event) for event in self.events(*decode_line(raw, cut))])

    def block_ndjson(self, block: Block) -> bytes:
        """The events of a block of lines as NDJSON, byte for byte what :meth:`ndjson` gives line by line.

        The runs of plain ESA lines go to the compiled core together. Line by line go: the lines of the
        input's header (until the header is over, each is answered before the time offset is known, as
        when it arrives on its own), JSON objects, and lines cut at the length limit.
        """
        raws = block.raws
        cut = block.problems  # (read without decoding: the only problems are cut lines)
        if not self.compiled:
            return b"".join([self.ndjson(raw, index in cut) for index, raw in enumerate(raws)])
        parts: list[bytes] = []
        start = 0  # the first line of the run not answered yet
        for index, raw in enumerate(raws):
            if self.stream.early is None and index not in cut and raw.lstrip()[:1] != b"{":
                continue
            if start < index:
                parts.append(self._compiled(raws[start:index]))
            parts.append(self.ndjson(raw, index in cut))
            start = index + 1
        if start < len(raws):
            parts.append(self._compiled(raws[start:] if start else raws))
        return b"".join(parts)

    def _compiled(self, raws: list[bytes]) -> bytes:
        """The NDJSON of consecutive ESA lines by the compiled core (and the stages)."""
        if self.native is not None:
            return encode_native(self.pipeline, raws, {}, self.stream)
        records, _ = records_staged(self.pipeline, raws, {}, self.stream)
        return encode_records(self.pipeline, records)

    def _wrapped(self, raw: bytes) -> bytes | None:
        """The NDJSON of a JSON object carrying an ESA line in ``field`` (its other keys under PASSTHROUGH)
        by the compiled core; None when the Python path must read it (not such an object, or a line the
        core would not get as :meth:`events` reads it)."""
        try:
            obj = decode(raw)
        except ValueError:
            return None
        line = obj.get(self.field) if isinstance(obj, dict) else None
        if not isinstance(line, str) or "\n" in line or "\r" in line or line.lstrip().startswith("{"):
            return None
        try:
            line_bytes = line.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate escaped in the JSON
            return None
        del obj[self.field]
        data = self._compiled([line_bytes])
        if not obj:
            return data
        first, _, rest = data.partition(b"\n")
        if b'"' + PASSTHROUGH.encode() + b'":' in first:  # (as events() merges it: the key's place kept)
            return encode_event({**decode(first), PASSTHROUGH: obj}) + rest
        return first[:-1] + b',"' + PASSTHROUGH.encode() + b'":' + encode_event(obj)[:-1] + b"}\n" + rest

    def events(self, text: str, problems: tuple[str, ...]) -> list[dict[str, Any]]:
        """The events of the line *text* (with the problems met reading it): its own first, then any
        events stages add."""
        foreign: dict[str, Any] | None = None
        missing = False  # a JSON object without the line: kept whole, and the event says which key to give
        if text.lstrip().startswith("{"):
            try:
                obj = decode(text)
            except ValueError:
                obj = None
            if isinstance(obj, dict):
                if isinstance(obj.get(self.field), str):
                    text = obj.pop(self.field)
                else:
                    missing = True
                foreign = obj
        records = self.pipeline.process(text, self.stream, problems)
        events = [to_event(record) for record in records]
        if foreign:
            events[0] = {**events[0], PASSTHROUGH: foreign}
        if missing:
            keys = ", ".join(sorted(map(str, foreign or {}))[:12]) or "none"
            events[0]["error"] = {
                "type": "no_line_field",
                "message": f"a JSON object without a string {self.field!r} key (its keys: {keys}): give --field "
                           "with the key that holds the ESA line (Fluent Bit: log; rsyslog fulljson: msg)"}
        return events

    def pending(self) -> Iterator[dict[str, Any]]:
        """What the stages still hold at the end of input (message summaries); none when stopped by a signal
        (what is open was cut off, not ended)."""
        if self.stopped:
            return
        for record in self.pipeline.flush():
            yield to_event(record)

    def stop(self) -> None:
        """A signal stops the filter: nothing is summarised at the end."""
        self.stopped = True


class ReopenableOutput:
    """An append-mode output file that SIGHUP reopens (after logrotate moved it).

    What is written is held until :meth:`flush`, which appends it whole or not at all: when the append
    fails (disk full, file too large), what of it reached the file is cut off again, so a host that sends
    the same messages again (rsyslog after an error answer) adds neither a duplicate nor a torn row. In a
    transaction (:meth:`begin` .. :meth:`commit`) a failure cuts the file back to where the transaction
    began. Unless another process appended to the file meanwhile: its rows are never cut.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = self._open()
        self._held = bytearray()
        self._mark: int | None = None  # in a transaction: the size of the file when it began
        self._reopen = False

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def request_reopen(self, *_: Any) -> None:
        """Reopen the output before the next write (a SIGHUP handler: it only asks)."""
        self._reopen = True

    def write(self, data: bytes) -> None:
        self._held += data
        if len(self._held) >= HOLD_BYTES:  # a long transaction: appended now, still cut back if it fails
            self.flush()

    def begin(self) -> None:
        """A transaction starts: a failure until :meth:`commit` cuts the file back to here."""
        self.flush()
        self._reopen_if_asked()
        self._mark = os.fstat(self._fd).st_size

    def commit(self) -> None:
        """The transaction's rows are appended (or, failing, none of them stays)."""
        try:
            self.flush()
        finally:
            self._mark = None

    def flush(self) -> None:
        if self._mark is None:
            self._reopen_if_asked()
        if not self._held:
            return
        data, self._held = bytes(self._held), bytearray()  # on failure too: the host sends them again
        append_whole(self._fd, data, self._mark)

    def _reopen_if_asked(self) -> None:
        if self._reopen:
            self._reopen = False
            os.close(self._fd)
            self._fd = self._open()

    def abandon(self) -> None:
        """Stopped in a transaction: the rows it holds are not appended (the host sends the transaction
        again, it was never committed)."""
        if self._mark is not None:
            self._held = bytearray()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            os.close(self._fd)


def _open_output(path: str | None) -> ReopenableOutput | None:
    if path is None:
        return None
    try:
        out = ReopenableOutput(path)
    except OSError as exc:
        raise ConfigError(f"cannot open --output {path!r}: {exc.strerror}") from None
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, out.request_reopen)
    return out


def run_filter(config: FilterConfig, pipeline: Pipeline,
               stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
    """``esalog filter``: read stdin until EOF and answer in the chosen protocol; returns the exit code."""
    protocol = config.protocol
    reader = FilterInput(pipeline, config.line_field)
    handle = stdin or sys.stdin.buffer
    out = stdout or sys.stdout.buffer
    output = _open_output(config.output)
    stop = StopSignals()  # SIGINT, SIGTERM: the line (block) under way is answered, then the filter ends
    stop.on_stop = reader.stop
    status = 0
    try:
        with stop:
            if protocol == "rsyslog-omprog":
                assert output is not None
                _omprog(reader, stop.until_stopped(read_line_bytes(handle)), output, out)
            elif protocol == "rsyslog-mmexternal":
                _mmexternal(reader, stop.until_stopped(read_line_bytes(handle)), out, output)
            else:
                status = _lines(reader, handle, output or out, stop)
    finally:
        if output is not None:
            output.close()
    if stop.signum is not None:
        print(stop.said(stop.done, "each was answered"), file=sys.stderr, flush=True)
        return stop.exit_code
    return max(status, _truncated(handle))


def _truncated(handle: BinaryIO) -> int:
    """1, said on stderr, when stdin is a regular file cut shorter than what was read of it while it was read
    (what was after the cut was not read); else 0."""
    try:
        position = handle.tell()
    except (OSError, ValueError):  # a pipe
        return 0
    size = shrunk_below(handle, position)
    if size is None:
        return 0
    try:
        name = os.readlink(f"/proc/self/fd/{handle.fileno()}")
    except OSError:
        name = "stdin"
    print(f"esalog: error: {truncated_text(f'{name} (stdin)', size, position)}", file=sys.stderr)
    return 1


def _descriptor(out: BinaryIO | ReopenableOutput) -> int | None:
    """The file descriptor to write *out* through, None where it has none (or it changes: SIGHUP)."""
    if isinstance(out, ReopenableOutput):
        return None
    try:
        return out.fileno()
    except OSError:  # io.UnsupportedOperation
        return None


def _lines(reader: FilterInput, handle: BinaryIO, out: BinaryIO | ReopenableOutput, stop: StopSignals) -> int:
    """The ``lines`` protocol: each read's events written at once (see the module docstring). A stop signal
    ends it after the block under way (at once while it waits for input); ``stop.done`` counts the lines
    answered."""
    fd = _descriptor(out)
    out.flush()
    status = 0
    try:
        for block in read_blocks(stop.waiting_on(handle), decode=False):
            if block.damage is not None:
                why = f"esalog: {unreadable_text('stdin', block.offset, block.damage)}"
                print(why, file=sys.stderr)
                data = encode_event(to_event(reader.pipeline.parser.error_record("", reader.stream, "read_error",
                                                                                 why)))
                status = 1
            else:
                data = reader.block_ndjson(block)
            if fd is None:
                out.write(data)  # (a ReopenableOutput: held, then appended whole)
                out.flush()
            else:  # straight to the descriptor: nothing buffered
                write_all(fd, data)
            stop.done += len(block.raws)
            if stop.signum is not None:
                break
    except Stopped:  # waiting for input: what it had read of a line not ended yet is not a line
        pass
    for event in reader.pending():
        out.write(encode_event(event))
    out.flush()
    return status


def _omprog(reader: FilterInput, lines: LineBytes, output: ReopenableOutput, out: BinaryIO) -> None:
    def reply(word: str) -> None:
        out.write(word.encode() + b"\n")
        out.flush()

    reply("OK")
    in_transaction = False
    failed: str | None = None  # why the transaction under way cannot commit (its rows were cut off)
    for raw, _, cut in lines:
        try:
            if raw == _BEGIN:
                in_transaction, failed = True, None
                output.begin()
                reply("OK")
                continue
            if raw == _COMMIT:
                in_transaction = False
                output.commit()  # after a failure nothing is held: the transaction's rows were cut off
                reply(failed or "OK")
                continue
            events = reader.ndjson(raw, cut)
            if in_transaction and failed is not None:
                reply(failed)  # rsyslog sends the whole transaction again
                continue
            output.write(events)
            if not in_transaction:
                output.flush()
        except OSError as exc:  # the message (or transaction) stays queued in rsyslog and is retried
            why = f"esalog: cannot write {output.path}: {exc.strerror or exc}"
            if in_transaction:
                failed = why
            reply(why)
            continue
        reply("DEFER_COMMIT" if in_transaction else "OK")
    if reader.stopped:  # a signal: a transaction under way was not committed, rsyslog sends it again
        output.abandon()
    for event in reader.pending():
        output.write(encode_event(event))
    output.flush()


def _mmexternal(reader: FilterInput, lines: LineBytes, out: BinaryIO, output: ReopenableOutput | None) -> None:
    for raw, _, cut in lines:  # the reply {"$!":{"esa":EVENT,"esa_summaries":[...]}} from the events' NDJSON
        first, _, rest = reader.ndjson(raw, cut).partition(b"\n")
        summaries = b',"esa_summaries":[' + rest[:-1].replace(b"\n", b",") + b"]" if rest else b""
        write_whole(out, b'{"$!":{"esa":' + first + summaries + b"}}\n")
        out.flush()
    unwritten = 0
    for event in reader.pending():
        if output is None:
            unwritten += 1
        else:
            output.write(encode_event(event))
    if unwritten:  # the host is shutting down; stderr no longer mixes into replies
        print(f"esalog: {unwritten} pending events at end of input not written (give --output FILE)",
              file=sys.stderr)
