"""A protocol-faithful fake Splunk HTTP Event Collector (``with FakeHEC(token=...) as hec: hec.url``).

From the reference facts: ``Authorization: Splunk <token>`` (or Basic with the token as password),
401 code 2/3 and 403 code 4; concatenated JSON objects with or without newlines; gzip accepted,
other encodings 415; per-object validation with the partial-batch 400 (``invalid-event-number``:
earlier objects are indexed, later ones not); 413 over ``max_content_length``; ``/health`` (code 17,
no token check); indexer acknowledgement with channels (code 10/11, ``ackId`` per channel from 0,
``/ack`` answers and forgets true ids); ``/raw``; 404 on unknown paths.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import threading
import time
from typing import Any

import orjson

from esalog.testing._server import FakeServer, Fault, Reply, Request, serve_until_interrupted

_TEXT = {
    0: "Success",
    1: "Token disabled",
    2: "Token is required",
    3: "Invalid authorization",
    4: "Invalid token",
    5: "No data",
    6: "Invalid data format",
    7: "Incorrect index",
    8: "Internal server error",
    9: "Server is busy",
    10: "Data channel is missing",
    11: "Invalid data channel",
    12: "Event field is required",
    13: "Event field cannot be blank",
    14: "ACK is disabled",
    15: "Error in handling indexed fields",
    17: "HEC is healthy",
    18: "HEC is unhealthy, queues are full",
}
_ENVELOPE_KEYS = frozenset({"time", "host", "source", "sourcetype", "index", "event", "fields"})
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EVENT_PATHS = frozenset(
    {"/services/collector", "/services/collector/event", "/services/collector/event/1.0"}
)
_RAW_PATHS = frozenset({"/services/collector/raw", "/services/collector/raw/1.0"})
_HEALTH_PATHS = frozenset({"/services/collector/health", "/services/collector/health/1.0"})


def _answer(status: int, code: int, **extra: Any) -> Reply:
    return Reply(status, {"text": _TEXT.get(code, "Error"), "code": code, **extra})


class FakeHEC(FakeServer):
    """Fake HEC. ``events`` holds every indexed envelope (dicts) in arrival order."""

    def __init__(
        self,
        token: str = "00000000-0000-0000-0000-000000000000",
        *,
        ack: bool = False,
        ack_delay: float = 0.0,
        max_content_length: int = 838_860_800,
        tls: tuple[str, str] | None = None,
        allowed_indexes: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(tls)
        self.token = token
        self.ack = ack
        self.ack_delay = ack_delay
        self.max_content_length = max_content_length
        self.allowed_indexes = allowed_indexes
        self.unhealthy = False
        self._stored: list[bytes] = []  # indexed envelopes as received (see ``events``)
        self.raw: list[str] = []
        self.channels_seen: set[str] = set()
        self._acks: dict[str, dict[int, float | None]] = {}  # channel -> ack id -> ready time (None: lost)
        self._next_ack: dict[str, int] = {}
        self._data_lock = threading.Lock()

    def error_body(self, status: int) -> dict[str, Any]:
        code = {500: 8, 503: 9}.get(status, status)
        return {"text": _TEXT.get(code, "Error"), "code": code}

    def is_data_request(self, method: str, path: str) -> bool:
        return method == "POST" and (path in _EVENT_PATHS or path in _RAW_PATHS)

    # ---------------------------------------------------------------------------------------- routing

    def handle(self, request: Request, fault: Fault | None) -> Reply:
        path = request.path.rstrip("/") or "/"
        if path in _HEALTH_PATHS:
            if request.method != "GET":
                return Reply(405, {"text": "Method not allowed", "code": 405})
            return _answer(503, 18) if self.unhealthy else _answer(200, 17)
        known = path in _EVENT_PATHS or path in _RAW_PATHS or path == "/services/collector/ack"
        if not known:
            return Reply(404, {"text": "The requested URL was not found on this server.", "code": 404})
        if request.method != "POST":
            return Reply(405, {"text": "Method not allowed", "code": 405})
        denied = self._auth(request)
        if denied is not None:
            return denied
        channel = request.headers.get("x-splunk-request-channel") or request.query.get("channel")
        if path == "/services/collector/ack":
            return self._poll(request, channel)
        if self.ack:
            if not channel:
                return _answer(400, 10)
            if not _GUID.match(channel):
                return _answer(400, 11)
        body, problem = self._body(request)
        if problem is not None:
            return problem
        if len(body) > self.max_content_length:
            return Reply(413, {"text": "Content length exceeds limit", "code": 413})
        if not body.strip():
            return _answer(400, 5)
        with self._data_lock:
            self.requests += 1
        if path in _RAW_PATHS:
            return self._raw(body, request, channel, fault)
        return self._events(body, channel, fault)

    def _auth(self, request: Request) -> Reply | None:
        header = request.headers.get("authorization")
        if not header:
            return _answer(401, 2)
        scheme, _, value = header.partition(" ")
        if scheme == "Splunk":
            token = value.strip()
        elif scheme == "Basic":
            try:
                token = base64.b64decode(value).decode().partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                return _answer(401, 3)
        else:
            return _answer(401, 3)
        if token != self.token:
            return _answer(403, 4)
        return None

    @staticmethod
    def _body(request: Request) -> tuple[bytes, Reply | None]:
        encoding = request.headers.get("content-encoding", "").lower()
        if not encoding:
            return request.body, None
        if encoding != "gzip":
            return b"", Reply(
                415, b"<html><body>Unsupported Media Type</body></html>", {"Content-Type": "text/html"}
            )
        try:
            return gzip.decompress(request.body), None
        except (OSError, EOFError):
            return b"", _answer(400, 6, **{"invalid-event-number": 0})

    # --------------------------------------------------------------------------------------- events

    def _events(self, body: bytes, channel: str | None, fault: Fault | None) -> Reply:
        objects, broken_at = _split_objects(body)
        accepted: list[bytes] = []
        for number, (obj, raw) in enumerate(objects):
            code = self._invalid(obj, raw)
            if code is not None:
                self._index(accepted, channel, fault)
                extra = {"invalid-event-number": number}
                return _answer(400, code, **extra)
            accepted.append(raw)
        if broken_at is not None:
            self._index(accepted, channel, fault)
            return _answer(400, 6, **{"invalid-event-number": broken_at})
        return self._index(accepted, channel, fault)

    def _invalid(self, obj: Any, raw: bytes) -> int | None:
        """The HEC code refusing one envelope, or None when it is fine."""
        if not isinstance(obj, dict):
            return 6
        if set(obj) - _ENVELOPE_KEYS:
            return 6
        if "event" not in obj:
            return 12
        event = obj["event"]
        if event is None or event is False:
            return 6
        if isinstance(event, str) and not event.strip():
            return 13
        fields = obj.get("fields")
        if fields is not None:
            if not isinstance(fields, dict):
                return 15
            for value in fields.values():
                if isinstance(value, dict) or (
                    isinstance(value, list) and any(isinstance(v, dict | list) for v in value)
                ):
                    return 15
        if "time" in obj:
            try:
                float(obj["time"])
            except (TypeError, ValueError):
                return 6
        if self.allowed_indexes is not None and obj.get("index", "main") not in self.allowed_indexes:
            return 7
        marker = self.faults.marker
        if marker is not None and marker in raw:
            return 6
        return None

    def _index(self, envelopes: list[bytes], channel: str | None, fault: Fault | None) -> Reply:
        lost = fault is not None and fault.kind == "lose_acks"
        with self._data_lock:
            if not lost:
                self._stored.extend(envelopes)
            if not self.ack:
                return _answer(200, 0)
            assert channel is not None
            self.channels_seen.add(channel)
            ack_id = self._next_ack.get(channel, 0)
            self._next_ack[channel] = ack_id + 1
            self._acks.setdefault(channel, {})[ack_id] = None if lost else time.monotonic() + self.ack_delay
        return _answer(200, 0, ackId=ack_id)

    def _raw(self, body: bytes, request: Request, channel: str | None, fault: Fault | None) -> Reply:
        text = body.decode("utf-8", "replace")
        lines = [line for line in text.splitlines() if line.strip()]
        meta = {k: request.query[k] for k in ("host", "source", "sourcetype", "index") if k in request.query}
        envelopes = [orjson.dumps({"event": line, **meta}) for line in lines]  # stored as received: bytes
        with self._data_lock:
            self.raw.extend(lines)
        return self._index(envelopes, channel, fault)

    def _poll(self, request: Request, channel: str | None) -> Reply:
        if not self.ack:
            return _answer(400, 14)
        if not channel:
            return _answer(400, 10)
        try:
            wanted = orjson.loads(request.body)["acks"]
        except (ValueError, KeyError, TypeError):
            return _answer(400, 6)
        now = time.monotonic()
        answer: dict[str, bool] = {}
        with self._data_lock:
            pending = self._acks.get(channel, {})
            for ack_id in wanted:
                ready = pending.get(int(ack_id))
                ok = ready is not None and ready <= now
                answer[str(ack_id)] = ok
                if ok:
                    del pending[int(ack_id)]  # Splunk forgets an id once reported true
        return Reply(200, {"acks": answer})

    # ---------------------------------------------------------------------------------------- views

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every indexed envelope, parsed, in arrival order."""
        with self._data_lock:
            stored = list(self._stored)
        return [orjson.loads(raw) for raw in stored]

    @property
    def count(self) -> int:
        """How many envelopes were indexed."""
        with self._data_lock:
            return len(self._stored)

    def event_payloads(self) -> list[Any]:
        """The ``event`` member of every indexed envelope."""
        return [e["event"] for e in self.events]


def _split_objects(body: bytes) -> tuple[list[tuple[Any, bytes]], int | None]:
    """Concatenated JSON objects -> ([(object, its bytes)], index of the first broken one or None)."""
    objects: list[tuple[Any, bytes]] = []
    try:  # fast path: one object per line
        for piece in body.split(b"\n"):
            if piece.strip():
                objects.append((orjson.loads(piece), piece))
        return objects, None
    except orjson.JSONDecodeError:
        objects = []
    text = body.decode("utf-8", "replace")
    decoder = json.JSONDecoder()
    position = 0
    while True:
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
        if position >= len(text):
            return objects, None
        try:
            obj, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            return objects, len(objects)
        objects.append((obj, text[position:end].encode()))
        position = end


def main(argv: list[str] | None = None) -> int:
    """``python -m esalog.testing.hec``: a local HEC to try ``esalog ship --to hec`` without Splunk."""
    import argparse
    import uuid

    ap = argparse.ArgumentParser(prog="python -m esalog.testing.hec",
                                 description="A fake Splunk HTTP Event Collector on 127.0.0.1, for trying esalog.")
    ap.add_argument("--port", type=int, default=8088, help="port on 127.0.0.1 (default 8088; 0 = any free)")
    ap.add_argument("--token", default=None, help="the token to accept (default: a new random one, printed)")
    ap.add_argument("--ack", action="store_true", help="indexer acknowledgement on (as a token with useACK)")
    args = ap.parse_args(argv)
    server = FakeHEC(args.token or str(uuid.uuid4()), ack=args.ack)
    server.port = args.port
    banner = [
        "fake Splunk HEC listening at {url}",
        f"  export ESALOG_HEC_TOKEN={server.token}",
        "  esalog ship --to hec --hec-url {url} examples/logs/*.log" + (" --hec-ack" if args.ack else ""),
        "Ctrl-C to stop",
    ]
    return serve_until_interrupted(server, banner, lambda: server.count, "events indexed", ap.prog)


if __name__ == "__main__":
    raise SystemExit(main())
