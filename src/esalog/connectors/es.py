"""Elasticsearch / OpenSearch ``_bulk`` sink with deterministic ``_id`` and per-item outcomes, and the
index template generated from the field declarations."""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
import requests

from esalog.connectors.base import Delivered, Outcome, Reject, Retry, RetryPartial, Split, Stop
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
    response_reason,
    retry_after_of,
    split_userinfo,
    transport_reason,
    warn_plain_http,
)
from esalog.encode import encode_line
from esalog.errors import ConfigError, SinkError, warn
from esalog.parsers.record import Record
from esalog.settings import each, http_url, setting, validate, without_credentials
from esalog.sources.files import FileId

TEMPLATE_NAME = "esalog"
DEFAULT_INDEX = "esalog"
_AUTH_HELP = "check ESALOG_ES_API_KEY, ESALOG_ES_USER/ESALOG_ES_PASSWORD or ESALOG_ES_BEARER_TOKEN"


def auth_header_from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """``Authorization`` from ESALOG_ES_API_KEY, ESALOG_ES_USER + _PASSWORD or ESALOG_ES_BEARER_TOKEN."""
    api_key = environ.get("ESALOG_ES_API_KEY", "").strip()
    user, password = environ.get("ESALOG_ES_USER"), environ.get("ESALOG_ES_PASSWORD")
    bearer = environ.get("ESALOG_ES_BEARER_TOKEN", "").strip()
    if sum(bool(x) for x in (api_key, user or password, bearer)) > 1:
        raise ConfigError(
            "set only one of ESALOG_ES_API_KEY, ESALOG_ES_USER+ESALOG_ES_PASSWORD, ESALOG_ES_BEARER_TOKEN"
        )
    if api_key:
        return {"Authorization": f"ApiKey {header_secret(api_key, 'ESALOG_ES_API_KEY')}"}
    if user or password:
        if not (user and password):
            raise ConfigError("ESALOG_ES_USER and ESALOG_ES_PASSWORD go together")
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
    if bearer:
        return {"Authorization": f"Bearer {header_secret(bearer, 'ESALOG_ES_BEARER_TOKEN')}"}
    return {}


def document_id(appliance: str, origin: str, index: int) -> str:
    """Deterministic ``_id``: the same line of the same input always gets the same id (the blake2b of
    ``appliance NUL origin NUL index``; the appliance's part is hashed once, its state copied per id)."""
    hasher = _hashed_appliance(appliance).copy()
    hasher.update(f"{origin}\x00{index}".encode())
    return hasher.hexdigest()


@functools.lru_cache(maxsize=1024)
def _hashed_appliance(appliance: str) -> hashlib.blake2b:
    return hashlib.blake2b(f"{appliance}\x00".encode(), digest_size=16)


def appliance_identity(record: Record, ticket: Any) -> str:
    """Who wrote a line, for its ``_id``: the appliance's serial number or host name as the log declares
    them (header lines, syslog host), else the identity of its file (device + inode: the same through
    renames by rotation), else the record's stream key (pipes, the listener).

    File-form logs carry no host name: two appliances' files that begin with the same line would
    otherwise give the same ids at the same offsets, and one document would silently replace another.
    """
    observer = record.observer
    serial = observer.get("serial_number")
    if serial:
        return f"sn:{serial}"
    host = observer.get("hostname")
    if host:
        return str(host)
    file_id = getattr(ticket, "file_id", None)
    if file_id is not None:
        return _file_identity(file_id)
    return record.appliance


@functools.lru_cache(maxsize=1024)
def _file_identity(file_id: FileId) -> str:
    return f"file:{file_id[0]}:{file_id[1]}"


# ----------------------------------------------------------------------------------------- template

_ES_TYPES: dict[str, dict[str, Any]] = {
    "keyword": {"type": "keyword", "ignore_above": 1024},
    "text": {"type": "match_only_text"},
    "long": {"type": "long"},
    "float": {"type": "float"},
    "ip": {"type": "ip"},
    "date": {"type": "date"},
    "boolean": {"type": "boolean"},
    "object": {"type": "flattened"},
}
#: OpenSearch spells the flattened type differently
_FLAVOUR_TYPES: dict[str, dict[str, str]] = {"elasticsearch": {}, "opensearch": {"flattened": "flat_object"}}
FLAVOURS = tuple(_FLAVOUR_TYPES)


def index_template(target: str, *, data_stream: bool, flavour: str = "elasticsearch") -> dict[str, Any]:
    """An index template mapping every declared event field (ECS-compatible types) for *target*."""
    from esalog.schemas import field_declarations

    if flavour not in _FLAVOUR_TYPES:
        raise ConfigError(f"unknown flavour {flavour!r} (elasticsearch or opensearch)")
    rename = _FLAVOUR_TYPES[flavour]
    properties: dict[str, Any] = {}
    for dotted, decl in sorted(field_declarations().items()):
        parts = [dotted] if dotted == "@timestamp" else dotted.split(".")
        node = properties
        for part in parts[:-1]:
            holder = node.setdefault(part, {"properties": {}})
            holder.pop("type", None)  # a parent of declared fields is an object, whatever else said
            node = holder.setdefault("properties", {})
        if parts[-1] in node and "properties" in node[parts[-1]]:
            continue  # already the parent of other declared fields
        mapping: dict[str, Any] = dict(_ES_TYPES[str(decl["type"])])
        mapping["type"] = rename.get(mapping["type"], mapping["type"])
        node[parts[-1]] = mapping
    template: dict[str, Any] = {
        "index_patterns": [target] if data_stream else [target, f"{target}-*"],
        "priority": 200,
        "template": {"mappings": {"properties": properties}},
        "_meta": {"managed_by": "esalog", "description": "esalog events (Cisco ESA mail logs, ECS-like)"},
    }
    if data_stream:
        template["data_stream"] = {}
    return template


def _root_cause(error: Any) -> str | None:
    """The innermost ``reason`` of an Elasticsearch/OpenSearch error object (``caused_by`` chains)."""
    reason = None
    while isinstance(error, dict):
        if isinstance(error.get("reason"), str):
            reason = error["reason"]
        causes = error.get("root_cause")
        error = error.get("caused_by") or (causes[0] if isinstance(causes, list) and causes else None)
    return reason


#: Per flavour: the object type its template uses, and (server that lacks it, flavour that fits that server).
_WRONG_FLAVOUR = {"elasticsearch": ("[flattened]", "OpenSearch, not Elasticsearch", "opensearch"),
                  "opensearch": ("[flat_object]", "Elasticsearch, not OpenSearch", "elasticsearch")}


def template_refusal(response: requests.Response, flavour: str) -> str:
    """Why the server refused the index template (or data stream), in one line: the root cause rather than
    the nested JSON, and which ``--es-flavour`` to use when the server speaks the other dialect."""
    error = json_body(response).get("error")
    reason = _root_cause(error) or (error if isinstance(error, str) else None)
    text = f"HTTP {response.status_code}: {reason}" if reason else response_reason(response)
    marker, server, fits = _WRONG_FLAVOUR.get(flavour, ("", "", ""))
    if marker and marker in response.text:
        text += f"; the server does not know the {marker.strip('[]')} type (it is {server}): use `--es-flavour {fits}`"
    return text


def server_flavour(root: requests.Response) -> str:
    """The template dialect of the server whose root endpoint (``GET /``) answered *root*: OpenSearch says
    ``version.distribution: opensearch``; anything else is taken for Elasticsearch."""
    version = json_body(root).get("version") if root.status_code == 200 else None
    opensearch = isinstance(version, dict) and version.get("distribution") == "opensearch"
    return "opensearch" if opensearch else "elasticsearch"


# --------------------------------------------------------------------------------------------- sink


_ES_URL = http_url("https://es.example.com:9200")


def _cluster_url(value: str) -> str | None:
    """A URL (:func:`http_url`) of the cluster itself, a proxy prefix allowed, not one of its API endpoints
    (``…/_bulk`` pasted from another shipper's configuration: esalog adds the paths)."""
    problem = _ES_URL(value)
    if problem is not None:
        return problem
    from urllib.parse import urlsplit  # (start-up: only the shipping commands take URLs)

    parts = urlsplit(value.strip())
    segments = [segment for segment in parts.path.split("/") if segment]
    endpoint = next((i for i, segment in enumerate(segments) if segment.startswith("_")), None)
    if endpoint is None:
        return None
    host = parts.netloc.rpartition("@")[2]  # a user:password@ is never shown
    base = f"{parts.scheme}://{host}" + "".join(f"/{segment}" for segment in segments[:endpoint])
    return (f"give the cluster's address, not an API endpoint: {base} (esalog adds /_bulk), "
            f"got {without_credentials(value.strip())!r}")


@dataclass(frozen=True)
class EsConfig:
    """The Elasticsearch/OpenSearch sink (``--to es``). Credentials come from the environment only."""

    urls: tuple[str, ...] = setting((), flag="--es-url", metavar="URL", repeat=True,
                                    check=each(_cluster_url),
                                    help="http(s)://host:9200 (repeatable)")
    index: str | None = setting(None, flag="--es-index", metavar="NAME",
                                help="index to write to with 'index' (default esalog)")
    data_stream: str | None = setting(None, flag="--es-data-stream", metavar="NAME",
                                      help="data stream to write to with 'create'")
    pipeline: str | None = setting(None, flag="--es-pipeline", metavar="ID", help="ingest pipeline")
    setup: bool = setting(False, flag="--es-setup",
                          help="install the index template (and create the data stream) before shipping")
    flavour: str | None = setting(None, flag="--es-flavour", choices=FLAVOURS,
                                  help="template dialect for --es-setup (opensearch: flat_object for objects); "
                                       "default: the server's own, as its root endpoint says")
    gzip: bool = setting(False, flag="--es-gzip", help="gzip _bulk bodies")
    auth: Mapping[str, str] | None = None  # the Authorization header, from the environment
    tls: TlsOptions = field(default_factory=TlsOptions)
    timeout: float = 60.0

    def __post_init__(self) -> None:
        validate(self)
        if self.index and self.data_stream:
            raise ConfigError("give --es-index or --es-data-stream, not both")

    def __repr__(self) -> str:  # never show credentials
        urls = tuple(without_credentials(url) for url in self.urls)
        return f"EsConfig(urls={urls!r}, index={self.index!r}, data_stream={self.data_stream!r})"

    @property
    def target(self) -> str:
        """Where events go: the data stream, else the index, else ``esalog``."""
        return self.data_stream or self.index or DEFAULT_INDEX

    def resolved(self, environ: Mapping[str, str], tls: TlsOptions, timeout: float | None) -> EsConfig:
        """This configuration with its credentials (environment), TLS options and timeout."""
        if not self.urls:
            raise ConfigError("--to es needs --es-url")
        auth = auth_header_from_env(environ)
        urls: list[str] = []
        in_urls: set[tuple[str, str]] = set()
        for url in self.urls:
            bare, user, password = split_userinfo(url)
            urls.append(bare)
            if user is not None:
                in_urls.add((user, password or ""))
        if in_urls:  # user:password in the URL: sent as the Authorization header, never printed
            if auth:
                raise ConfigError("credentials are given both in --es-url and in the environment; give one")
            if len(in_urls) > 1:
                raise ConfigError("every --es-url must carry the same user:password (or put them in "
                                  "ESALOG_ES_USER / ESALOG_ES_PASSWORD)")
            user, password = in_urls.pop()
            auth = {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
        return replace(self, urls=tuple(urls), auth=auth, tls=tls, timeout=timeout or self.timeout)


class EsSink(HttpSink):
    """``POST /_bulk`` with ``index`` (or ``create`` for a data stream) actions, NDJSON bodies."""

    name = "es"
    limits = BatchLimits(max_events=20_000, max_bytes=5_000_000, max_age=1.0)

    def __init__(self, config: EsConfig) -> None:
        self.config = config
        headers = {"Content-Type": "application/x-ndjson", **(config.auth or {})}
        if config.gzip:
            headers["Content-Encoding"] = "gzip"
        self.pool = EndpointPool(
            [Endpoint(url, headers, config.tls, config.timeout) for url in config.urls], self._healthy
        )
        op = "create" if config.data_stream else "index"
        self._action_head = b'{"' + op.encode() + b'":{"_index":' + orjson.dumps(config.target) + b',"_id":"'
        self.compress = config.gzip
        self.path = "/_bulk"
        self.params = {"pipeline": config.pipeline} if config.pipeline else None

    def encode_item(self, record: Record, origin: str, index: int, ticket: Any) -> Item:
        source = encode_line(record)
        identity = appliance_identity(record, ticket)
        action = self._action_head + document_id(identity, origin, index).encode() + b'"}}\n'
        return Item(action + source, ticket, len(action))

    def _healthy(self, endpoint: Endpoint) -> bool:
        try:
            return endpoint.get("/").status_code == 200
        except requests.RequestException:
            return False

    def open(self) -> None:
        self.config.tls.announce()
        if self.config.auth:
            warn_plain_http(self.pool.endpoints, "Elasticsearch credentials")
        for endpoint in self.pool.check_all():
            warn(f"Elasticsearch at {endpoint.base_url} does not answer now; it is skipped until it recovers")
        if self.config.setup:
            self.install_template()

    def install_template(self) -> None:
        """PUT the index template (and create the data stream); raises SinkError when refused."""
        endpoint = self.pool.pick()
        headers: dict[str, str | None] = {"Content-Type": "application/json", "Content-Encoding": None}
        try:
            flavour = self.config.flavour or server_flavour(endpoint.get("/"))
            template = index_template(self.config.target, data_stream=bool(self.config.data_stream), flavour=flavour)
            response = endpoint.put(f"/_index_template/{TEMPLATE_NAME}", orjson.dumps(template), headers)
            if response.status_code >= 300:
                raise SinkError(f"index template refused: {template_refusal(response, flavour)}")
            if self.config.data_stream:
                response = endpoint.put(f"/_data_stream/{self.config.data_stream}", b"", headers)
                if response.status_code >= 300 and "already_exists" not in response.text:
                    raise SinkError(f"data stream not created: {template_refusal(response, '')}")
        except requests.RequestException as exc:
            raise SinkError(f"--es-setup failed: {transport_reason(endpoint, exc)}") from exc

    def classify(self, response: requests.Response, status_class: str, items: Sequence[Item],
                 endpoint: Endpoint) -> Outcome:
        """Per-item outcome of a ``_bulk`` answer: 2xx/409 done, 429/5xx again, other 4xx dead letter."""
        if status_class == OK:
            return self._items_outcome(response, items, endpoint)
        reason = f"Elasticsearch {endpoint.base_url} {response_reason(response)}"
        if status_class == TOO_LARGE:
            return Split(reason)
        if status_class == AUTH:
            return Stop(f"{reason}: credentials refused; {_AUTH_HELP}")
        if status_class == RETRY:
            return Retry(reason, retry_after_of(response))
        if status_class == BAD_REQUEST:
            return Reject(tuple((item, reason) for item in items))
        return Stop(f"{reason}: check --es-url")

    def _items_outcome(
        self, response: requests.Response, items: Sequence[Item], endpoint: Endpoint
    ) -> Outcome:
        content = response.content
        # the usual answer, no need to read 20,000 items: no error, and one status per action sent (an answer
        # that leaves items out says nothing of them: read whole, it is sent again)
        if b'"errors":false' in content[:80] and content.count(b'"status":') == len(items):
            return Delivered()
        body = json_body(response)
        results = body.get("items")
        if not isinstance(results, list):  # not a _bulk result at all: a web server, a proxy's page
            kind = (response.headers.get("Content-Type") or "no content type").split(";")[0].strip()
            text = " ".join(masked_secrets(response.text, response).split())[:120]
            return Retry(f"Elasticsearch {endpoint.base_url}: _bulk answer is not a bulk result (HTTP "
                         f"{response.status_code}, {kind}): {text or '(empty)'}; is --es-url the cluster's address?")
        if len(results) != len(items):
            return Retry(f"Elasticsearch {endpoint.base_url}: _bulk answer does not list every item")
        again: list[Item] = []
        refused: list[tuple[Item, str]] = []
        for item, result in zip(items, results, strict=True):
            detail = next(iter(result.values())) if isinstance(result, dict) and result else None
            if not isinstance(detail, dict):
                detail = {}
            status = detail.get("status")
            if not isinstance(status, int) or isinstance(status, bool):  # no item outcome to act on: send again
                return Retry(f"Elasticsearch {endpoint.base_url}: _bulk answer item without a status: "
                             f"{orjson.dumps(result)[:120].decode(errors='replace')}")
            if 200 <= status < 300 or status == 409:
                continue
            error = detail.get("error")
            reason = _item_reason(status, error)
            if status == 429 or status >= 500:
                again.append(item)
            else:
                refused.append((item, reason))
        if again:
            return RetryPartial(
                tuple(again),
                f"{len(again)} items throttled or failed on the server",
                rejected=tuple(refused),
                retry_after=retry_after_of(response),
            )
        if refused:
            return Reject(tuple(refused))
        return Delivered()


def _item_reason(status: int, error: Any) -> str:
    if isinstance(error, dict):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict):
            text += f" (caused by {cause.get('type')}: {cause.get('reason')})"
        return f"item {status} {text}"
    return f"item {status} {error or ''}".rstrip()
