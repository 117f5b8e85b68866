"""A threaded HTTP/1.1 server on 127.0.0.1 (port 0) with scripted fault injection, shared by the fakes."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    """One scripted misbehaviour, applied to ``times`` data requests after skipping ``after`` of them."""

    kind: str  # status | reset | slow | trickle | trickle_headers | down | item_status | lose_acks
    times: int = 1
    after: int = 0
    status: int = 503
    retry_after: float | None = None
    seconds: float = 0.0
    every: int = 1
    body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None


@dataclass
class Request:
    """What a handler sees."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Reply:
    status: int
    body: Any = None  # dict/list (JSON) or bytes
    headers: dict[str, str] = field(default_factory=dict)


class Faults:
    """The fault script of a fake: faults apply in the order added, to data requests only."""

    def __init__(self) -> None:
        self._script: deque[Fault] = deque()
        self._lock = threading.Lock()
        self.marker: bytes | None = None  # an event containing these bytes is refused (a bad event)
        self.applied: list[str] = []  # kinds applied, in order (tests check the fault really happened)

    def status(
        self,
        status: int,
        *,
        times: int = 1,
        after: int = 0,
        retry_after: float | None = None,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Faults:
        """Answer the next *times* data requests with *status* (e.g. a burst of 503, or 429 + Retry-After;
        a redirect with ``headers={"Location": ...}``)."""
        return self._add(Fault("status", times, after, status=status, retry_after=retry_after, body=body,
                               headers=headers))

    def reset(self, *, times: int = 1, after: int = 0) -> Faults:
        """Read part of the request body, then drop the connection without an answer."""
        return self._add(Fault("reset", times, after))

    def slow(self, seconds: float, *, times: int = 1, after: int = 0) -> Faults:
        """Answer only after *seconds*."""
        return self._add(Fault("slow", times, after, seconds=seconds))

    def trickle(self, seconds: float, *, times: int = 1, after: int = 0) -> Faults:
        """Send the answer one byte every *seconds* (every read is quick, the whole answer is not)."""
        return self._add(Fault("trickle", times, after, seconds=seconds))

    def trickle_headers(self, seconds: float, *, times: int = 1, after: int = 0) -> Faults:
        """Send the status line at once, then padding header lines one byte every *seconds*, without end (a
        slow-loris answer: it looks started, and never finishes)."""
        return self._add(Fault("trickle_headers", times, after, seconds=seconds))

    def down(self, seconds: float, *, after: int = 0) -> Faults:
        """Drop the connection and stop listening for *seconds* (connections are refused), then come back."""
        return self._add(Fault("down", 1, after, seconds=seconds))

    def item_status(self, status: int, *, times: int = 1, after: int = 0, every: int = 2) -> Faults:
        """Elasticsearch: in the next *times* bulk requests, every *every*-th item gets *status*."""
        return self._add(Fault("item_status", times, after, status=status, every=every))

    def lose_acks(self, *, times: int = 1, after: int = 0) -> Faults:
        """HEC with acks: answer 200 with an ackId but drop the events; the ack never turns true."""
        return self._add(Fault("lose_acks", times, after))

    def bad_event(self, marker: bytes) -> Faults:
        """Refuse every event whose bytes contain *marker* (HEC invalid-event-number, ES item 400)."""
        self.marker = marker
        return self

    def _add(self, fault: Fault) -> Faults:
        with self._lock:
            self._script.append(fault)
        return self

    def take(self) -> Fault | None:
        """The fault for the current data request, if any."""
        with self._lock:
            if not self._script:
                return None
            head = self._script[0]
            if head.after > 0:
                head.after -= 1
                return None
            head.times -= 1
            if head.times <= 0:
                self._script.popleft()
            self.applied.append(head.kind)
            return head

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._script)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], owner: FakeServer) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (timeout, reset) is part of the game, not an error to print."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def _serve(self, method: str) -> None:
        owner = self.server.owner
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(headers.get("content-length") or 0)
        fault = owner.faults.take() if owner.is_data_request(method, parts.path) else None
        if fault is not None and fault.kind in ("reset", "down"):
            self.rfile.read(length // 2)
            self._drop()
            if fault.kind == "down":
                owner.bounce(fault.seconds)
            return
        body = self.rfile.read(length) if length else b""
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "status":
            reply = Reply(fault.status, fault.body or owner.error_body(fault.status), dict(fault.headers or {}))
            if fault.retry_after is not None:
                reply.headers["Retry-After"] = str(int(fault.retry_after))
        else:
            try:
                reply = owner.handle(Request(method, parts.path, query, headers, body), fault)
            except Exception as exc:  # a bug in the fake: answer 500, visibly
                reply = Reply(500, {"error": f"fake server error: {exc!r}"})
        if fault is not None and fault.kind == "trickle":
            self._trickle(reply, fault.seconds)
            return
        if fault is not None and fault.kind == "trickle_headers":
            self._trickle_headers(reply, fault.seconds)
            return
        self._send(reply, method)

    def _trickle(self, reply: Reply, seconds: float) -> None:
        import orjson

        payload = reply.body if isinstance(reply.body, bytes) else orjson.dumps(reply.body)
        head = (f"HTTP/1.1 {reply.status} OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n").encode()
        owner = self.server.owner
        for byte in head + payload:
            if owner.stopped.wait(seconds):
                break
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:
                break
        self.close_connection = True

    def _trickle_headers(self, reply: Reply, seconds: float) -> None:
        owner = self.server.owner
        try:
            self.wfile.write(f"HTTP/1.1 {reply.status} OK\r\n".encode())
            self.wfile.flush()
            while not owner.stopped.wait(seconds):
                for byte in b"X-Padding: 0\r\n":
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True

    def _send(self, reply: Reply, method: str) -> None:
        import orjson

        payload = reply.body if isinstance(reply.body, bytes) else orjson.dumps(reply.body)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.headers.pop("Content-Type", "application/json; charset=UTF-8"))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload)

    def _drop(self) -> None:
        try:
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True


class FakeServer:
    """Base of the fakes: start/stop, ``url``, ``faults``; subclasses implement ``handle``."""

    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        self.faults = Faults()
        self.tls = tls  # (certificate file, key file): serve HTTPS
        self.port = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._bounce_lock = threading.Lock()
        self.requests = 0  # data requests answered or dropped
        self.stopped = threading.Event()  # set by stop(): a trickling answer ends

    # subclasses -----------------------------------------------------------------------------------

    def handle(self, request: Request, fault: Fault | None) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    def error_body(self, status: int) -> dict[str, Any]:
        return {"status": status}

    def is_data_request(self, method: str, path: str) -> bool:
        return method == "POST"

    # lifecycle --------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        self.stopped.clear()
        self._httpd = _HTTPServer(("127.0.0.1", self.port), self)
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._httpd.socket = context.wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        with httpd.connections_lock:
            for conn in list(httpd.connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def bounce(self, seconds: float) -> None:
        """Go down (refusing connections) for *seconds*, then listen again on the same port."""

        def run() -> None:
            with self._bounce_lock:
                self.stop()
                time.sleep(seconds)
                for _ in range(50):
                    try:
                        self.start()
                        return
                    except OSError:
                        time.sleep(0.1)

        threading.Thread(target=run, daemon=True).start()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        with self._bounce_lock:
            self.stop()


def serve_until_interrupted(server: FakeServer, banner: list[str], count: Callable[[], int],
                            what: str, prog: str) -> int:
    """Run *server* in the foreground for a person trying esalog out: print how to use it, then every few
    seconds how many *what* it holds, until Ctrl-C or SIGTERM. A port it cannot have is one line, exit 2."""
    import signal
    import sys

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        server.start()
    except (OSError, OverflowError) as exc:  # taken, not allowed, or not a port number
        why = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)).rstrip(".")
        print(f"{prog}: error: cannot listen on 127.0.0.1:{server.port}: {why}; give another --port "
              "(0 = any free port)", file=sys.stderr)
        return 2
    try:
        for line in banner:
            print(line.format(url=server.url), flush=True)
        shown = -1
        while not stop.wait(2.0):
            now = count()
            if now != shown:
                print(f"{now} {what}", flush=True)
                shown = now
    finally:
        server.stop()
    print(f"stopped: {count()} {what}", file=sys.stderr)
    return 0
