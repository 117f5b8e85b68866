"""``esalog listen``: receive the ESA syslog push on UDP and TCP and ship the events, no syslog daemon needed.

* RFC 3164 (``<PRI>Mmm dd hh:mm:ss host app: ...``) and RFC 5424 messages; the header stage reads both.
* TCP framing per RFC 6587: newline-terminated, or octet-counted (``LEN SP MSG``), chosen per frame.
* One parser stream per sending appliance (peer address): its ``Time offset from UTC`` header, version and
  serial number apply to its own lines only; the stages (session tracking) key their state by appliance.
* Bounded memory: one bounded queue between the sockets and the parser (TCP readers wait when it is full;
  UDP datagrams that find it full are counted as dropped, and so are those the kernel dropped from a
  full socket buffer (8 MiB asked for); any drop makes the exit code 1). Frames longer than
  ``--max-frame`` are cut and tagged ``esalog_truncated``.
* SIGTERM / SIGINT: stop accepting, read the datagrams still in the socket buffers, give open TCP
  connections a second to hand over what they have buffered, parse what is queued, flush the stages and
  the sink, then exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from esalog.connectors.base import Driver
from esalog.connectors.config import DeliveryConfig, SinkChoice, build_driver, build_sink
from esalog.errors import ConfigError
from esalog.parsers.parser import Stream
from esalog.parsers.record import Record
from esalog.pipeline import Pipeline
from esalog.settings import integer, parsed_by, positive, setting, validate
from esalog.sources.checkpoint import Ledger
from esalog.sources.lines import decode_line

DEFAULT_QUEUE = 10_000
DEFAULT_MAX_FRAME = 256 * 1024
_MAX_LENGTH_DIGITS = 10
STOP_GRACE_SECONDS = 1.0
UDP_RECEIVE_BUFFER = 8 * 1024 * 1024
FLUSH_SECONDS = 0.2


class Sink(Protocol):
    """Where the listener's records go."""

    def write(self, record: Record) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:514`` for IPv6) -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"bad address {text!r}: use HOST:PORT, e.g. 127.0.0.1:5514")
    return host.strip("[]") or "0.0.0.0", int(port)


def _addresses(addresses: tuple[str, ...]) -> list[tuple[str, int]]:
    return [parse_address(address) for address in addresses]


@dataclass(frozen=True)
class ListenConfig:
    """Where the listener listens and how much it buffers."""

    udp: tuple[str, ...] = setting((), flag="--udp", metavar="HOST:PORT", repeat=True, check=parsed_by(_addresses),
                                   help="UDP address (repeatable)")
    tcp: tuple[str, ...] = setting((), flag="--tcp", metavar="HOST:PORT", repeat=True, check=parsed_by(_addresses),
                                   help="TCP address (repeatable)")
    queue_size: int = setting(DEFAULT_QUEUE, flag="--queue-size", metavar="N", parse=integer, check=positive,
                              help=f"messages buffered between sockets and parser (default {DEFAULT_QUEUE})")
    max_frame: int = setting(
        DEFAULT_MAX_FRAME, flag="--max-frame", metavar="BYTES", parse=integer, check=positive,
        help=f"longest message kept; longer ones are cut and tagged (default {DEFAULT_MAX_FRAME})")

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
        sink.open()
        self.driver.start()
        # Elasticsearch ids are derived from (origin, index): a live stream is never replayed, so each run
        # gets its own origin and a second run cannot collide with the documents of the first.
        self._origin = f"listen:{uuid.uuid4().hex}"
        self._index = 0

    def write(self, record: Record) -> None:
        self._index += 1
        self.driver.submit(record, self._origin, self._index, None)

    def flush(self) -> None:
        self.driver.tick()

    def close(self) -> None:
        self.driver.close()


@dataclass
class ListenStats:
    """What the listener received and what it had to drop."""

    received: int = 0
    dropped: int = 0
    truncated: int = 0
    peers: set[str] = field(default_factory=set)


class Listener:
    """The sockets, the bounded queue and the one consumer that parses and writes."""

    def __init__(self, pipeline: Pipeline, sink: Sink, queue_size: int = DEFAULT_QUEUE,
                 max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.pipeline = pipeline
        self.sink = sink
        self.max_frame = max_frame
        self.queue: asyncio.Queue[tuple[str, bytes, bool] | None] = asyncio.Queue(queue_size)
        self.streams: dict[str, Stream] = {}
        self.stats = ListenStats()
        self.bound: list[str] = []
        self._servers: list[asyncio.AbstractServer] = []
        self._transports: list[asyncio.BaseTransport] = []
        self._connections: set[asyncio.Task[Any]] = set()
        self._udp_inodes: list[int] = []
        self._last_datagram = 0.0

    # -- receiving ---------------------------------------------------------------------------

    async def start_udp(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(self), local_addr=(host, port))
        sock = transport.get_extra_info("socket")
        _enlarge_receive_buffer(sock, UDP_RECEIVE_BUFFER)
        self._udp_inodes.append(os.fstat(sock.fileno()).st_ino)
        self._transports.append(transport)
        self.bound.append("udp://{}:{}".format(*transport.get_extra_info("sockname")[:2]))

    def kernel_drops(self) -> int:
        """Datagrams the kernel dropped because a socket buffer was full (Linux ``/proc/net/udp*``)."""
        return sum(udp_socket_drops(inode) for inode in self._udp_inodes)

    async def start_tcp(self, host: str, port: int) -> None:
        server = await asyncio.start_server(self._serve_tcp, host, port, limit=self.max_frame + 16)
        self._servers.append(server)
        for sock in server.sockets:
            self.bound.append("tcp://{}:{}".format(*sock.getsockname()[:2]))

    def offer(self, peer: str, frame: bytes, truncated: bool = False) -> None:
        """Queue a datagram without waiting; count it as dropped when the queue is full."""
        self._last_datagram = time.monotonic()
        try:
            self.queue.put_nowait((peer, frame, truncated))
        except asyncio.QueueFull:
            self.stats.dropped += 1

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = writer.get_extra_info("peername")[0]
        try:
            while True:
                frame = await self._read_frame(reader)
                if frame is None:
                    break
                await self.queue.put((peer, *frame))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _read_frame(self, reader: asyncio.StreamReader) -> tuple[bytes, bool] | None:
        """One message from a TCP stream: octet-counted when it starts with a digit, else up to LF."""
        first = await reader.read(1)
        if not first:
            return None
        if first.isdigit():
            digits = first
            while len(digits) <= _MAX_LENGTH_DIGITS:
                char = await reader.readexactly(1)
                if char == b" ":
                    length = int(digits)
                    keep = min(length, self.max_frame)
                    body = await reader.readexactly(keep)
                    rest = length - keep
                    while rest:
                        rest -= len(await reader.readexactly(min(rest, 65536)))
                    return body, length > keep
                if not char.isdigit():
                    digits += char
                    break
                digits += char
            # not octet counting after all: the digits start a newline-terminated message
            line, cut = await self._read_line(reader)
            return digits + line, cut
        line, cut = await self._read_line(reader)
        return first + line, cut

    async def _read_line(self, reader: asyncio.StreamReader) -> tuple[bytes, bool]:
        try:
            return (await reader.readuntil(b"\n")), False
        except asyncio.LimitOverrunError:
            head = await reader.readexactly(self.max_frame)
            while True:  # skip the rest of the oversized line
                try:
                    await reader.readuntil(b"\n")
                    return head, True
                except asyncio.LimitOverrunError as exc:
                    await reader.readexactly(exc.consumed)
        except asyncio.IncompleteReadError as exc:  # last line without LF at connection close
            if not exc.partial:
                raise
            return exc.partial, False

    # -- parsing and writing ------------------------------------------------------------------

    def _stream(self, peer: str) -> Stream:
        stream = self.streams.get(peer)
        if stream is None:
            stream = self.streams[peer] = self.pipeline.open_stream(f"syslog:{peer}")
            self.stats.peers.add(peer)
        return stream

    def handle(self, peer: str, frame: bytes, truncated: bool) -> None:
        """Parse one received message and write its events."""
        frame = frame.rstrip(b"\r\n")
        if truncated:
            frame = frame[: self.max_frame]
            self.stats.truncated += 1
        text, problems = decode_line(frame)
        if truncated:
            problems = (*problems, "line_too_long")
        self.stats.received += 1
        for record in self.pipeline.process(text, self._stream(peer), problems):
            self.sink.write(record)

    async def consume(self) -> None:
        """Drain the queue until the end marker; flush the sink whenever the queue runs empty or idles."""
        while True:
            try:
                item = await asyncio.wait_for(self.queue.get(), timeout=FLUSH_SECONDS)
            except TimeoutError:  # idle: let the sink send what has waited long enough
                self.sink.flush()
                continue
            if item is None:
                return
            self.handle(*item)
            if self.queue.empty():
                self.sink.flush()

    async def stop(self) -> None:
        """Stop receiving; parse everything already queued; flush stages and sink."""
        for server in self._servers:
            server.close()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() - self._last_datagram < 0.1 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)  # datagrams still in the socket buffers are read first
        self.stats.dropped += self.kernel_drops()
        for transport in self._transports:
            transport.close()
        if self._connections:  # let open connections hand over what is already buffered
            await asyncio.wait(list(self._connections), timeout=STOP_GRACE_SECONDS)
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self.queue.put(None)


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
        cut = len(data) > self.listener.max_frame
        self.listener.offer(str(addr[0]), data, cut)


async def serve(config: ListenConfig, pipeline: Pipeline, sink: Sink) -> ListenStats:
    """Run until SIGTERM or SIGINT; returns what was received."""
    listener = Listener(pipeline, sink, config.queue_size, config.max_frame)
    for address in config.udp:
        await listener.start_udp(*parse_address(address))
    for address in config.tcp:
        await listener.start_tcp(*parse_address(address))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    consumer = asyncio.create_task(listener.consume())
    print(f"esalog: listening on {' '.join(listener.bound)}", file=sys.stderr, flush=True)
    stop_waiter = asyncio.create_task(stopping.wait())
    done, _ = await asyncio.wait({consumer, stop_waiter}, return_when=asyncio.FIRST_COMPLETED)
    if consumer in done:  # the consumer failed: surface its exception
        stop_waiter.cancel()
        consumer.result()
    await listener.stop()
    await consumer
    for record in pipeline.flush():
        sink.write(record)
    sink.flush()
    return listener.stats
