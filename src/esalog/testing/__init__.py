"""The test kit, shipped as API: fake Splunk HEC and Elasticsearch servers with fault injection, the
pack-example runner, a capturing sink with a sink-compliance check, NDJSON helpers and the log generator.

``with FakeHEC(token=...) as hec: ... hec.url, hec.events, hec.faults.status(503, times=3)``
``with FakeElasticsearch() as es: ... es.url, es.ids(), es.faults.item_status(429)``
``python -m esalog.testing.hec`` / ``python -m esalog.testing.es``: run one for trying esalog out.
"""

from esalog.testing._server import Fault, Faults
from esalog.testing.es import FakeElasticsearch
from esalog.testing.examples import EXAMPLE_TODAY, ExampleResult, check_fields, parse_event, run_pack_examples
from esalog.testing.hec import FakeHEC
from esalog.testing.kit import CapturingSink, assert_sink_compliance, read_ndjson

__all__ = [
    "EXAMPLE_TODAY",
    "CapturingSink",
    "ExampleResult",
    "FakeElasticsearch",
    "FakeHEC",
    "Fault",
    "Faults",
    "assert_sink_compliance",
    "check_fields",
    "parse_event",
    "read_ndjson",
    "run_pack_examples",
]
