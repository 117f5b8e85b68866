"""The sinks of ``esalog ship`` and ``esalog listen``: stdout, NDJSON files, Splunk HEC and
Elasticsearch/OpenSearch, delivered at least once through one shared mechanism (:mod:`esalog.connectors.base`)."""

from esalog.connectors.base import (
    DeadLetter,
    Delivered,
    Driver,
    Outcome,
    Pending,
    Reject,
    Retry,
    RetryPartial,
    Sink,
    SinkStats,
    Split,
    Stop,
)
from esalog.connectors.batch import Batcher, BatchLimits, Item
from esalog.connectors.retry import RetriesExhausted, RetryPolicy

__all__ = [
    "BatchLimits",
    "Batcher",
    "DeadLetter",
    "Delivered",
    "Driver",
    "Item",
    "Outcome",
    "Pending",
    "Reject",
    "RetriesExhausted",
    "Retry",
    "RetryPartial",
    "RetryPolicy",
    "Sink",
    "SinkStats",
    "Split",
    "Stop",
]
