"""The test kit, shipped as API: fake Splunk HEC and Elasticsearch servers with fault injection, the
pack-example runner, a capturing sink with a sink-compliance check, NDJSON helpers and the log generator.

``with FakeHEC(token=...) as hec: ... hec.url, hec.events, hec.faults.status(503, times=3)``
``with FakeElasticsearch() as es: ... es.url, es.ids(), es.faults.item_status(429)``
``python -m esalog.testing.hec`` / ``python -m esalog.testing.es``: run one for trying esalog out.

Names load on first use, so that ``python -m esalog.testing.hec`` does not import itself twice.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "EXAMPLE_TODAY": "esalog.testing.examples",
    "ExampleResult": "esalog.testing.examples",
    "check_fields": "esalog.testing.examples",
    "parse_event": "esalog.testing.examples",
    "run_pack_examples": "esalog.testing.examples",
    "CapturingSink": "esalog.testing.kit",
    "StderrLines": "esalog.testing.kit",
    "assert_sink_compliance": "esalog.testing.kit",
    "read_ndjson": "esalog.testing.kit",
    "Fault": "esalog.testing._server",
    "Faults": "esalog.testing._server",
    "FakeElasticsearch": "esalog.testing.es",
    "FakeHEC": "esalog.testing.hec",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'esalog.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
