"""Contract tests against a real third-party OpenSearch-compatible server: osmem-server (PyPI).

Started on 127.0.0.1 with a free port (``-addr 127.0.0.1:0``), ``-no-stdin-watch`` and ``-parent-pid``
(as test-peers.md advises), stopped by its pid. Volumes stay small: osmem is slow and memory-hungry.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from esalog.connectors.base import Delivered, Reject
from esalog.connectors.es import EsConfig, EsSink
from esalog.parsers.record import Record
from esalog.testing.peers import osmem_server  # a dev extra: missing, these tests fail, never skip
from tests.conftest import run_cli
from tests.connectors.conftest import write_log


@pytest.fixture(scope="module")
def osmem() -> Iterator[str]:
    """The URL of a private osmem-server (an OpenSearch-compatible server from PyPI) for this module."""
    with osmem_server() as url:
        yield url


def search(url: str, index: str, body: dict[str, Any]) -> dict[str, Any]:
    requests.post(f"{url}/{index}/_refresh", timeout=30)
    return requests.post(f"{url}/{index}/_search", json=body, timeout=30).json()


def test_template_accepted_and_round_trip(osmem: str, tmp_path: Path) -> None:
    """--es-setup (OpenSearch flavour) installs our template; shipped lines come back via _count/_search."""
    log = write_log(tmp_path / "mail.@20261102T080000.s", 300)
    result = run_cli(
        "ship",
        "--to",
        "es",
        "--es-url",
        osmem,
        "--es-index",
        "esa-rt",
        "--es-setup",
        "--es-flavour",
        "opensearch",
        "--stats",
        str(log),
    )
    assert 0 == result.returncode, result.stderr
    template = requests.get(f"{osmem}/_index_template/esalog", timeout=30).json()
    assert ["esalog"] == [t["name"] for t in template["index_templates"]]
    requests.post(f"{osmem}/esa-rt/_refresh", timeout=30)
    assert 300 == requests.get(f"{osmem}/esa-rt/_count", timeout=30).json()["count"]
    mapping = requests.get(f"{osmem}/esa-rt/_mapping", timeout=30).json()
    esa = mapping["esa-rt"]["mappings"]["properties"]["cisco"]["properties"]["esa"]["properties"]
    assert "long" == esa["mid"]["type"]
    hits = search(osmem, "esa-rt", {"query": {"term": {"cisco.esa.mid": 41}}, "size": 10})["hits"]["hits"]
    lines = log.read_text().splitlines()
    assert sorted(line for line in lines if "MID 41 " in line) == sorted(
        h["_source"]["event"]["original"] for h in hits
    )


def test_resend_is_idempotent(osmem: str, tmp_path: Path) -> None:
    """Shipping the same file twice leaves one document per line (deterministic _id)."""
    log = write_log(tmp_path / "mail.@20261102T080000.s", 120)
    for _ in range(2):
        assert (
            0
            == run_cli(
                "ship", "--to", "es", "--es-url", osmem, "--es-index", "esa-twice", str(log)
            ).returncode
        )
    requests.post(f"{osmem}/esa-twice/_refresh", timeout=30)
    assert 120 == requests.get(f"{osmem}/esa-twice/_count", timeout=30).json()["count"]


def test_per_item_errors_from_a_real_server(osmem: str) -> None:
    """A string in a long field is refused per item (400 mapper_parsing_exception), the rest indexed;
    a second 'create' of the same _id is a 409 that counts as delivered."""
    sink = EsSink(EsConfig(urls=(osmem,), data_stream="esa-items"))
    good = {
        "@timestamp": "2026-11-02T07:00:01.000Z",
        "observer": {"hostname": "esa1"},
        "cisco": {"esa": {"mid": 1}},
    }
    bad = {**good, "cisco": {"esa": {"mid": "not-a-number"}}}
    items = [
        sink.encode_item(Record.of_document(good), "k:0", 0, None),
        sink.encode_item(Record.of_document(bad), "k:1", 0, None),
        sink.encode_item(Record.of_document(good), "k:2", 0, None),
    ]
    outcome = sink.send(items)
    assert isinstance(outcome, Reject)
    assert [items[1]] == [item for item, _ in outcome.items]
    assert "mapper_parsing_exception" in outcome.items[0][1]
    assert Delivered() == sink.send([items[0], items[2]])  # both 409 now: already there
    requests.post(f"{osmem}/esa-items/_refresh", timeout=30)
    assert 2 == requests.get(f"{osmem}/esa-items/_count", timeout=30).json()["count"]
