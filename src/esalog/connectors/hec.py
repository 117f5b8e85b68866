"""Splunk HTTP Event Collector sink: event mode (our JSON) or raw-fields mode (the original line for the
Cisco ESA add-on, plus our derived fields as indexed ``fields``); gzip; partial-batch resend; optional
indexer acknowledgement on a channel pinned to its endpoint; round-robin with health checks."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests

from esalog import native
from esalog.connectors.base import (
    Delivered,
    Outcome,
    Pending,
    Reject,
    Retry,
    RetryPartial,
    Split,
    Stop,
)
from esalog.connectors.batch import BatchLimits, Item
from esalog.connectors.http import (
    AUTH,
    BAD_REQUEST,
    OK,
    RETRY,
    TOO_LARGE,
    Endpoint,
    EndpointPool,
    HttpSink,
    TlsOptions,
    header_secret,
    json_body,
    masked_secrets,
    read_secret_file,
    response_reason,
    retry_after_of,
    split_userinfo,
    warn_plain_http,
)
from esalog.encode import to_event
from esalog.errors import ConfigError, warn
from esalog.flatten import flatten
from esalog.names import LINE_SOURCETYPE, RAW_SOURCETYPE, SUMMARY_SOURCETYPE, is_summary
from esalog.parsers.record import Record
from esalog.settings import each, http_url, number, positive, setting, validate, without_credentials

EVENT_PATH = "/services/collector/event"
HEALTH_PATH = "/services/collector/health"
ACK_PATH = "/services/collector/ack"
COLLECTOR = "/services/collector"
#: HEC 400 codes that mean the client is misconfigured for this token (channel, acks, auth style)
CONFIG_CODES = frozenset({10, 11, 14, 16})
#: fields never copied into raw-fields mode's indexed ``fields`` (the line itself, or not flat)
_NOT_INDEXED = frozenset({"message", "event.original", "@timestamp", "email.attachments"})
#: what to do about the configuration codes that name their cause
_CONFIG_HELP = {
    10: "the token has indexer acknowledgement on: add --hec-ack (or turn acknowledgement off on the token)",
    14: "indexer acknowledgement is off for this token: drop --hec-ack (or turn acknowledgement on)",
}
_TOKEN_HELP = (
    "check the token in ESALOG_HEC_TOKEN or --hec-token-file (and that it is enabled and "
    "allowed to write to the index)"
)


@dataclass(frozen=True)
class HecConfig:
    """The HEC sink (``--to hec``). The token comes from ``ESALOG_HEC_TOKEN`` or ``--hec-token-file``."""

    urls: tuple[str, ...] = setting(
        (), flag="--hec-url", metavar="URL", repeat=True, check=each(http_url("https://splunk.example.com:8088")),
        help="https://host:8088 (repeatable: round-robin per batch with health checks)")
    token_file: str | None = setting(None, flag="--hec-token-file", metavar="FILE",
                                     help="file holding the token (else ESALOG_HEC_TOKEN)")
    mode: str = setting(
        "event", flag="--hec-mode", choices=("event", "raw-fields"),
        help="event: our JSON as event (sourcetype cisco:esa:json); raw-fields: the original line "
             "(sourcetype cisco:esa:textmail, for the Cisco ESA add-on) plus our fields as indexed fields")
    index: str | None = setting(None, flag="--index", help="Splunk index")
    source: str | None = setting(None, flag="--source", help="Splunk source")
    sourcetype: str | None = setting(None, flag="--sourcetype", help="override the sourcetype")
    gzip: bool = setting(True, flag="--no-gzip", help="send HEC bodies uncompressed")
    ack: bool = setting(
        False, flag="--hec-ack",
        help="use indexer acknowledgement (channel per endpoint, poll, resend what is not confirmed)")
    ack_interval: float = setting(10.0, flag="--hec-ack-interval", metavar="S", parse=number, check=positive,
                                  help="seconds between ack polls (default 10)")
    ack_timeout: float = setting(300.0, flag="--hec-ack-timeout", metavar="S", parse=number, check=positive,
                                 help="resend a batch not acknowledged after S seconds (default 300)")
    #: event mode: the sourcetype of each dataset (the packs name theirs); others get cisco:esa:json
    sourcetypes: Mapping[str, str] | None = None
    token: str = ""  # resolved from the environment or the token file, never from the command line
    tls: TlsOptions = field(default_factory=TlsOptions)
    timeout: float = 30.0

    def __post_init__(self) -> None:
        validate(self)

    def __repr__(self) -> str:  # never show the token
        urls = tuple(without_credentials(url) for url in self.urls)
        return f"HecConfig(urls={urls!r}, mode={self.mode!r}, ack={self.ack})"

    def resolved(self, environ: Mapping[str, str], tls: TlsOptions, timeout: float | None) -> HecConfig:
        """This configuration with its token (file, else ``ESALOG_HEC_TOKEN``), TLS options and timeout."""
        if not self.urls:
            raise ConfigError("--to hec needs --hec-url")
        for url in self.urls:
            if split_userinfo(url)[1] is not None:
                raise ConfigError(f"--hec-url {without_credentials(url)}: no user:password in the URL; the token "
                                  "comes from ESALOG_HEC_TOKEN or --hec-token-file")
        token = (read_secret_file(self.token_file, "HEC token") if self.token_file
                 else environ.get("ESALOG_HEC_TOKEN", "").strip())
        if not token:
            raise ConfigError("no HEC token: set ESALOG_HEC_TOKEN or give --hec-token-file")
        header_secret(token, f"--hec-token-file {self.token_file!r}" if self.token_file else "ESALOG_HEC_TOKEN")
        return replace(self, token=token, tls=tls, timeout=timeout or self.timeout)


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
        self.sourcetype = config.sourcetype or (LINE_SOURCETYPE if config.mode == "event" else RAW_SOURCETYPE)
        self._epoch = EpochCache()
        self._heads: dict[tuple[str, Any, bytes], bytes] = {}
        self._raw = config.mode == "raw-fields"
        self._fixed = self._envelope(config, self.sourcetype)
        # event mode without --sourcetype: each dataset under its pack's sourcetype
        self._by_dataset: dict[str, bytes] | None = None
        if config.mode == "event" and not config.sourcetype and config.sourcetypes:
            self._by_dataset = {dataset: self._envelope(config, sourcetype)
                                for dataset, sourcetype in config.sourcetypes.items()}
        # message summaries are JSON in either mode, under the sourcetype the Splunk app maps to CIM Email
        self._fixed_summary = self._envelope(config, config.sourcetype or SUMMARY_SOURCETYPE)
        self._no_ack_warned: set[str] = set()  # endpoints that answered --hec-ack without an ackId

    @staticmethod
    def _envelope(config: HecConfig, sourcetype: str) -> bytes:
        """The constant envelope keys (index, source, sourcetype) as a JSON fragment."""
        fixed = {k: v for k, v in (("index", config.index), ("source", config.source), ("sourcetype", sourcetype)) if v}
        return orjson.dumps(fixed)[1:-1]

    # ------------------------------------------------------------------------------------ encoding

    def encode_item(self, record: Record, origin: str, index: int, ticket: Any) -> Item:
        encoded = record.encoded
        if encoded is not None and not self._raw:  # the core's line events: the usual case, kept short
            return Item(b"".join((self._head(record, {}, self._dataset_fixed(record)), encoded[:-1], b"}\n")),
                        ticket)
        event = to_event(record)
        parts: tuple[bytes, ...]
        if encoded is None and is_summary(record):  # the core encodes line events only
            parts = (self._head(record, event, self._fixed_summary), orjson.dumps(event))
        elif self._raw:
            original = (event.get("event") or {}).get("original") or event.get("message") or ""
            parts = (self._head(record, event, self._fixed), orjson.dumps(original), b',"fields":',
                     orjson.dumps(flat_fields(event)))
        else:
            parts = (self._head(record, event, self._dataset_fixed(record)), orjson.dumps(event))
        return Item(b"".join((*parts, b"}\n")), ticket)

    def encode_lines(self, records: Sequence[Record], ends: Sequence[int], origin: Callable[[int], str],
                     tickets: Sequence[Any]) -> list[Item]:
        """As :meth:`encode_item` makes them one by one; the core's line events (the usual case) are framed by
        the compiled core, the head of an event used again for the next ones of the same time stamp,
        appliance and dataset."""
        core = native.core()
        if core is None or self._raw:  # without the core no record holds its encoded event
            return super().encode_lines(records, ends, origin, tickets)

        def other(record: Record, line: int, number: int) -> Item:
            return self.encode_item(record, origin(line), number, tickets[line])

        items: list[Item] = core.frame_encoded(list(records), list(ends), list(tickets), self._line_head, b"}\n",
                                               other, Item)
        return items

    def _line_head(self, record: Record) -> tuple[bytes, bool]:
        """The head of an event the core encoded, and whether it holds for the next events of the same time
        stamp, appliance and dataset (not when the time stamp cannot be read: those are sent the time now)."""
        return self._head(record, {}, self._dataset_fixed(record)), self._epoch(record.timestamp) is not None

    def _dataset_fixed(self, record: Record) -> bytes:
        """Event mode: the constant envelope keys of *record*'s dataset (its pack's sourcetype)."""
        return self._fixed if self._by_dataset is None else self._by_dataset.get(record.dataset, self._fixed)

    def _head(self, record: Record, event: dict[str, Any], fixed: bytes) -> bytes:
        """``{"time":…,"host":…,<fixed>,"event":`` for *record*, cached by time stamp, host and *fixed*: time
        stamps repeat (second precision, many lines per second) and appliances are few."""
        observer = record.observer
        # the appliance: the line's host (else --host), else the serial number of the file's header lines
        host = observer.get("hostname") or observer.get("serial_number")
        key = (record.timestamp, host, fixed)
        head = self._heads.get(key)
        if head is None:
            epoch = self._epoch(record.timestamp)
            cached = epoch is not None
            if epoch is None:  # always send a time: without it Splunk uses the receipt time silently
                epoch = self._epoch((event.get("event") or {}).get("created")) or f"{time.time():.3f}".encode()
            head = b"".join((b'{"time":', epoch, b",", b'"host":' + orjson.dumps(host) + b"," if host else b"",
                             fixed, b',"event":'))
            if cached:
                if len(self._heads) >= 4096:
                    self._heads.clear()
                self._heads[key] = head
        return head

    # ------------------------------------------------------------------------------------- sending

    def open(self) -> None:
        self.config.tls.announce()
        warn_plain_http(self.pool.endpoints, "HEC token")
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

    def classify(self, response: requests.Response, status_class: str, items: Sequence[Item],
                 endpoint: Endpoint) -> Outcome:
        """What a HEC answer means for the batch (HEC's bodies: success text, ack id, invalid event number)."""
        status = response.status_code
        body = json_body(response)
        code = body.get("code")
        if not isinstance(code, int):  # a list or an object would not even be hashable
            code = None
        if status_class == OK:
            if endpoint.channel is not None and "ackId" in body:
                ack_id = body["ackId"]
                if not isinstance(ack_id, int) or isinstance(ack_id, bool):
                    return Retry(f"HEC {endpoint.base_url} answered an ackId that is not a number "
                                 f"({response_reason(response, 120)}): cannot be acknowledged")
                return Pending((self.pool.endpoints.index(endpoint), ack_id))
            if code == 0 or body.get("text") == "Success":
                if endpoint.channel is not None and endpoint.base_url not in self._no_ack_warned:
                    self._no_ack_warned.add(endpoint.base_url)
                    warn(f"--hec-ack: HEC at {endpoint.base_url} answered without an ackId: indexer "
                         "acknowledgement is off for this token, so events count as delivered once HEC accepts "
                         "them; enable indexer acknowledgement on the token, or drop --hec-ack")
                return Delivered()
            return Retry(f"HEC {endpoint.base_url} answered HTTP {status} without HEC's success body "
                         f"({response_reason(response, 120)}): not counted as delivered")
        reason = f"HEC {endpoint.base_url} {response_reason(response)}"
        if status_class == AUTH:
            return Stop(
                f"HEC refused the token (HTTP {status}, code {code}: "
                f"{masked_secrets(str(body.get('text', '')), response)}): {_TOKEN_HELP}"
            )
        bad = body.get("invalid-event-number")
        if status == 400 and isinstance(bad, int) and not isinstance(bad, bool):
            if 0 <= bad < len(items):
                return RetryPartial(
                    tuple(items[bad + 1 :]), reason, rejected=((items[bad], reason),), backoff=False
                )
            return Reject(tuple((item, reason) for item in items))
        if status_class == TOO_LARGE:
            return Split(reason)
        if status_class == RETRY:
            return Retry(reason, retry_after_of(response))
        if status == 400 and code in CONFIG_CODES:
            return Stop(f"{reason}: {_CONFIG_HELP.get(code, 'HEC configuration problem (channel / auth style)')}")
        if status_class == BAD_REQUEST:
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
            assert isinstance(key, tuple)
            endpoint_number, ack_number = key
            by_endpoint.setdefault(endpoint_number, []).append(ack_number)
        confirmed: set[Hashable] = set()
        for endpoint_number, ack_ids in by_endpoint.items():
            endpoint = self.pool.endpoints[endpoint_number]
            body = orjson.dumps({"acks": ack_ids})
            headers = {"X-Splunk-Request-Channel": endpoint.channel or "", "Content-Encoding": None}
            try:
                response = endpoint.post(ACK_PATH, body, headers)  # type: ignore[arg-type]
            except requests.RequestException:
                continue  # unanswered polls end in a resend after the ack timeout
            if response.status_code != 200:
                continue
            acks = json_body(response).get("acks")
            if isinstance(acks, dict):  # an answer of another shape confirms nothing
                confirmed.update((endpoint_number, int(ack_id)) for ack_id, ok in acks.items()
                                 if ok is True and ack_id.isdigit())
        return confirmed
