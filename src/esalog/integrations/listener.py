"""``esalog listen``: receive the ESA syslog push on UDP and TCP and ship the events, no syslog daemon needed.

* RFC 3164 (``<PRI>Mmm dd hh:mm:ss host app: ...``) and RFC 5424 messages; the header stage reads both.
* TCP framing per RFC 6587: newline-terminated, or octet-counted (``LEN SP MSG``), chosen per frame
  (:class:`Framer`): a line of digits alone is a line, a frame cut short by the end of its connection
  is an event tagged ``esalog_partial``, never silence.
* One parser stream per sending appliance (peer address): its ``Time offset from UTC`` header, version and
  serial number apply to its own lines only; the stages (session tracking) key their state by appliance.
  At most :data:`MAX_STREAMS` peers keep a stream (the least recently heard from is forgotten).
* The event loop only moves bytes: a worker thread parses and hands records to the delivery driver, so
  signals, UDP and TCP stay served while a sink is slow or down.
* Bounded memory, in bytes: the messages waiting for the parser and the incomplete frames of all
  connections share ``--max-buffer``. When the queue is full, TCP reading pauses on every connection (the
  senders wait: back-pressure) and UDP datagrams are counted as dropped, like those the kernel dropped
  from a full socket buffer; incomplete frames over half the budget are cut (tagged ``esalog_truncated``).
  At most ``--max-connections`` connections; senders outside ``--allow`` are refused and counted.
* SIGTERM / SIGINT: stop accepting; read what the UDP sockets hold; read each TCP connection until it is
  quiet; parse everything received; flush the stages and the sink (retrying within ``--retry-budget``).
  A second signal gives up: retries end, what is not parsed yet is counted as dropped. Any drop makes the
  exit code 1. A sink that cannot work (bad token, TLS failure, wrong URL) stops the listener at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from esalog.connectors.base import Driver, RetryReporter
from esalog.connectors.config import DeliveryConfig, SinkChoice, build_driver, build_sink
from esalog.errors import ConfigError, warn
from esalog.parsers.parser import Stream
from esalog.parsers.record import Record
from esalog.pipeline import Pipeline
from esalog.settings import integer, parsed_by, positive, setting, validate
from esalog.sources.checkpoint import Ledger, LineTicket
from esalog.sources.lines import decode_line
from esalog.sources.native import records_native, records_staged

DEFAULT_QUEUE = 10_000
DEFAULT_MAX_FRAME = 256 * 1024
DEFAULT_MAX_BUFFER = 64 * 1024 * 1024
DEFAULT_MAX_CONNECTIONS = 1000
#: Peers whose parser stream (clock, appliance) is kept; the least recently heard from is forgotten.
MAX_STREAMS = 4096
#: Bytes one queued message costs beyond its data (the tuple and bytes objects), for the byte budget.
FRAME_OVERHEAD = 160
#: Bytes read from a TCP connection at once (one buffer shared by all connections).
READ_BYTES = 64 * 1024
_MAX_LENGTH_DIGITS = 10
UDP_RECEIVE_BUFFER = 8 * 1024 * 1024
FLUSH_SECONDS = 0.2
#: Most messages the worker takes from the queue at once (those of one sender are parsed together).
WORK_BATCH = 64
#: At a stop, a connection is closed once it sent nothing for this long (or at its end of stream).
QUIET_SECONDS = 0.2
#: At a stop, a connection that keeps sending is closed after this much reading (paused time not counted).
STOP_READ_SECONDS = 10.0
#: After a second signal, how long the worker may take to hand over before the listener exits anyway.
HARD_STOP_SECONDS = 2.0
STOP_GRACE_SECONDS = 1.0
_EVERYWHERE = ("0.0.0.0", "::", "")

Frame = tuple[str, bytes, tuple[str, ...]]  # (peer, message bytes, problems)


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:514`` for IPv6, ``:514`` for every interface) -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"bad address {text!r}: use HOST:PORT, e.g. 127.0.0.1:5514")
    return host.strip("[]") or "0.0.0.0", int(port)


def _addresses(addresses: tuple[str, ...]) -> list[tuple[str, int]]:
    return [parse_address(address) for address in addresses]


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(texts: tuple[str, ...]) -> list[Network]:
    """``--allow`` values (``10.0.0.0/8``, ``192.0.2.7``, ``::1``) -> networks."""
    networks: list[Network] = []
    for text in texts:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise ConfigError(f"bad --allow {text!r}: give an address or a CIDR block, e.g. 10.1.2.0/24") from None
    return networks


@dataclass(frozen=True)
class ListenConfig:
    """Where the listener listens, whom it accepts and how much it buffers."""

    udp: tuple[str, ...] = setting((), flag="--udp", metavar="HOST:PORT", repeat=True, check=parsed_by(_addresses),
                                   help="UDP address (repeatable)")
    tcp: tuple[str, ...] = setting((), flag="--tcp", metavar="HOST:PORT", repeat=True, check=parsed_by(_addresses),
                                   help="TCP address (repeatable)")
    allow: tuple[str, ...] = setting(
        (), flag="--allow", metavar="CIDR", repeat=True, check=parsed_by(parse_networks),
        help="accept messages only from these addresses or networks (repeatable); others are refused and "
             "counted (default: every sender)")
    queue_size: int = setting(DEFAULT_QUEUE, flag="--queue-size", metavar="N", parse=integer, check=positive,
                              help=f"messages buffered between sockets and parser (default {DEFAULT_QUEUE})")
    max_buffer: int = setting(
        DEFAULT_MAX_BUFFER, flag="--max-buffer", metavar="BYTES", parse=integer, check=positive,
        help="bytes held for messages waiting to be parsed and incomplete frames of all connections "
             f"(default {DEFAULT_MAX_BUFFER}); when full, TCP reading pauses and UDP datagrams are dropped")
    max_frame: int = setting(
        DEFAULT_MAX_FRAME, flag="--max-frame", metavar="BYTES", parse=integer, check=positive,
        help=f"longest message kept; longer ones are cut and tagged (default {DEFAULT_MAX_FRAME})")
    max_connections: int = setting(
        DEFAULT_MAX_CONNECTIONS, flag="--max-connections", metavar="N", parse=integer, check=positive,
        help=f"TCP connections at once; more are refused and counted (default {DEFAULT_MAX_CONNECTIONS})")

    def __post_init__(self) -> None:
        validate(self)
        if not self.udp and not self.tcp:
            raise ConfigError("give at least one --udp or --tcp address")


class DriverSink:
    """The listener's records into a connectors :class:`~esalog.connectors.base.Driver` (stdout, file, HEC,
    Elasticsearch): batching, retries, dead letters and delivery counters come from there."""

    def __init__(self, choice: SinkChoice, delivery: DeliveryConfig, *, keep_original: bool = True,
                 sourcetypes: Mapping[str, str] | None = None) -> None:
        sink = build_sink(choice, delivery, keep_original=keep_original, sourcetypes=sourcetypes)
        self.driver: Driver = build_driver(sink, delivery, Ledger())
        self.report_interval = delivery.report_interval
        sink.open()
        self.driver.start()
        # Elasticsearch ids are derived from (origin, index): a live stream is never replayed, so each run
        # gets its own origin and a second run cannot collide with the documents of the first.
        self._origin = f"listen:{uuid.uuid4().hex}"
        self._index = 0
        self.closed = False

    def write_messages(self, records: list[Record], ends: list[int], lines: list[bytes] | None = None) -> None:
        """The events of consecutive messages: message *n*'s are ``records[ends[n - 1]:ends[n]]``; *lines*,
        the messages themselves, are kept by the dead letter (when there is one) as its replay source."""
        first, origin = self._index, self._origin

        def where(message: int) -> str:
            return f"{origin}:{first + message}"

        tickets: list[LineTicket | None] = [None] * len(ends)
        if lines is not None and self.driver.dead_letter.path:
            for index, line in enumerate(lines):
                ticket = tickets[index] = LineTicket(None, "", "", 0, 1)
                ticket.line = line
        self.driver.submit_lines(records, ends, where, tickets)
        self._index += len(ends)

    def flush(self) -> None:
        self.driver.tick()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.driver.close()


@dataclass
class ListenStats:
    """What the listener received, what it refused and what it had to drop."""

    received: int = 0  # messages taken in (parsed, or counted in dropped at a hard stop)
    dropped: int = 0  # messages lost: UDP queue or socket buffer full, not parsed at a hard stop
    truncated: int = 0  # messages cut at --max-frame or by the buffer budget (tagged esalog_truncated)
    partial: int = 0  # frames cut short by the end of their connection (tagged esalog_partial)
    refused: int = 0  # connections and datagrams refused (--allow, --max-connections)
    peers: int = 0  # peer streams opened
    peak_bytes: int = 0  # the most bytes held at once (queue and incomplete frames)


# ------------------------------------------------------------------------------------------- framing


class Framer:
    """RFC 6587 framing of one TCP stream, fed as bytes arrive.

    A frame that starts with 1 to 10 digits and a space is octet-counted (``LEN SP MSG``); anything else,
    a line of digits alone included, ends at LF. At most ``max_frame`` bytes of a frame are kept: a longer
    newline frame is handed on as soon as it is that long (flagged ``line_too_long``) and its rest skipped;
    the rest of a longer octet-counted frame likewise. ``held`` is what waits for the end of a frame.
    """

    __slots__ = ("_buf", "_declared", "_need", "_skip", "_skip_line", "max_frame")

    def __init__(self, max_frame: int) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()
        self._need: int | None = None  # octet counting: bytes of the body still to come (kept part)
        self._declared = 0  # octet counting: the length the frame declared
        self._skip = 0  # octet counting: bytes of an over-long body to skip
        self._skip_line = False  # newline framing: skipping the rest of an over-long line

    @property
    def held(self) -> int:
        """Bytes received and not yet framed (a message still incomplete)."""
        return len(self._buf)

    def feed(self, data: bytes | memoryview) -> list[tuple[bytes, tuple[str, ...]]]:
        """The frames completed by *data*, each with its problems (``line_too_long``)."""
        out: list[tuple[bytes, tuple[str, ...]]] = []
        buf = self._buf
        buf += data
        limit = self.max_frame
        i = 0
        end = len(buf)
        while i < end:
            if self._skip:
                n = min(self._skip, end - i)
                i += n
                self._skip -= n
                continue
            if self._skip_line:
                j = buf.find(b"\n", i)
                if j < 0:
                    i = end
                    break
                i = j + 1
                self._skip_line = False
                continue
            if self._need is not None:
                if end - i < self._need:
                    break
                out.append((bytes(buf[i : i + self._need]), ("line_too_long",) if self._declared > self._need else ()))
                i += self._need
                self._skip = self._declared - self._need
                self._need = None
                continue
            if 48 <= buf[i] <= 57:  # digits: octet counting if a space follows them
                j = i
                while j < end and j - i <= _MAX_LENGTH_DIGITS and 48 <= buf[j] <= 57:
                    j += 1
                if j == end and j - i <= _MAX_LENGTH_DIGITS:
                    break  # wait for what follows the digits
                if buf[j] == 32 and j - i <= _MAX_LENGTH_DIGITS:
                    self._declared = int(buf[i:j])
                    self._need = min(self._declared, limit)
                    i = j + 1
                    if not self._need:  # "0 ": an empty message
                        out.append((b"", ()))
                        self._need = None
                    continue
            j = buf.find(b"\n", i)
            if j < 0:
                if end - i > limit:
                    out.append((bytes(buf[i : i + limit]), ("line_too_long",)))
                    self._skip_line = True
                    i = end
                break
            if j - i > limit:
                out.append((bytes(buf[i : i + limit]), ("line_too_long",)))
            else:
                out.append((bytes(buf[i:j]), ()))
            i = j + 1
        del buf[:i]
        return out

    def cut(self) -> tuple[bytes, tuple[str, ...]] | None:
        """Hand on what is held of the current frame now (flagged ``line_too_long``) and skip its rest."""
        if not self._buf:
            return None
        frame = bytes(self._buf)
        self._buf.clear()
        if self._need is not None:
            self._skip = self._declared - len(frame)
            self._need = None
        else:
            self._skip_line = True
        return frame, ("line_too_long",)

    def finish(self, *, eof: bool) -> tuple[bytes, tuple[str, ...]] | None:
        """What is held when the stream ends (*eof*: the sender closed; else the listener stops).

        A last line without LF at the sender's close is a whole message; a frame cut short otherwise (an
        octet-counted frame with fewer bytes than declared, a line at a stop) is flagged ``partial``.
        """
        frame = bytes(self._buf)
        self._buf.clear()
        if self._need is not None:
            self._need = None
            return frame, ("partial",)
        if not frame:
            return None
        return frame, (() if eof else ("partial",))


class FrameQueue:
    """Messages between the event loop and the worker thread, bounded in bytes and in count."""

    def __init__(self, max_bytes: int, max_count: int) -> None:
        self.max_bytes = max_bytes
        self.max_count = max_count
        self._items: deque[Frame | None] = deque()
        self.bytes = 0
        self._cond = threading.Condition()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def full(self) -> bool:
        return self.bytes >= self.max_bytes or len(self._items) >= self.max_count

    @property
    def roomy(self) -> bool:
        """Half empty again (reading resumes then: hysteresis)."""
        return self.bytes <= self.max_bytes // 2 and len(self._items) <= self.max_count // 2

    def put(self, item: Frame | None) -> None:
        """Append even when full (TCP data already read); the caller pauses reading then."""
        with self._cond:
            self._items.append(item)
            if item is not None:
                self.bytes += len(item[1]) + FRAME_OVERHEAD
            self._cond.notify()

    def offer(self, item: Frame) -> bool:
        """Append unless full (UDP: the caller counts a refusal as dropped)."""
        with self._cond:
            if self._items and self.full:
                return False
        self.put(item)
        return True

    def get(self, timeout: float, most: int) -> list[Frame | None] | None:
        """The items queued, at most *most* (after waiting up to *timeout* for one); None when none came.
        The end marker (None) is always the last item of a list."""
        with self._cond:
            items = self._items
            if not items and not self._cond.wait_for(lambda: bool(items), timeout):
                return None
            taken: list[Frame | None] = []
            while items and len(taken) < most:
                item = items.popleft()
                taken.append(item)
                if item is None:
                    break
                self.bytes -= len(item[1]) + FRAME_OVERHEAD
            return taken


# ------------------------------------------------------------------------------------------ listener


class Listener:
    """The sockets (event loop), the byte-bounded queue and the worker thread that parses and delivers."""

    def __init__(self, pipeline: Pipeline, sink: DriverSink, config: ListenConfig,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.pipeline = pipeline
        self.sink = sink
        self.config = config
        self.loop = loop
        self.max_frame = config.max_frame
        self.queue = FrameQueue(config.max_buffer, config.queue_size)
        self.partial_budget = max(config.max_buffer // 2, config.max_frame)
        self.partial_bytes = 0
        self.networks = parse_networks(config.allow) or None
        self.streams: OrderedDict[str, Stream] = OrderedDict()
        self.stats = ListenStats()
        self.bound: list[str] = []
        self.connections: set[_Connection] = set()
        self.paused = False
        self.stopping = False  # a stop began: connections end as soon as they are quiet
        self.hard = False  # a second signal, or the sink cannot work: drop what is not parsed
        self.read_buffer = bytearray(READ_BYTES)
        self._servers: list[asyncio.AbstractServer] = []
        self._transports: list[asyncio.DatagramTransport] = []
        self._udp_inodes: list[int] = []
        self._last_datagram = 0.0
        self._resume_scheduled = False
        self._lock = threading.Lock()
        self._discarded = 0  # counted by the worker: messages not parsed at a hard stop
        self.error: BaseException | None = None
        self._worker = threading.Thread(target=self._work, name="esalog-listen-worker", daemon=True)
        self.done = asyncio.Event()
        self.fatal = asyncio.Event()

    # -- receiving (event loop) ------------------------------------------------------------------

    async def start_udp(self, host: str, port: int) -> None:
        """Listen for syslog datagrams on *host*:*port* (its address is added to ``bound``)."""
        transport, _ = await self.loop.create_datagram_endpoint(lambda: _Datagrams(self), local_addr=(host, port))
        sock = transport.get_extra_info("socket")
        _enlarge_receive_buffer(sock, UDP_RECEIVE_BUFFER)
        self._udp_inodes.append(os.fstat(sock.fileno()).st_ino)
        self._transports.append(transport)
        self.bound.append("udp://{}:{}".format(*transport.get_extra_info("sockname")[:2]))

    async def start_tcp(self, host: str, port: int) -> None:
        """Listen for syslog TCP connections on *host*:*port* (their addresses are added to ``bound``)."""
        server = await self.loop.create_server(lambda: _Connection(self), host, port, backlog=256)
        self._servers.append(server)
        for sock in server.sockets:
            self.bound.append("tcp://{}:{}".format(*sock.getsockname()[:2]))

    def allowed(self, peer: str) -> bool:
        """Whether *peer* may send (``--allow`` networks; an IPv4-mapped IPv6 address counts as IPv4)."""
        if self.networks is None:
            return True
        try:
            address = ipaddress.ip_address(peer.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def kernel_drops(self) -> int:
        """Datagrams the kernel dropped because a socket buffer was full (Linux ``/proc/net/udp*``)."""
        return sum(udp_socket_drops(inode) for inode in self._udp_inodes)

    def offer(self, peer: str, frame: bytes, problems: tuple[str, ...]) -> None:
        """A datagram: queued unless the queue is full (then counted as dropped)."""
        self._last_datagram = time.monotonic()
        if self.hard:
            self.stats.dropped += 1
            return
        if self.queue.offer((peer, frame, problems)):
            self._received(problems)
        else:
            self.stats.dropped += 1

    def enqueue(self, peer: str, frame: bytes, problems: tuple[str, ...]) -> None:
        """A TCP message (already read: never refused); reading pauses when the queue is full."""
        self.queue.put((peer, frame, problems))
        self._received(problems)
        if self.queue.full and not self.paused:
            self.pause()

    def _received(self, problems: tuple[str, ...]) -> None:
        self.stats.received += 1
        if "line_too_long" in problems:
            self.stats.truncated += 1
        if "partial" in problems:
            self.stats.partial += 1
        held = self.queue.bytes + self.partial_bytes
        if held > self.stats.peak_bytes:
            self.stats.peak_bytes = held

    def pause(self) -> None:
        """Stop reading every TCP connection (the queue is full: back-pressure on the senders)."""
        self.paused = True
        for connection in self.connections:
            connection.pause()

    def resume(self) -> None:
        """Read the TCP connections again once the queue has room."""
        self._resume_scheduled = False
        if self.paused and self.queue.roomy:
            self.paused = False
            for connection in list(self.connections):
                connection.resume()

    # -- parsing and delivering (worker thread) -----------------------------------------------------

    def start_worker(self) -> None:
        """Start the thread that parses the queued messages and hands their events to the driver."""
        self._worker.start()

    def _stream(self, peer: str) -> Stream:
        streams = self.streams
        stream = streams.get(peer)
        if stream is None:
            stream = streams[peer] = self.pipeline.open_stream(f"syslog:{peer}")
            self.stats.peers += 1
            if len(streams) > MAX_STREAMS:
                streams.popitem(last=False)
        else:
            streams.move_to_end(peer)
        return stream

    def handle(self, frames: list[Frame]) -> None:
        """Parse received messages (by the compiled core where there is one), those of one sender in a row
        together, and hand their events to the sink."""
        start = 0
        while start < len(frames):
            peer = frames[start][0]
            end = start + 1
            while end < len(frames) and frames[end][0] == peer:
                end += 1
            self._handle_peer(peer, frames[start:end])
            start = end

    def _handle_peer(self, peer: str, frames: list[Frame]) -> None:
        raws = [frame.rstrip(b"\r\n") for _, frame, _ in frames]
        problems = {index: found for index, (_, _, found) in enumerate(frames) if found}
        pipeline = self.pipeline
        stream = self._stream(peer)
        if pipeline.core is not None:  # --stateless: the core's events, encoded already
            records, ends = records_native(pipeline, raws, problems, stream)
        elif pipeline.record_core is not None:
            records, ends = records_staged(pipeline, raws, problems, stream)
        else:
            decoded = [decode_line(raw) for raw in raws]
            flagged = {index: (*problems.get(index, ()), *found) for index, (_, found) in enumerate(decoded)}
            ends = []
            records = pipeline.process_lines([text for text, _ in decoded], stream, flagged, ends)
        self.sink.write_messages(records, ends, raws)

    def _work(self) -> None:
        driver = self.sink.driver
        try:
            while True:
                items = self.queue.get(FLUSH_SECONDS, WORK_BATCH)
                if items is None:  # idle: let the sink send what has waited long enough
                    self.sink.flush()
                    self._check_fatal(driver)
                    continue
                end = items[-1] is None
                frames = [item for item in items if item is not None]
                if self.hard:
                    self._discarded += len(frames)
                else:
                    self.handle(frames)
                    self._check_fatal(driver)
                if end:
                    break
                if self.paused and not self._resume_scheduled and self.queue.roomy:
                    self._resume_scheduled = True
                    self.loop.call_soon_threadsafe(self.resume)
                if not len(self.queue):
                    self.sink.flush()
            if not self.hard:
                summaries = list(self.pipeline.flush())
                self.sink.write_messages(summaries, list(range(1, len(summaries) + 1)))
            self.sink.close()
        except BaseException as exc:  # a bug: reported by serve, never silent
            self.error = exc
            raise
        finally:
            self.loop.call_soon_threadsafe(self.done.set)

    def _check_fatal(self, driver: Driver) -> None:
        if driver.fatal and not self.hard:
            self.hard = True
            self.loop.call_soon_threadsafe(self.fatal.set)

    # -- stopping (event loop) --------------------------------------------------------------------

    def hard_stop(self) -> None:
        """A second signal (or a sink that cannot work): end retries, drop what is not parsed yet."""
        self.hard = True
        self.sink.driver.abort()
        for connection in list(self.connections):
            connection.close()
        self.resume()

    async def stop(self) -> None:
        """Stop receiving; read what was sent; let the worker parse and deliver everything received."""
        self.stopping = True
        for server in self._servers:
            server.close()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while not self.hard and time.monotonic() - self._last_datagram < 0.1 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)  # datagrams still in the socket buffers are read first
        self.stats.dropped += self.kernel_drops()
        for transport in self._transports:
            transport.close()
        reading_until = time.monotonic() + STOP_READ_SECONDS
        while self.connections:
            now = time.monotonic()
            if self.paused:
                reading_until += 0.05  # waiting for the sink is not reading time
            for connection in list(self.connections):
                quiet = not self.paused and now - connection.last_data >= QUIET_SECONDS
                if self.hard or now >= reading_until or quiet:
                    connection.close()
            await asyncio.sleep(0.05)
        self.queue.put(None)

    def finish_counts(self) -> None:
        """Count the messages discarded unparsed (a hard stop) as dropped."""
        self.stats.dropped += self._discarded
        self._discarded = 0


class _Connection(asyncio.BufferedProtocol):
    """One TCP connection: bytes into its :class:`Framer`, frames into the listener's queue."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.framer = Framer(listener.max_frame)
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.last_data = time.monotonic()
        self.paused = False
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        listener = self.listener
        peer = transport.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else "?"
        if (listener.stopping or not listener.allowed(self.peer)
                or len(listener.connections) >= listener.config.max_connections):
            listener.stats.refused += 1
            self.closed = True
            transport.abort()
            return
        listener.connections.add(self)
        if listener.paused:
            self.pause()

    def get_buffer(self, sizehint: int) -> memoryview:
        return memoryview(self.listener.read_buffer)

    def buffer_updated(self, nbytes: int) -> None:
        listener = self.listener
        self.last_data = time.monotonic()
        framer = self.framer
        before = framer.held
        frames = framer.feed(memoryview(listener.read_buffer)[:nbytes])
        listener.partial_bytes += framer.held - before
        if framer.held and listener.partial_bytes > listener.partial_budget:
            # incomplete frames of all connections hold too much: this one's is handed on as it is
            listener.partial_bytes -= framer.held
            cut = framer.cut()
            if cut is not None:
                frames.append(cut)
        for frame, problems in frames:
            listener.enqueue(self.peer, frame, problems)

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        listener = self.listener
        if self not in listener.connections:
            return
        listener.connections.discard(self)
        held = self.framer.held
        listener.partial_bytes -= held
        tail = self.framer.finish(eof=not self.closed)
        if tail is not None:
            listener.enqueue(self.peer, *tail)

    def pause(self) -> None:
        if not self.paused and self.transport is not None and not self.closed:
            self.paused = True
            with contextlib.suppress(RuntimeError):
                self.transport.pause_reading()

    def resume(self) -> None:
        if self.paused and self.transport is not None and not self.closed:
            self.paused = False
            self.last_data = time.monotonic()
            with contextlib.suppress(RuntimeError):
                self.transport.resume_reading()

    def close(self) -> None:
        """End the connection from our side (a stop): what it holds becomes a partial frame."""
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()


def _enlarge_receive_buffer(sock: socket.socket, size: int) -> None:
    """Room for bursts: SO_RCVBUFFORCE when allowed (root), else SO_RCVBUF (capped by rmem_max)."""
    force = getattr(socket, "SO_RCVBUFFORCE", None)
    try:
        if force is None:
            raise PermissionError
        sock.setsockopt(socket.SOL_SOCKET, force, size)
    except OSError:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


def udp_socket_drops(inode: int) -> int:
    """The kernel's drop counter of the UDP socket with this inode; 0 where /proc is not there."""
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table) as handle:
                next(handle, None)
                for row in handle:
                    cols = row.split()
                    if len(cols) >= 13 and cols[9] == str(inode):
                        return int(cols[12])
        except OSError:
            continue
    return 0


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, listener: Listener) -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        listener = self.listener
        peer = str(addr[0])
        if not listener.allowed(peer):
            listener.stats.refused += 1
            return
        if len(data) > listener.max_frame:
            listener.offer(peer, data[: listener.max_frame], ("line_too_long",))
        else:
            listener.offer(peer, data, ())


def _warn_everywhere(config: ListenConfig) -> None:
    if config.allow:
        return
    for kind, addresses in (("--udp", config.udp), ("--tcp", config.tcp)):
        for address in addresses:
            if parse_address(address)[0] in _EVERYWHERE:
                warn(f"{kind} {address} listens on every interface: anyone who can reach this host can send "
                     "events; bind one address (e.g. 10.1.2.3:5514) or accept only the appliances with --allow CIDR")


#: accept() errors asyncio survives (it pauses accepting for a second) but reports with a traceback
_ACCEPT_LIMITS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def _loop_errors(config: ListenConfig) -> Any:
    """The event loop's exception handler: running out of descriptors while accepting is one warning line
    (the first time), not a traceback every second; anything else goes to asyncio's own handler."""
    warned: set[int] = set()

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in _ACCEPT_LIMITS and "socket" in context:
            if exc.errno not in warned:
                warned.add(exc.errno)
                warn(f"cannot accept a TCP connection: {exc.strerror}; new connections wait until some close "
                     f"(raise the open-file limit, ulimit -n, or lower --max-connections, now "
                     f"{config.max_connections})")
            return
        loop.default_exception_handler(context)

    return handle


async def serve(config: ListenConfig, pipeline: Pipeline, sink: DriverSink) -> ListenStats:
    """Run until SIGTERM or SIGINT (or until the sink cannot work; SIGHUP reopens the output files); returns
    what was received."""
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_loop_errors(config))
    listener = Listener(pipeline, sink, config, loop)
    _warn_everywhere(config)
    starts = (("--udp", config.udp, listener.start_udp), ("--tcp", config.tcp, listener.start_tcp))
    for kind, addresses, start in starts:
        for address in addresses:
            try:
                await start(*parse_address(address))
            except OSError as exc:  # in use, not an address of this host, a name that does not resolve
                why = (os.strerror(exc.errno) if exc.errno and exc.errno > 0 and not isinstance(exc, socket.gaierror)
                       else exc.strerror or str(exc))
                raise ConfigError(f"cannot listen on {kind} {address}: {why}") from None
    stopping = asyncio.Event()
    signals = {"count": 0}

    def on_signal(sig: signal.Signals) -> None:
        signals["count"] += 1
        if signals["count"] == 1:
            print(f"esalog: {sig.name}: stopping: reading what was sent, delivering what was received "
                  "(again to give up at once)", file=sys.stderr, flush=True)
            stopping.set()
        else:
            print(f"esalog: {sig.name}: giving up: retries end, what is not parsed yet is dropped",
                  file=sys.stderr, flush=True)
            listener.hard_stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    loop.add_signal_handler(signal.SIGHUP, sink.driver.reopen_files)  # logrotate: --out, --dead-letter
    listener.start_worker()
    reporter = RetryReporter(sink.driver, sink.report_interval, lambda: (
        f"{len(listener.queue):,} messages ({listener.queue.bytes:,} bytes) waiting"
        + ("; TCP reading paused (back-pressure)" if listener.paused else ""))).start()
    print(f"esalog: listening on {' '.join(listener.bound)}", file=sys.stderr, flush=True)
    try:
        waiters = {asyncio.create_task(stopping.wait()), asyncio.create_task(listener.fatal.wait()),
                   asyncio.create_task(listener.done.wait())}
        _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if listener.fatal.is_set() or listener.done.is_set():
            listener.hard_stop()  # the sink cannot work: stop at once
        await listener.stop()
        while not listener.done.is_set():
            if listener.hard:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(listener.done.wait(), HARD_STOP_SECONDS)
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listener.done.wait(), 0.1)
    finally:
        reporter.stop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
    listener.finish_counts()
    if listener.error is not None:
        raise listener.error
    return listener.stats
