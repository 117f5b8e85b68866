"""HTTP plumbing shared by the HEC and Elasticsearch sinks: one ``requests.Session`` per endpoint,
round-robin per batch, a health probe and a circuit breaker per endpoint, TLS options."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import re
import socket
import threading
import time
import zlib
from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import orjson
import requests
import requests.adapters
import urllib3
import urllib3.connection

from esalog.connectors.base import Outcome, Retry, Sink, Stop
from esalog.connectors.batch import Item
from esalog.errors import ConfigError, warn
from esalog.settings import without_credentials

#: HTTP statuses worth a retry (with backoff): timeouts, throttling, server trouble (501 excepted).
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

# What an HTTP status means for any sink (each sink then reads its own bodies):
OK = "ok"  # 2xx
REDIRECT = "redirect"  # 3xx: a POST is never repeated elsewhere; the URL is wrong
RETRY = "retry"  # timeouts, throttling, server trouble: send again after a backoff
TOO_LARGE = "too_large"  # 413: split the batch
AUTH = "auth"  # 401/403: credentials refused, stop
BAD_REQUEST = "bad_request"  # 400: the sink's body says which events
FATAL = "fatal"  # anything else (404, 405, 501...): the URL or the server is wrong, stop


def classify_status(status: int) -> str:
    """The class of an HTTP status (see the constants above)."""
    if 200 <= status < 300:
        return OK
    if 300 <= status < 400:
        return REDIRECT
    if status == 413:
        return TOO_LARGE
    if status in (401, 403):
        return AUTH
    if status in RETRY_STATUSES or (status >= 500 and status != 501):
        return RETRY
    if status == 400:
        return BAD_REQUEST
    return FATAL
def split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """``http://user:pass@host:9200/x`` -> (``http://host:9200/x``, user, password); (url, None, None)
    when the URL names no user."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)), unquote(user), unquote(password)


def warn_plain_http(endpoints: Sequence[Endpoint], what: str) -> None:
    """Warn once per endpoint that *what* (a token, credentials) goes over plain ``http://``."""
    for endpoint in endpoints:
        if endpoint.base_url.startswith("http://"):
            warn(f"{endpoint.base_url}: {what} sent unencrypted over http:// (anyone on the path can read it); "
                 "use https://")


#: Uncompressed bytes handed to zlib at a time when a body is gzip'd (as fast as one call, less memory).
GZIP_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class TlsOptions:
    """Certificate verification: on by default, a custom CA bundle, or off (with a warning)."""

    ca_bundle: str | None = None
    insecure: bool = False

    @property
    def verify(self) -> bool | str:
        """requests' ``verify``: False with ``--insecure``, else the CA bundle, else True (the system's CAs)."""
        if self.insecure:
            return False
        return self.ca_bundle or True

    def announce(self) -> None:
        """Warn once when verification is off."""
        if self.insecure:
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            warn(
                "--insecure: TLS certificates are NOT verified; anyone on the path can read and alter "
                "the data and steal the credentials"
            )


_current = threading.local()  # the request under way on this thread (its deadline watch)


class _Watch:
    """The deadline of one request: when it passes, the socket is shut down (a read in progress ends)."""

    def __init__(self) -> None:
        self.connection: Any = None
        self.expired = False
        self.done = False
        self.lock = threading.Lock()

    def expire(self) -> None:
        with self.lock:
            if self.done:
                return
            self.expired = True
            sock = getattr(self.connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        with self.lock:
            self.done = True
            self.connection = None


class _Deadlines:
    """Expires the watches whose time is up, on one thread for every request (a timer thread started per
    request cost the senders more than the rest of a request's bookkeeping)."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, _Watch]] = []  # a heap by deadline
        self._order = itertools.count()  # ties in deadline never compare the watches
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, watch: _Watch, timeout: float) -> None:
        """Expire *watch* in *timeout* seconds unless it is finished by then."""
        deadline = time.monotonic() + timeout
        with self._changed:
            if self._thread is None or not self._thread.is_alive():  # first use (or in a forked child)
                self._thread = threading.Thread(target=self._run, name="esalog-request-deadlines", daemon=True)
                self._thread.start()
            if not self._due or deadline < self._due[0][0]:
                self._changed.notify()
            heapq.heappush(self._due, (deadline, next(self._order), watch))

    def _run(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                # finished watches leave when they come first; expiring one that finished does nothing
                while self._due and (self._due[0][2].done or self._due[0][0] <= now):
                    heapq.heappop(self._due)[2].expire()
                self._changed.wait(self._due[0][0] - now if self._due else None)


_deadlines = _Deadlines()


class _Tracked:
    """Mixed into urllib3's connections: tells the request's watch which connection carries it."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        watch = getattr(_current, "watch", None)
        if watch is not None:
            watch.connection = self
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Tracked, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_Tracked, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _DeadlineAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter with connections a request deadline can cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class RequestDeadline(requests.exceptions.Timeout):
    """The whole request (connect, send, every byte of the answer) took longer than ``--timeout``."""


class Endpoint:
    """One server URL with its own connection pool and health state.

    ``timeout`` bounds each request as a whole, not each socket read: a server that trickles its answer
    a byte at a time is cut off when the time is up (:class:`RequestDeadline`).
    """

    def __init__(self, base_url: str, headers: dict[str, str], tls: TlsOptions, timeout: float) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"URL must start with http:// or https://: {without_credentials(base_url)!r}")
        if split_userinfo(base_url)[1] is not None:
            raise ConfigError(f"{without_credentials(base_url)}: no user:password in the URL here (credentials "
                              "come from the environment)")
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        adapter = _DeadlineAdapter()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(headers)
        # given on every request: requests lets REQUESTS_CA_BUNDLE override Session.verify
        self.verify = tls.verify
        self.timeout = timeout
        self.down_until = 0.0
        self.failures = 0
        self.channel: str | None = None  # HEC: the indexer-ack channel pinned to this endpoint
        self.too_large: int | None = None  # the smallest batch (uncompressed bytes) it answered 413 to

    def __repr__(self) -> str:
        return f"Endpoint({self.base_url})"

    def _within_deadline(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        watch = _Watch()
        _current.watch = watch
        _deadlines.add(watch, self.timeout)
        try:
            # allow_redirects=False: a redirected POST becomes a GET
            response = self.session.request(method, self.base_url + path, timeout=self.timeout,
                                            verify=self.verify, allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            if watch.expired:
                raise self._late() from exc
            raise
        else:
            # cut while its headers came, an answer can look whole (the end of the stream ends the headers,
            # and an answer without a length ends with the stream): an empty 200, not an answer
            if watch.expired:
                raise self._late()
            return response
        finally:
            watch.finish()
            _current.watch = None

    def _late(self) -> RequestDeadline:
        return RequestDeadline(f"no complete answer within {self.timeout:g}s (--timeout bounds the whole request)")

    def post(
        self,
        path: str,
        body: bytes,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> requests.Response:
        return self._within_deadline("POST", path, data=body, headers=headers, params=params)

    def put(self, path: str, body: bytes, headers: dict[str, str | None] | None = None) -> requests.Response:
        return self._within_deadline("PUT", path, data=body, headers=headers)

    def get(self, path: str, headers: dict[str, str] | None = None) -> requests.Response:
        return self._within_deadline("GET", path, headers=headers)

    def close(self) -> None:
        self.session.close()


class EndpointPool:
    """Round-robin over healthy endpoints; a failing one rests, then must pass the health probe."""

    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        probe: Callable[[Endpoint], bool],
        clock: Callable[[], float] = time.monotonic,
        rest: float = 5.0,
        max_rest: float = 60.0,
    ) -> None:
        if not endpoints:
            raise ConfigError("no endpoint URL given")
        self.endpoints = list(endpoints)
        self._cycle = itertools.cycle(self.endpoints)
        self._probe = probe
        self._clock = clock
        self.rest = rest
        self.max_rest = max_rest

    def pick(self) -> Endpoint:
        """The next usable endpoint; when all rest, the one whose rest ends first (after a probe)."""
        now = self._clock()
        for _ in range(len(self.endpoints)):
            endpoint = next(self._cycle)
            if endpoint.down_until <= now and (endpoint.failures == 0 or self._recovered(endpoint)):
                return endpoint
        return min(self.endpoints, key=lambda e: e.down_until)

    def _recovered(self, endpoint: Endpoint) -> bool:
        if self._probe(endpoint):
            endpoint.failures = 0
            return True
        self.mark_down(endpoint)
        return False

    def mark_down(self, endpoint: Endpoint) -> None:
        """Let *endpoint* rest (longer after each consecutive failure)."""
        endpoint.failures += 1
        endpoint.down_until = self._clock() + min(self.max_rest, self.rest * 2 ** (endpoint.failures - 1))

    def mark_up(self, endpoint: Endpoint) -> None:
        """*endpoint* answered: no more rest."""
        endpoint.failures = 0
        endpoint.down_until = 0.0

    def observe(self, endpoint: Endpoint, status_class: str, status: int) -> None:
        """Endpoint health from an answer: a success ends its rest; a 503 among several endpoints starts one."""
        if status_class == OK:
            if endpoint.failures:
                self.mark_up(endpoint)
        elif status == 503 and len(self.endpoints) > 1:
            self.mark_down(endpoint)

    def check_all(self) -> list[Endpoint]:
        """Probe every endpoint once (at start); returns the ones that failed (they rest)."""
        bad = []
        for endpoint in self.endpoints:
            if not self._probe(endpoint):
                self.mark_down(endpoint)
                bad.append(endpoint)
        return bad

    def close(self) -> None:
        for endpoint in self.endpoints:
            endpoint.close()


def masked_secrets(text: str, response: requests.Response) -> str:
    """*text* from the server with the request's credentials (token, API key, Basic pair) masked: a proxy
    page that echoes the request headers must not put them in messages and dead letters."""
    request = response.request
    secret = (request.headers.get("Authorization") or "").partition(" ")[2] if request is not None else ""
    return text.replace(secret, "***") if secret else text


def response_reason(response: requests.Response, limit: int = 300) -> str:
    """``HTTP 503: <body start>`` for messages and dead letters (credentials masked)."""
    text = masked_secrets(response.text, response).strip().replace("\n", " ")
    return f"HTTP {response.status_code}: {text[:limit]}" if text else f"HTTP {response.status_code}"


#: the operating system's reason inside requests' nested connection errors (``[Errno 111] Connection refused``)
_OS_REASON = re.compile(r"\[Errno -?\d+\] [^'\")\]]+")


def transport_reason(endpoint: Endpoint, exc: Exception) -> str:
    """``URL: cannot connect: [Errno 111] Connection refused`` for a refused or unresolvable address (not
    requests' three nested reprs), a TLS failure as :func:`tls_reason` says it; any other transport error
    by its type and text."""
    if isinstance(exc, requests.exceptions.SSLError):
        return tls_reason(endpoint, exc)
    found = _OS_REASON.search(str(exc)) if isinstance(exc, requests.ConnectionError) else None
    if found is not None:
        return f"{endpoint.base_url}: cannot connect: {found.group(0).strip()}"
    return f"{endpoint.base_url}: {type(exc).__name__}: {exc}"


#: OpenSSL's reason inside requests' nested SSL errors, without the ``(_ssl.c:1006)`` source line
_SSL_REASON = re.compile(r"\[SSL: [A-Z0-9_]+\] .*?(?= \(_ssl\.c:\d+\)|['\"]\)|$)")
#: OpenSSL's words for a trusted certificate issued for other names than the URL's host
_NAME_MISMATCH = "mismatch, certificate is not valid for"
#: OpenSSL's words for a server that answered a TLS hello in plain text (an http:// port)
_PLAIN_HTTP = ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE")


def tls_reason(endpoint: Endpoint, exc: Exception) -> str:
    """One line on a TLS failure and what to do: a plain-HTTP server needs ``http://``, a certificate not
    trusted needs its CA."""
    text = str(exc)
    found = _SSL_REASON.search(text)
    why = found.group(0) if found is not None else text
    if any(word in text for word in _PLAIN_HTTP):
        plain = "http://" + endpoint.base_url.removeprefix("https://")
        return (f"TLS failure with {endpoint.base_url}: {why}: the server answers without TLS on this port; "
                f"use {plain} (or the server's TLS port)")
    if _NAME_MISMATCH in text:
        return (f"TLS failure with {endpoint.base_url}: {why.rstrip('.')}: the certificate names another host; "
                "use a URL with a name it was issued for (its subjectAltName), or give the server a certificate "
                "for this one")
    return (f"TLS failure with {endpoint.base_url}: {why}; give the CA with --ca-bundle "
            "(or, at your own risk, --insecure)")


def read_secret_file(path: str, what: str) -> str:
    """The first line of a secret file, stripped; a missing, empty or binary file is a configuration error."""
    try:
        with open(path, encoding="utf-8") as handle:
            value = handle.readline().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} file {path!r}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise ConfigError(f"{what} file {path!r} is not text (invalid UTF-8)") from None
    if not value:
        raise ConfigError(f"{what} file {path!r} is empty")
    return value


def header_secret(value: str, where: str) -> str:
    """*value* when it can go in an HTTP header as it is (visible ASCII: a token, an API key); else a
    configuration error that says where it came from, never the value (requests' own error quotes it)."""
    if not all("!" <= char <= "~" for char in value):
        raise ConfigError(f"{where} holds characters a token cannot have (spaces, line breaks, control or "
                          "non-ASCII characters); check how it was set")
    return value


def retry_after_of(response: requests.Response) -> float | None:
    """The seconds the ``Retry-After`` header of *response* asks to wait, or None without a usable one."""
    from esalog.connectors.retry import parse_retry_after

    return parse_retry_after(response.headers.get("Retry-After"))


def json_body(response: requests.Response) -> dict[str, Any]:
    """The response body as a JSON object, or {} when it is not one."""
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


class HttpSink(Sink):
    """A sink that POSTs each batch to one endpoint of a pool; subclasses say where and what it means.

    The body is the items' wire bytes joined (gzip'd when ``compress``); a transport error rests the
    endpoint and asks for a retry (the next attempt goes to the next healthy endpoint).
    """

    pool: EndpointPool
    compress: bool = False
    path: str = "/"
    params: dict[str, str] | None = None

    def encode(self, items: Sequence[Item]) -> bytes:
        """The request body of a batch; gzip'd chunk by chunk (no uncompressed copy of the whole batch)."""
        if not self.compress:
            return b"".join(item.data for item in items)
        packer = zlib.compressobj(1, zlib.DEFLATED, 31)  # wbits 31: gzip header and trailer
        parts: list[bytes] = []
        chunk: list[bytes] = []
        size = 0
        for item in items:
            chunk.append(item.data)
            size += len(item.data)
            if size >= GZIP_CHUNK_BYTES:
                parts.append(packer.compress(b"".join(chunk)))
                chunk, size = [], 0
        parts += (packer.compress(b"".join(chunk)), packer.flush())
        return b"".join(parts)

    def request_headers(self, endpoint: Endpoint) -> dict[str, str] | None:
        """Extra headers for a request to *endpoint* (e.g. the HEC channel pinned to it)."""
        return None

    @property
    def max_concurrency(self) -> int:
        return 8

    @abstractmethod
    def classify(self, response: requests.Response, status_class: str, items: Sequence[Item],
                 endpoint: Endpoint) -> Outcome:
        """What the server's answer (of class *status_class*, see :func:`classify_status`) means for the batch."""

    def fits(self, items: Sequence[Item]) -> bool:
        """Smaller than every batch an endpoint refused as too large (remembered: no 413 round trip per batch)."""
        limits = [endpoint.too_large for endpoint in self.pool.endpoints if endpoint.too_large is not None]
        return not limits or sum(len(item.data) for item in items) < min(limits)

    def send(self, items: Sequence[Item]) -> Outcome:
        body = self.encode(items)
        endpoint = self.pool.pick()
        try:
            response = endpoint.post(self.path, body, self.request_headers(endpoint), self.params)
        except requests.exceptions.SSLError as exc:  # a certificate does not fix itself: stop
            return Stop(tls_reason(endpoint, exc))
        except requests.RequestException as exc:
            self.pool.mark_down(endpoint)
            return Retry(transport_reason(endpoint, exc))
        status_class = classify_status(response.status_code)
        self.pool.observe(endpoint, status_class, response.status_code)
        if status_class == TOO_LARGE:
            size = sum(len(item.data) for item in items)
            endpoint.too_large = size if endpoint.too_large is None else min(size, endpoint.too_large)
        if status_class == REDIRECT:
            where = response.headers.get("Location", "")
            return Stop(f"{endpoint.base_url} answered HTTP {response.status_code} (redirect to {where or '?'}): "
                        "give the final URL; a POST is never repeated at another address")
        return self.classify(response, status_class, items, endpoint)

    def close(self) -> None:
        self.pool.close()
