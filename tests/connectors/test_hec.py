"""HEC sink: envelope encoding, URL handling and the classification of real answers from the fake HEC."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest

from esalog.connectors.base import Delivered, Pending, Reject, Retry, RetryPartial, Split, Stop
from esalog.connectors.hec import HecConfig, HecSink, flat_fields, split_hec_url
from esalog.parsers.record import Record
from esalog.testing import FakeHEC
from tests.connectors.conftest import encoded_both_ways, shipped_records

TOKEN = "3f1c2a55-7d1e-4c55-9a43-0123456789ab"
EVENT = {
    "@timestamp": "2026-11-02T07:00:01.250Z",
    "message": "Start MID 7 ICID 3",
    "event": {"original": "Mon Nov  2 08:00:01 2026 Info: Start MID 7 ICID 3", "action": "message-started"},
    "observer": {"hostname": "esa1.example", "vendor": "Cisco"},
    "cisco": {"esa": {"mid": 7, "icid": 3, "rid": [0, 1], "rdns_verified": True}},
    "tags": ["a"],
}


def sink(url: str, **kw: Any) -> HecSink:
    return HecSink(HecConfig(urls=(url,), token=TOKEN, **kw))


def test_event_mode_envelope() -> None:
    """time = epoch seconds with milliseconds, host = the appliance, our JSON as event."""
    item = sink("http://127.0.0.1:1").encode_item(Record.of_document(EVENT), "o", 0, None)
    envelope = orjson.loads(item.data)
    assert {
        "time": 1793602801.25,
        "host": "esa1.example",
        "sourcetype": "cisco:esa:json",
        "event": EVENT,
    } == envelope
    assert item.data.endswith(b"\n")


@pytest.mark.parametrize("mode", ["event", "raw-fields"])
def test_summaries_go_as_json_under_the_summary_sourcetype(mode: str) -> None:
    """Message summaries are sent as JSON with the sourcetype the Splunk app maps to CIM Email."""
    from esalog.names import SUMMARY_SOURCETYPE

    summary = {**EVENT, "event": {"action": "message-summary", "kind": "state"}}
    envelope = orjson.loads(sink("http://127.0.0.1:1", mode=mode).encode_item(Record.of_document(summary), "o", 0, None).data)
    assert (SUMMARY_SOURCETYPE, summary) == (envelope["sourcetype"], envelope["event"])
    assert "fields" not in envelope


def test_time_is_always_sent() -> None:
    """An event without a usable @timestamp still gets a time (event.created, else now)."""
    hec_sink = sink("http://127.0.0.1:1")
    created = {"event": {"created": "2026-11-02T07:00:00.000Z"}, "message": "x"}
    assert 1793602800.0 == orjson.loads(hec_sink.encode_item(Record.of_document(created), "o", 0, None).data)["time"]
    assert orjson.loads(hec_sink.encode_item(Record.of_document({"message": "x"}), "o", 0, None).data)["time"] > 1.7e9


def test_raw_fields_mode_envelope() -> None:
    """raw-fields: the original line as event, flat string fields, the add-on's sourcetype."""
    item = sink("http://127.0.0.1:1", mode="raw-fields", index="email").encode_item(Record.of_document(EVENT), "o", 0, None)
    envelope = orjson.loads(item.data)
    assert EVENT["event"]["original"] == envelope["event"]
    assert ("cisco:esa:textmail", "email") == (envelope["sourcetype"], envelope["index"])
    assert {
        "cisco.esa.mid": "7",
        "cisco.esa.rid": ["0", "1"],
        "cisco.esa.rdns_verified": "true",
        "event.action": "message-started",
    }.items() <= envelope["fields"].items()
    assert "event.original" not in envelope["fields"] and "message" not in envelope["fields"]


def test_flat_fields_skip_nested_lists() -> None:
    """Lists of objects cannot be indexed fields in Splunk (code 15): they are left out."""
    assert {"a.b": "1"} == flat_fields({"a": {"b": 1}, "email": {"attachments": [{"x": 1}]}, "z": [{"y": 1}]})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://splunk:8088", ("https://splunk:8088", "/services/collector/event")),
        ("https://splunk:8088/", ("https://splunk:8088", "/services/collector/event")),
        (
            "https://lb/splunk/services/collector/event/1.0",
            ("https://lb/splunk", "/services/collector/event/1.0"),
        ),
    ],
)
def test_split_hec_url(url: str, expected: tuple[str, str]) -> None:
    """A bare base URL gets the event endpoint; a full collector URL is kept."""
    assert expected == split_hec_url(url)


def items_for(hec_sink: HecSink, count: int) -> list[Any]:
    return [hec_sink.encode_item(Record.of_document({**EVENT, "message": f"m{n}"}), "o", n, None) for n in range(count)]


def test_gzip_batch_is_delivered() -> None:
    """A gzip body of concatenated objects is accepted and every object indexed."""
    with FakeHEC(token=TOKEN) as hec:
        s = sink(hec.url)
        assert Delivered() == s.send(items_for(s, 5))
        assert [f"m{n}" for n in range(5)] == [e["message"] for e in hec.event_payloads()]


def test_invalid_event_number_resends_only_the_rest() -> None:
    """400 with invalid-event-number: earlier objects are indexed, the bad one rejected, the rest resent."""
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.bad_event(b'"m2"')
        s = sink(hec.url)
        items = items_for(s, 5)
        outcome = s.send(items)
        assert isinstance(outcome, RetryPartial) and not outcome.backoff
        assert (items[3:], [items[2]]) == (list(outcome.items), [i for i, _ in outcome.rejected])
        assert "invalid-event-number" in outcome.rejected[0][1]
        assert ["m0", "m1"] == [e["message"] for e in hec.event_payloads()]


def test_bad_token_stops_with_a_clear_message() -> None:
    """403 stops at once; the message names the token's source and never contains a token."""
    with FakeHEC(token=TOKEN) as hec:
        s = HecSink(HecConfig(urls=(hec.url,), token="wrong-token-4711"))
        outcome = s.send(items_for(s, 1))
        assert isinstance(outcome, Stop)
        assert "HTTP 403, code 4" in outcome.reason and "ESALOG_HEC_TOKEN" in outcome.reason
        assert TOKEN not in outcome.reason and "wrong-token-4711" not in outcome.reason


def test_busy_and_throttled_are_retried_with_retry_after() -> None:
    """503 (code 9) and 429 + Retry-After become Retry; nothing is indexed."""
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.status(503).status(429, retry_after=7)
        s = sink(hec.url)
        first, second = s.send(items_for(s, 2)), s.send(items_for(s, 2))
        assert isinstance(first, Retry) and '"code":9' in first.reason
        assert isinstance(second, Retry) and 7.0 == second.retry_after
        assert [] == hec.events


def test_too_large_splits_and_bad_index_rejects() -> None:
    """413 asks for a split; a 400 without invalid-event-number rejects the batch (dead letter)."""
    with FakeHEC(token=TOKEN, max_content_length=300) as hec:
        s = sink(hec.url, gzip=False)
        assert isinstance(s.send(items_for(s, 5)), Split)
    with FakeHEC(token=TOKEN, allowed_indexes=("email",)) as hec:
        s = sink(hec.url, index="main")
        outcome = s.send(items_for(s, 1))
        assert isinstance(outcome, RetryPartial | Reject)


def test_indexer_ack_on_a_pinned_channel() -> None:
    """With --hec-ack the answer is Pending(ackId) on the endpoint's channel; the poll confirms it."""
    with FakeHEC(token=TOKEN, ack=True) as hec:
        s = sink(hec.url, ack=True)
        first, second = s.send(items_for(s, 2)), s.send(items_for(s, 2))
        assert (Pending((0, 0)), Pending((0, 1))) == (first, second)
        assert {(0, 0), (0, 1)} == s.poll([(0, 0), (0, 1)])
        assert set() == s.poll([(0, 0)])  # Splunk forgets an id once reported
        assert {s.pool.endpoints[0].channel} == hec.channels_seen


def test_fake_raw_endpoint_accepts_gzip_lines() -> None:
    """The fake also serves /raw (what Fluent Bit's Splunk_Send_Raw sends)."""
    import requests

    with FakeHEC(token=TOKEN) as hec:
        body = gzip.compress(b"line one\nline two\n")
        response = requests.post(
            hec.url + "/services/collector/raw?sourcetype=x",
            data=body,
            timeout=5,
            headers={"Authorization": f"Splunk {TOKEN}", "Content-Encoding": "gzip"},
        )
        assert 200 == response.status_code
        assert ["line one", "line two"] == hec.raw


@pytest.mark.parametrize("mode", ["event", "raw-fields"])
def test_a_block_of_lines_is_encoded_as_one_by_one(tmp_path: Path, mode: str) -> None:
    """encode_lines (the compiled core frames the core's events of a block) makes byte for byte the items
    encode_item makes one at a time, each with the ticket of its line, in order."""
    records, ends = shipped_records(tmp_path / "mail.@20261102T080000.s", EVENT)
    hec_sink = sink("http://127.0.0.1:1", mode=mode, index="mail",
                    sourcetypes={"cisco_esa.mail_logs": "cisco:esa:json:mail"})
    expected, items = encoded_both_ways(hec_sink, records, ends)
    assert expected == [(item.data, item.ticket) for item in items]
    if mode == "event":
        assert {"cisco:esa:json:mail", "cisco:esa:message"} <= {orjson.loads(i.data)["sourcetype"] for i in items}
