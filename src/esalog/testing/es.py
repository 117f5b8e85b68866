"""A protocol-faithful fake Elasticsearch ``_bulk`` server (``with FakeElasticsearch() as es: es.url``).

From the reference facts: NDJSON bodies that must end with ``\\n``; ``Content-Type``
``application/x-ndjson`` or ``application/json`` (anything else 406); gzip bodies; 413 over
``max_body``; per-item results in request order with ``errors``; ``create`` on an existing ``_id`` is
409; data streams accept only ``create``; ``?pipeline=`` must name a known pipeline; optional auth
(ApiKey, Basic or Bearer; 401 ``security_exception``); index templates, data streams, ``_count``.
"""

from __future__ import annotations

import base64
import fnmatch
import gzip
import itertools
import threading
from typing import Any

import orjson

from esalog.testing._server import FakeServer, Fault, Reply, Request, serve_until_interrupted

_MAPPING_TYPES = frozenset(
    {
        "keyword",
        "match_only_text",
        "text",
        "long",
        "integer",
        "short",
        "byte",
        "double",
        "float",
        "half_float",
        "scaled_float",
        "ip",
        "date",
        "date_nanos",
        "boolean",
        "flattened",
        "object",
        "nested",
        "wildcard",
        "constant_keyword",
    }
)


def _error(status: int, kind: str, reason: str) -> Reply:
    return Reply(
        status,
        {
            "error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason},
            "status": status,
        },
    )


class FakeElasticsearch(FakeServer):
    """Fake ES. ``docs[index][_id]`` gives every stored document."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        user: str | None = None,
        password: str | None = None,
        bearer: str | None = None,
        tls: tuple[str, str] | None = None,
        max_body: int = 100 * 1024 * 1024,
    ) -> None:
        super().__init__(tls)
        self._auth = set()
        if api_key:
            self._auth.add(f"ApiKey {api_key}")
        if user and password:
            self._auth.add("Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
        if bearer:
            self._auth.add(f"Bearer {bearer}")
        self.max_body = max_body
        # stored sources as received (bytes: thousands of parsed dicts would make the GC crawl)
        self._sources: dict[str, dict[str, bytes]] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        self.data_streams: set[str] = set()
        self.pipelines: dict[str, dict[str, Any]] = {}
        self.bulk_requests = 0
        self.item_statuses: dict[int, int] = {}  # item status -> count (what the fake answered)
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def error_body(self, status: int) -> dict[str, Any]:
        kinds = {429: "es_rejected_execution_exception", 503: "unavailable_shards_exception"}
        kind = kinds.get(status, "exception")
        return {"error": {"type": kind, "reason": f"injected {status}"}, "status": status}

    def is_data_request(self, method: str, path: str) -> bool:
        return method in ("POST", "PUT") and path.endswith("/_bulk")

    # ---------------------------------------------------------------------------------------- routing

    def handle(self, request: Request, fault: Fault | None) -> Reply:
        if self._auth and request.headers.get("authorization") not in self._auth:
            return _error(
                401,
                "security_exception",
                "unable to authenticate user for REST request [" + request.path + "]",
            )
        parts = [p for p in request.path.split("/") if p]
        method = request.method
        if not parts:
            return Reply(
                200,
                {
                    "name": "fake-es",
                    "cluster_name": "esalog-fake",
                    "version": {"number": "8.15.0", "build_flavor": "default"},
                    "tagline": "You Know, for Search",
                },
                {"X-Elastic-Product": "Elasticsearch"},
            )
        if parts[-1] == "_bulk" and method in ("POST", "PUT"):
            return self._bulk(request, parts[0] if len(parts) == 2 else None, fault)
        if parts[0] == "_index_template" and len(parts) == 2:
            return self._template(method, parts[1], request.body)
        if parts[0] == "_data_stream" and len(parts) == 2 and method == "PUT":
            return self._create_data_stream(parts[1])
        if parts[:2] == ["_ingest", "pipeline"] and len(parts) == 3 and method == "PUT":
            self.pipelines[parts[2]] = orjson.loads(request.body or b"{}")
            return Reply(200, {"acknowledged": True})
        if len(parts) == 2 and parts[1] == "_count":
            return Reply(200, {"count": self.count(parts[0])})
        if len(parts) == 2 and parts[1] == "_refresh":
            return Reply(200, {"_shards": {"total": 1, "successful": 1, "failed": 0}})
        return _error(404, "resource_not_found_exception", f"no handler for [{method} {request.path}]")

    # ------------------------------------------------------------------------------------------ bulk

    def _bulk(self, request: Request, url_index: str | None, fault: Fault | None) -> Reply:
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type not in ("application/x-ndjson", "application/json"):
            return Reply(
                406, {"error": f"Content-Type header [{content_type}] is not supported", "status": 406}
            )
        body = request.body
        if request.headers.get("content-encoding", "").lower() == "gzip":
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError):
                return _error(400, "parse_exception", "request body is not valid gzip")
        if len(body) > self.max_body:
            return Reply(413, {"error": f"request body is larger than {self.max_body} bytes", "status": 413})
        if not body.endswith(b"\n"):
            return _error(
                400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]"
            )
        lines = body.split(b"\n")[:-1]
        pipeline = request.query.get("pipeline")
        items: list[dict[str, Any]] = []
        every = fault.every if fault is not None and fault.kind == "item_status" else 0
        operations: list[tuple[str, dict[str, Any], bytes]] = []
        for position in range(0, len(lines), 2):  # the whole request is validated before any write
            try:
                action = orjson.loads(lines[position])
                ((op, meta),) = action.items()
            except (ValueError, TypeError):
                return _error(
                    400, "illegal_argument_exception", f"Malformed action/metadata line [{position + 1}]"
                )
            if op not in ("index", "create"):
                return _error(400, "illegal_argument_exception", f"unsupported action [{op}] in this fake")
            if position + 1 >= len(lines):
                return _error(
                    400, "action_request_validation_exception", "Validation Failed: source is missing"
                )
            operations.append((op, meta, lines[position + 1]))
        streams: dict[str | None, bool] = {}  # index -> is a data stream (once per request)
        errors = False
        with self._lock:
            self.bulk_requests += 1
            self.requests += 1
            for number, (op, meta, source) in enumerate(operations):
                index = meta.get("_index") or url_index
                if every and number % every == every - 1:
                    status = fault.status  # type: ignore[union-attr]
                    kind = "es_rejected_execution_exception" if status == 429 else "exception"
                    item = self._item(op, index, meta.get("_id"), status, error=(kind, "injected"))
                else:
                    if index not in streams:
                        streams[index] = bool(index) and self._is_data_stream(index)  # type: ignore[arg-type]
                    item = self._write(op, index, meta.get("_id"), source, pipeline, streams[index])
                items.append(item)
                errors = errors or item[op]["status"] >= 300
        return Reply(200, {"took": 1, "errors": errors, "items": items})

    def _write(
        self,
        op: str,
        index: str | None,
        doc_id: str | None,
        source: bytes,
        pipeline: str | None,
        data_stream: bool,
    ) -> dict[str, Any]:
        if not index:
            return self._item(
                op, index, doc_id, 400, error=("action_request_validation_exception", "index is missing")
            )
        if pipeline and pipeline != "_none" and pipeline not in self.pipelines:
            return self._item(
                op,
                index,
                doc_id,
                400,
                error=("illegal_argument_exception", f"pipeline with id [{pipeline}] does not exist"),
            )
        if data_stream and op != "create":
            return self._item(
                op,
                index,
                doc_id,
                400,
                error=(
                    "illegal_argument_exception",
                    f"only write ops with an op_type of create are allowed in data streams [{index}]",
                ),
            )
        try:
            doc = orjson.loads(source)
        except orjson.JSONDecodeError as exc:
            return self._item(
                op,
                index,
                doc_id,
                400,
                error=("mapper_parsing_exception", "failed to parse"),
                cause=("json_parse_exception", str(exc)),
            )
        if not isinstance(doc, dict):
            return self._item(op, index, doc_id, 400, error=("mapper_parsing_exception", "not an object"))
        marker = self.faults.marker
        if marker is not None and marker in source:
            return self._item(
                op,
                index,
                doc_id,
                400,
                error=(
                    "mapper_parsing_exception",
                    "failed to parse field [message] of type [match_only_text]",
                ),
            )
        if doc_id is None:
            doc_id = f"auto{next(self._seq)}"
        store = self._sources.setdefault(index, {})
        if doc_id in store:
            if op == "create":
                return self._item(
                    op,
                    index,
                    doc_id,
                    409,
                    error=(
                        "version_conflict_engine_exception",
                        f"[{doc_id}]: version conflict, document already exists (current version [1])",
                    ),
                )
            store[doc_id] = source
            return self._item(op, index, doc_id, 200, result="updated")
        store[doc_id] = source
        return self._item(op, index, doc_id, 201, result="created")

    def _item(
        self,
        op: str,
        index: str | None,
        doc_id: str | None,
        status: int,
        *,
        result: str | None = None,
        error: tuple[str, str] | None = None,
        cause: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        self.item_statuses[status] = self.item_statuses.get(status, 0) + 1
        detail: dict[str, Any] = {"_index": index, "_id": doc_id, "status": status}
        if result is not None:
            detail.update(
                _version=1,
                result=result,
                _seq_no=next(self._seq),
                _primary_term=1,
                _shards={"total": 1, "successful": 1, "failed": 0},
            )
        if error is not None:
            detail["error"] = {"type": error[0], "reason": error[1], "index": index}
            if cause is not None:
                detail["error"]["caused_by"] = {"type": cause[0], "reason": cause[1]}
        return {op: detail}

    # ------------------------------------------------------------------------ templates and streams

    def _template(self, method: str, name: str, body: bytes) -> Reply:
        if method == "GET":
            if name not in self.templates:
                return _error(
                    404, "resource_not_found_exception", f"index template matching [{name}] not found"
                )
            return Reply(200, {"index_templates": [{"name": name, "index_template": self.templates[name]}]})
        if method != "PUT":
            return _error(405, "exception", "method not allowed")
        try:
            template = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _error(400, "parse_exception", "request body is not valid JSON")
        if not isinstance(template, dict) or not template.get("index_patterns"):
            return _error(400, "action_request_validation_exception", "index patterns are missing")
        mappings = (template.get("template") or {}).get("mappings") or {}
        bad = _bad_mapping(mappings.get("properties") or {}, "")
        if bad:
            return _error(400, "mapper_parsing_exception", bad)
        self.templates[name] = template
        return Reply(200, {"acknowledged": True})

    def _matching_template(self, index: str) -> dict[str, Any] | None:
        for template in sorted(self.templates.values(), key=lambda t: -int(t.get("priority", 0))):
            if any(fnmatch.fnmatchcase(index, p) for p in template["index_patterns"]):
                return template
        return None

    def _is_data_stream(self, index: str) -> bool:
        if index in self.data_streams:
            return True
        template = self._matching_template(index)
        if template is not None and "data_stream" in template and index not in self._sources:
            self.data_streams.add(index)  # auto-created on first write, like ES
            return True
        return False

    def _create_data_stream(self, name: str) -> Reply:
        if name in self.data_streams:
            return _error(400, "resource_already_exists_exception", f"data_stream [{name}] already exists")
        template = self._matching_template(name)
        if template is None or "data_stream" not in template:
            return _error(
                400,
                "illegal_argument_exception",
                f"no matching index template with a data stream template found for [{name}]",
            )
        self.data_streams.add(name)
        return Reply(200, {"acknowledged": True})

    # ----------------------------------------------------------------------------------------- views

    def count(self, index: str) -> int:
        with self._lock:
            return sum(len(docs) for name, docs in self._sources.items() if fnmatch.fnmatchcase(name, index))

    def ids(self, index: str | None = None) -> set[str]:
        """Every stored ``_id`` (of one index, or of all)."""
        with self._lock:
            return {
                doc_id for name, docs in self._sources.items() if index in (None, name) for doc_id in docs
            }

    @property
    def docs(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Every stored document, parsed: ``docs[index][_id]``."""
        with self._lock:
            return {
                name: {doc_id: orjson.loads(source) for doc_id, source in docs.items()}
                for name, docs in self._sources.items()
            }


def _bad_mapping(properties: dict[str, Any], prefix: str) -> str | None:
    for name, mapping in properties.items():
        if "properties" in mapping:
            bad = _bad_mapping(mapping["properties"], f"{prefix}{name}.")
            if bad:
                return bad
            continue
        kind = mapping.get("type")
        if kind not in _MAPPING_TYPES:
            return f"No handler for type [{kind}] declared on field [{prefix}{name}]"
    return None


def main(argv: list[str] | None = None) -> int:
    """``python -m esalog.testing.es``: a local ``_bulk`` server to try ``esalog ship --to es``."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m esalog.testing.es",
                                 description="A fake Elasticsearch (_bulk, templates, data streams) on 127.0.0.1.")
    ap.add_argument("--port", type=int, default=9200, help="port on 127.0.0.1 (default 9200; 0 = any free)")
    args = ap.parse_args(argv)
    server = FakeElasticsearch()
    server.port = args.port
    banner = [
        "fake Elasticsearch listening at {url}",
        "  esalog ship --to es --es-url {url} --es-setup examples/logs/*.log",
        "Ctrl-C to stop",
    ]
    return serve_until_interrupted(server, banner, lambda: server.count("*"), "documents stored", ap.prog)


if __name__ == "__main__":
    raise SystemExit(main())
