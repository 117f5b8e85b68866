"""Splunk HTTP Event Collector sink: event mode (our JSON) or raw-fields mode (the original line for the
Cisco ESA add-on, plus our derived fields as indexed ``fields``); gzip; partial-batch resend; optional
indexer acknowledgement on a channel pinned to its endpoint; round-robin with health checks."""

from __future__ import annotations

import time
import uuid
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests

from esalog.connectors.base import (
    Delivered,
    Outcome,
    Pending,
    Reject,
    Retry,
    RetryPartial,
    Split,
    Stop,
    warn,
)
from esalog.connectors.batch import BatchLimits, Item
from esalog.connectors.http import (
    RETRY_STATUSES,
    Endpoint,
    EndpointPool,
    HttpSink,
    TlsOptions,
    json_body,
    response_reason,
    retry_after_of,
)
from esalog.errors import ConfigError
from esalog.flatten import flatten

EVENT_PATH = "/services/collector/event"
HEALTH_PATH = "/services/collector/health"
ACK_PATH = "/services/collector/ack"
COLLECTOR = "/services/collector"
#: HEC 400 codes that mean the client is misconfigured for this token (channel, acks, auth style)
CONFIG_CODES = frozenset({10, 11, 14, 16})
#: fields never copied into raw-fields mode's indexed ``fields`` (the line itself, or not flat)
#: Sourcetype of message summaries (the Splunk app maps it to the CIM Email data model).
SUMMARY_SOURCETYPE = "cisco:esa:message"
_NOT_INDEXED = frozenset({"message", "event.original", "@timestamp", "email.attachments"})
_TOKEN_HELP = (
    "check the token in ESALOG_HEC_TOKEN or --hec-token-file (and that it is enabled and "
    "allowed to write to the index)"
)


@dataclass(frozen=True)
class HecConfig:
    """Options of the HEC sink (``esalog ship --to hec``)."""

    urls: tuple[str, ...]
    token: str
    mode: str = "event"  # event | raw-fields
    index: str | None = None
    source: str | None = None
    sourcetype: str | None = None
    gzip: bool = True
    ack: bool = False
    ack_interval: float = 10.0
    ack_timeout: float = 300.0
    tls: TlsOptions = field(default_factory=TlsOptions)
    timeout: float = 30.0

    def __repr__(self) -> str:  # never show the token
        return f"HecConfig(urls={self.urls!r}, mode={self.mode!r}, ack={self.ack})"


def split_hec_url(url: str) -> tuple[str, str]:
    """``https://h:8088`` -> (base, /services/collector/event); a URL with the collector path keeps it."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    base = f"{parts.scheme}://{parts.netloc}"
    if COLLECTOR in path:
        prefix, _, rest = path.partition(COLLECTOR)
        return base + prefix, COLLECTOR + rest
    return base + path, EVENT_PATH


class EpochCache:
    """``@timestamp`` (ISO 8601) -> epoch seconds with milliseconds as JSON bytes, e.g. ``b"1793602801.250"``.

    Time stamps repeat (second precision, many lines per second): a bounded dict remembers them.
    """

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[str, bytes | None] = {}

    def __call__(self, stamp: Any) -> bytes | None:
        if not isinstance(stamp, str):
            return None
        value = self._cache.get(stamp, b"")
        if value == b"":
            try:
                value = f"{datetime.fromisoformat(stamp).timestamp():.3f}".encode()
            except ValueError:
                value = None
            if len(self._cache) >= 4096:
                self._cache.clear()
            self._cache[stamp] = value
        return value


def flat_fields(event: dict[str, Any]) -> dict[str, str | list[str]]:
    """Scalar leaves of *event* as Splunk indexed fields: dotted names, string values or string lists."""
    return flatten(event, _NOT_INDEXED, nested_lists=False)


class HecSink(HttpSink):
    """Splunk HEC ``/services/collector/event``; several JSON objects per request."""

    name = "hec"
    limits = BatchLimits(max_events=10_000, max_bytes=1_000_000, max_age=1.0)

    def __init__(self, config: HecConfig) -> None:
        if config.mode not in ("event", "raw-fields"):
            raise ConfigError(f"unknown HEC mode {config.mode!r} (event or raw-fields)")
        self.config = config
        self.compress = config.gzip
        headers = {"Authorization": f"Splunk {config.token}", "Content-Type": "application/json"}
        if config.gzip:
            headers["Content-Encoding"] = "gzip"
        endpoints = []
        paths = set()
        for url in config.urls:
            base, path = split_hec_url(url)
            paths.add(path)
            endpoint = Endpoint(base, headers, config.tls, config.timeout)
            if config.ack:
                endpoint.channel = str(uuid.uuid4())
            endpoints.append(endpoint)
        if len(paths) > 1:
            raise ConfigError("every --hec-url must use the same collector path")
        self.path = paths.pop() if paths else EVENT_PATH
        if self.path.startswith(COLLECTOR + "/raw"):
            raise ConfigError("the raw endpoint cannot carry time and fields; use /services/collector/event")
        self.pool = EndpointPool(endpoints, self._healthy)
        self.sourcetype = config.sourcetype or (
            "cisco:esa:json" if config.mode == "event" else "cisco:esa:textmail"
        )
        self._epoch = EpochCache()
        self._hosts: dict[str, bytes] = {}
        self._raw = config.mode == "raw-fields"
        self._fixed = self._envelope(config, self.sourcetype)
        # message summaries are JSON in either mode, under the sourcetype the Splunk app maps to CIM Email
        self._fixed_summary = self._envelope(config, config.sourcetype or SUMMARY_SOURCETYPE)

    @staticmethod
    def _envelope(config: HecConfig, sourcetype: str) -> bytes:
        """The constant envelope keys (index, source, sourcetype) as a JSON fragment."""
        fixed = {k: v for k, v in (("index", config.index), ("source", config.source), ("sourcetype", sourcetype)) if v}
        return orjson.dumps(fixed)[1:-1]

    # ------------------------------------------------------------------------------------ encoding

    def encode_item(self, event: dict[str, Any], origin: str, index: int, ticket: Any) -> Item:
        epoch = self._epoch(event.get("@timestamp"))
        if epoch is None:  # always send a time: without it Splunk uses the receipt time silently
            epoch = self._epoch((event.get("event") or {}).get("created")) or f"{time.time():.3f}".encode()
        parts = [b'{"time":', epoch, b","]
        host = (event.get("observer") or {}).get("hostname")
        if host:
            encoded = self._hosts.get(host)
            if encoded is None:
                encoded = orjson.dumps(host)
                if len(self._hosts) < 1024:  # appliances are few; stay bounded anyway
                    self._hosts[host] = encoded
            parts += (b'"host":', encoded, b",")
        if (event.get("event") or {}).get("action") == "message-summary":
            parts += (self._fixed_summary, b',"event":', orjson.dumps(event))
        elif self._raw:
            parts.append(self._fixed)  # index, source, sourcetype
            original = (event.get("event") or {}).get("original") or event.get("message") or ""
            parts += (b',"event":', orjson.dumps(original), b',"fields":', orjson.dumps(flat_fields(event)))
        else:
            parts += (self._fixed, b',"event":', orjson.dumps(event))
        parts.append(b"}\n")
        data = b"".join(parts)
        return Item(data, ticket)

    # ------------------------------------------------------------------------------------- sending

    def open(self) -> None:
        self.config.tls.announce()
        for endpoint in self.pool.check_all():
            warn(f"HEC at {endpoint.base_url} is not healthy now; it is skipped until it recovers")

    def _healthy(self, endpoint: Endpoint) -> bool:
        try:
            response = endpoint.get(HEALTH_PATH, headers={"Authorization": None})  # type: ignore[dict-item]
        except requests.RequestException:
            return False
        return response.status_code == 200

    def request_headers(self, endpoint: Endpoint) -> dict[str, str] | None:
        return {"X-Splunk-Request-Channel": endpoint.channel} if endpoint.channel else None

    def classify(self, response: requests.Response, items: Sequence[Item], endpoint: Endpoint) -> Outcome:
        """What a HEC answer means for the batch (HEC status code table, partial 400s)."""
        status = response.status_code
        body = json_body(response)
        if 200 <= status < 300:
            if endpoint.failures:
                self.pool.mark_up(endpoint)
            if endpoint.channel is not None and "ackId" in body:
                return Pending((self.pool.endpoints.index(endpoint), int(body["ackId"])))
            return Delivered()
        code = body.get("code")
        reason = f"HEC {endpoint.base_url} {response_reason(response)}"
        if status in (401, 403):
            return Stop(
                f"HEC refused the token (HTTP {status}, code {code}: {body.get('text', '')}): {_TOKEN_HELP}"
            )
        if status == 400 and "invalid-event-number" in body:
            bad = int(body["invalid-event-number"])
            if 0 <= bad < len(items):
                return RetryPartial(
                    tuple(items[bad + 1 :]), reason, rejected=((items[bad], reason),), backoff=False
                )
            return Reject(tuple((item, reason) for item in items))
        if status == 413:
            return Split(reason)
        if status in RETRY_STATUSES or (status >= 500 and status != 501):
            if status == 503 and len(self.pool.endpoints) > 1:
                self.pool.mark_down(endpoint)
            return Retry(reason, retry_after_of(response))
        if status == 400 and code in CONFIG_CODES:
            return Stop(f"{reason}: HEC configuration problem (channel / acknowledgement / auth style)")
        if status == 400:
            return Reject(tuple((item, reason) for item in items))
        return Stop(f"{reason}: check --hec-url")

    # -------------------------------------------------------------------------------- indexer acks

    @property
    def max_concurrency(self) -> int:
        # with acknowledgements batches are already many in flight (pending); one sender keeps the
        # channel bookkeeping simple
        return 1 if self.config.ack else 8

    @property
    def ack_interval(self) -> float:
        return self.config.ack_interval

    @property
    def ack_timeout(self) -> float:
        return self.config.ack_timeout

    def poll(self, keys: Sequence[Hashable]) -> set[Hashable]:
        """Ask each endpoint (on its own channel) which of its ack ids are indexed."""
        by_endpoint: dict[int, list[int]] = {}
        for key in keys:
            number, ack_id = key  # type: ignore[misc]
            by_endpoint.setdefault(number, []).append(ack_id)
        confirmed: set[Hashable] = set()
        for number, ack_ids in by_endpoint.items():
            endpoint = self.pool.endpoints[number]
            body = orjson.dumps({"acks": ack_ids})
            headers = {"X-Splunk-Request-Channel": endpoint.channel or "", "Content-Encoding": None}
            try:
                response = endpoint.post(ACK_PATH, body, headers)  # type: ignore[arg-type]
            except requests.RequestException:
                continue  # unanswered polls end in a resend after the ack timeout
            if response.status_code != 200:
                continue
            acks = json_body(response).get("acks") or {}
            confirmed.update((number, int(ack_id)) for ack_id, ok in acks.items() if ok is True)
        return confirmed
