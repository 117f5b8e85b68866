"""Elasticsearch sink: ids, auth, the template, and per-item classification of real fake-ES answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from esalog.connectors.base import Delivered, Reject, RetryPartial, Split, Stop
from esalog.connectors.es import EsConfig, EsSink, auth_header_from_env, document_id, index_template
from esalog.errors import ConfigError
from esalog.parsers.record import Record
from esalog.schemas import field_declarations
from esalog.testing import FakeElasticsearch
from tests.connectors.conftest import encoded_both_ways, shipped_records

EVENT = {
    "@timestamp": "2026-11-02T07:00:01.000Z",
    "message": "Start MID 7 ICID 3",
    "observer": {"hostname": "esa1"},
    "cisco": {"esa": {"mid": 7}},
}


def test_document_id_is_deterministic_and_distinct() -> None:
    """Same appliance, input position and index -> same _id; any difference -> another _id."""
    assert document_id("esa1", "k:10", 0) == document_id("esa1", "k:10", 0)
    assert (
        len(
            {
                document_id("esa1", "k:10", 0),
                document_id("esa1", "k:10", 1),
                document_id("esa1", "k:11", 0),
                document_id("esa2", "k:10", 0),
            }
        )
        == 4
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ESALOG_ES_API_KEY": "abc=="}, "ApiKey abc=="),
        ({"ESALOG_ES_USER": "elastic", "ESALOG_ES_PASSWORD": "pw"}, "Basic ZWxhc3RpYzpwdw=="),
        ({"ESALOG_ES_BEARER_TOKEN": "tok"}, "Bearer tok"),
    ],
)
def test_auth_from_environment(env: dict[str, str], expected: str) -> None:
    """Each supported credential becomes the matching Authorization header."""
    assert {"Authorization": expected} == auth_header_from_env(env)


def test_conflicting_credentials_are_refused() -> None:
    """Two credential kinds at once is a configuration error, not a silent choice."""
    with pytest.raises(ConfigError):
        auth_header_from_env({"ESALOG_ES_API_KEY": "a", "ESALOG_ES_BEARER_TOKEN": "b"})
    with pytest.raises(ConfigError):
        auth_header_from_env({"ESALOG_ES_USER": "a"})


def mapped_leaves(properties: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out = {}
    for name, mapping in properties.items():
        if "properties" in mapping:
            out.update(mapped_leaves(mapping["properties"], f"{prefix}{name}."))
        else:
            out[prefix + name] = mapping["type"]
    return out


def test_template_maps_every_declared_field() -> None:
    """Every field of fields.yaml is mapped, with the ECS-compatible type of its declaration."""
    template = index_template("logs-esa-default", data_stream=True)
    leaves = mapped_leaves(template["template"]["mappings"]["properties"])
    expected_type = {
        "keyword": "keyword",
        "text": "match_only_text",
        "long": "long",
        "float": "float",
        "ip": "ip",
        "date": "date",
        "boolean": "boolean",
        "object": "flattened",
    }
    assert {name: expected_type[d["type"]] for name, d in field_declarations().items()} == leaves
    assert ({}, ["logs-esa-default"]) == (template["data_stream"], template["index_patterns"])


def test_opensearch_flavour_uses_flat_object() -> None:
    """OpenSearch has no 'flattened' type; its flavour says flat_object."""
    leaves = mapped_leaves(
        index_template("esalog", data_stream=False, flavour="opensearch")["template"]["mappings"][
            "properties"
        ]
    )
    assert "flat_object" == leaves["labels"] and "flattened" not in leaves.values()


def make_sink(url: str, **kw: Any) -> EsSink:
    return EsSink(EsConfig(urls=(url,), **kw))


def items_for(es_sink: EsSink, count: int, origin: str = "k") -> list[Any]:
    return [
        es_sink.encode_item(Record.of_document({**EVENT, "message": f"m{n}"}), f"{origin}:{n}", 0, None) for n in range(count)
    ]


def test_bulk_body_and_delivery() -> None:
    """index actions with _index and _id, NDJSON ending in a newline; all stored."""
    with FakeElasticsearch() as es:
        s = make_sink(es.url, index="esa")
        items = items_for(s, 3)
        action = orjson.loads(items[0].data.split(b"\n")[0])
        assert {"index": {"_index": "esa", "_id": document_id("esa1", "k:0", 0)}} == action
        assert Delivered() == s.send(items)
        assert 3 == es.count("esa")


def test_per_item_outcomes() -> None:
    """409 counts as delivered, 429 items are retried alone, 400 items are rejected with the reason."""
    with FakeElasticsearch() as es:
        s = make_sink(es.url, data_stream="logs-esa-default", setup=True)
        s.open()
        items = items_for(s, 6)
        assert Delivered() == s.send(items[:1])
        es.faults.item_status(429, every=3).bad_event(b'"m4"')
        outcome = s.send(items)
        assert isinstance(outcome, RetryPartial)
        assert [items[2], items[5]] == list(outcome.items)
        assert [items[4]] == [i for i, _ in outcome.rejected]
        assert "mapper_parsing_exception" in outcome.rejected[0][1]
        assert {201: 3, 409: 1, 429: 2, 400: 1} == es.item_statuses


def test_data_stream_uses_create_and_pipeline_must_exist() -> None:
    """A data stream takes 'create' (an 'index' op is refused per item); a missing pipeline is rejected."""
    with FakeElasticsearch() as es:
        make_sink(es.url, data_stream="logs-esa-default", setup=True).open()
        assert "logs-esa-default" in es.data_streams
        assert Delivered() == make_sink(es.url, data_stream="logs-esa-default").send(
            items_for(make_sink(es.url, data_stream="logs-esa-default"), 2)
        )
        wrong = make_sink(es.url, index="logs-esa-default")
        refused = wrong.send(items_for(wrong, 1, origin="other"))
        assert isinstance(refused, Reject) and "op_type of create" in refused.items[0][1]
        piped = make_sink(es.url, index="esa", pipeline="nope")
        assert isinstance(piped.send(items_for(piped, 1)), Reject)


def test_request_level_answers() -> None:
    """413 splits; 401 stops with a hint about the credential variables."""
    with FakeElasticsearch(max_body=200) as es:
        s = make_sink(es.url)
        assert isinstance(s.send(items_for(s, 5)), Split)
    with FakeElasticsearch(api_key="right") as es:
        s = make_sink(es.url, auth={"Authorization": "ApiKey wrong"})
        outcome = s.send(items_for(s, 1))
        assert isinstance(outcome, Stop) and "ESALOG_ES_API_KEY" in outcome.reason
        good = make_sink(es.url, auth={"Authorization": "ApiKey right"})
        assert Delivered() == good.send(items_for(good, 1))


def test_a_block_of_lines_is_encoded_as_one_by_one(tmp_path: Path) -> None:
    """encode_lines makes the items (and so the _id s) encode_item makes one at a time: each event's origin is
    its line's, its index its place among the line's events, its ticket its line's."""
    records, ends = shipped_records(tmp_path / "mail.@20261102T080000.s",
                                    {"@timestamp": "2026-11-02T07:00:01.250Z", "message": "m", "observer": {}})
    expected, items = encoded_both_ways(EsSink(EsConfig(urls=("http://127.0.0.1:1",))), records, ends)
    assert expected == [(item.data, item.ticket) for item in items]
    assert len({orjson.loads(item.data.split(b"\n")[0])["index"]["_id"] for item in items}) == len(items)
