"""Test kit: fake Splunk HEC and Elasticsearch servers on 127.0.0.1 with fault injection.

``with FakeHEC(token=...) as hec: ... hec.url, hec.events, hec.faults.status(503, times=3)``
``with FakeElasticsearch() as es: ... es.url, es.ids(), es.faults.item_status(429)``
"""

from esalog.fakes._server import Fault, Faults
from esalog.fakes.elasticsearch import FakeElasticsearch
from esalog.fakes.hec import FakeHEC

__all__ = ["FakeElasticsearch", "FakeHEC", "Fault", "Faults"]
