"""Answers of a wrong shape (a proxy, a buggy or hostile server): never a traceback, never an event
counted delivered that was not, and a server that says ``Retry-After: 0`` forever still ends the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from esalog.testing import FakeElasticsearch, FakeHEC
from esalog.testing._server import Fault, Reply, Request
from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.conftest import run_cli
from tests.reliability.conftest import TOKEN

LINES = 100


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "mail.@20261102T080000.s"
    path.write_text(FILE_HEADER + "".join(distinct_lines(LINES - 2)))
    return path


@pytest.mark.parametrize("item", [{"index": "oops"}, {"index": {"status": "abc"}}, ["x"], {"index": {"_id": "a"}}])
def test_bulk_items_without_a_status_are_sent_again(log: Path, item: Any) -> None:
    """A ``_bulk`` answer whose items carry no readable status says nothing about them: the batch is sent
    again (the ids dedupe), never a crash of the sender and never a dead letter."""
    with FakeElasticsearch() as es:
        es.faults.status(200, body={"took": 1, "errors": True, "items": [item] * LINES})
        result = run_cli("ship", "--to", "es", "--es-url", es.url, "--retry-initial", "0.01", "--stats", str(log))
        assert b"Traceback" not in result.stderr, result.stderr.decode()
        assert result.returncode == 0, result.stderr.decode()
        assert es.faults.applied == ["status"]
        assert len(es.ids()) == LINES
        assert b'"acknowledged":100' in result.stderr and b'"dead_lettered":0' in result.stderr


@pytest.mark.parametrize("body", [{"text": "Invalid data format", "code": 6, "invalid-event-number": "x"},
                                  {"text": "Invalid data format", "code": 6, "invalid-event-number": None},
                                  {"text": "Invalid data format", "code": 6, "invalid-event-number": 1.5},
                                  {"text": "Invalid data format", "code": [6]}])
def test_hec_400_with_fields_of_another_type(log: Path, tmp_path: Path, body: dict[str, Any]) -> None:
    """A 400 whose ``invalid-event-number`` is not an index, or whose ``code`` is not a number, is an
    ordinary 400: dead-lettered, exit 1."""
    dead = tmp_path / "dead.ndjson"
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.status(400, body=body)
        result = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--dead-letter", str(dead), "--stats",
                         str(log), env={"ESALOG_HEC_TOKEN": TOKEN})
        assert b"Traceback" not in result.stderr, result.stderr.decode()
        assert result.returncode == 1
        assert len(dead.read_bytes().splitlines()) == LINES
        assert b'"dead_lettered":100' in result.stderr and b'"failed":0' in result.stderr


def test_hec_ack_id_that_is_not_a_number_is_sent_again(log: Path) -> None:
    """A 200 whose ``ackId`` cannot be polled is not delivered: the batch goes again and is acknowledged."""
    with FakeHEC(token=TOKEN, ack=True) as hec:
        hec.faults.status(200, body={"text": "Success", "code": 0, "ackId": "zz"})
        result = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--hec-ack", "--hec-ack-interval", "0.05",
                         "--retry-initial", "0.01", "--stats", str(log), env={"ESALOG_HEC_TOKEN": TOKEN})
        assert b"Traceback" not in result.stderr, result.stderr.decode()
        assert result.returncode == 0, result.stderr.decode()
        assert hec.count == LINES
        assert b'"acknowledged":100' in result.stderr


class _ListAcks(FakeHEC):
    """A HEC whose ack endpoint answers a list instead of ``{"acks": {id: bool}}``."""

    def handle(self, request: Request, fault: Fault | None) -> Reply:
        if request.path == "/services/collector/ack":
            return Reply(200, {"acks": [True]})
        return super().handle(request, fault)


def test_hec_ack_answer_of_another_shape_confirms_nothing(log: Path) -> None:
    """Acks that cannot be read are not acknowledgements: after the ack timeout the batch is given up
    on (exit 1, counted failed), never a crash of the sender that leaves the events uncounted."""
    with _ListAcks(token=TOKEN, ack=True) as hec:
        result = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--hec-ack", "--hec-ack-interval", "0.05",
                         "--hec-ack-timeout", "0.3", "--retry-budget", "0.5", "--retry-initial", "0.01", "--stats",
                         str(log), env={"ESALOG_HEC_TOKEN": TOKEN}, timeout=60)
        assert b"Traceback" not in result.stderr, result.stderr.decode()
        assert result.returncode == 1
        assert b'"acknowledged":0' in result.stderr and b'"failed":100' in result.stderr


def test_retry_after_zero_forever_still_spends_the_budget(log: Path) -> None:
    """``Retry-After: 0`` on every answer: the waits are at least ``--retry-initial``, so ``--retry-budget``
    ends the request (before, the budget never moved and the run went on as long as the server did)."""
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.status(503, times=10_000, retry_after=0)
        result = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--retry-initial", "0.1",
                         "--retry-budget", "1", "--stats", str(log), env={"ESALOG_HEC_TOKEN": TOKEN}, timeout=60)
        assert result.returncode == 1, result.stderr.decode()
        assert b"gave up after" in result.stderr and b"budget spent" in result.stderr
        assert len(hec.faults.applied) <= 12  # about 1 s / 0.1 s of waiting, not thousands of requests
        assert hec.count == 0 and b'"failed":100' in result.stderr


def test_indexer_that_never_acknowledges_ends_the_run(log: Path) -> None:
    """Every batch is answered with an ack id that never turns true: it is resent after each ack timeout
    until ``--retry-budget`` is spent, then given up on (exit 1), never resent for ever."""
    with FakeHEC(token=TOKEN, ack=True) as hec:
        hec.faults.lose_acks(times=10_000)
        result = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--hec-ack", "--hec-ack-interval", "0.05",
                         "--hec-ack-timeout", "0.3", "--retry-budget", "1", "--stats", str(log),
                         env={"ESALOG_HEC_TOKEN": TOKEN}, timeout=60)
        assert result.returncode == 1, result.stderr.decode()
        assert b"not acknowledged" in result.stderr
        assert b'"acknowledged":0' in result.stderr and b'"failed":100' in result.stderr
        assert 2 <= len(hec.faults.applied) <= 6  # resent a few times within 0.3 s + 1 s, then given up


def test_retry_after_longer_than_the_budget_says_so(log: Path) -> None:
    """``429`` with ``Retry-After: 3600`` while ``--retry-budget`` is 5: the batch is given up at once, and
    the reason says why (it read "gave up after 0 retries (0.0s budget spent)", as if nothing had been
    tried for a reason)."""
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.status(429, times=10_000, retry_after=3600)
        result = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--retry-budget", "5", "--stats", str(log),
                         env={"ESALOG_HEC_TOKEN": TOKEN}, timeout=60)
        assert result.returncode == 1, result.stderr.decode()
        assert hec.faults.applied == ["status"] and hec.count == 0
    assert b"the server asked to wait 3600s (Retry-After; esalog waits 120s at most)" in result.stderr
    assert b"more than the 5s left of --retry-budget" in result.stderr


def test_bulk_answer_that_is_not_elasticsearch_says_what_came(log: Path) -> None:
    """``--es-url`` pointing at a web server (or a proxy's page) that answers 200 with HTML: sent again
    like any answer without item results, and the reason shows what came back instead of "_bulk answer
    does not list every item"."""
    page = b"<html><body><h1>Welcome to nginx!</h1></body></html>"
    with FakeElasticsearch() as es:
        es.faults.status(200, times=10_000, body=page, headers={"Content-Type": "text/html"})  # type: ignore[arg-type]
        result = run_cli("ship", "--to", "es", "--es-url", es.url, "--retry-initial", "0.05", "--retry-budget", "0.3",
                         "--stats", str(log))
    assert result.returncode == 1, result.stderr.decode()
    assert b"_bulk answer is not a bulk result (HTTP 200, text/html): <html><body><h1>Welcome to nginx!" in result.stderr
    assert b"is --es-url the cluster's address?" in result.stderr


@pytest.mark.parametrize("body", [{"took": 1, "errors": False, "items": [{"index": {"status": 201}}]},
                                  {"took": 1, "errors": False, "items": []},
                                  {"took": 1, "errors": False}],
                         ids=["one-item", "no-items", "items-missing"])
def test_bulk_answer_without_every_item_is_not_all_delivered(log: Path, body: dict[str, Any]) -> None:
    """``errors: false`` with fewer items than actions sent (a proxy or a stand-in that is not Elasticsearch)
    says nothing of the items it leaves out: they were counted delivered, and lost. Now the batch is sent
    again (the ids dedupe) and, when every answer is like that, given up on with exit 1."""
    with FakeElasticsearch() as es:
        es.faults.status(200, times=10_000, body=body)
        result = run_cli("ship", "--to", "es", "--es-url", es.url, "--retry-initial", "0.05", "--retry-budget", "0.3",
                         "--stats", str(log))
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert '"acknowledged":0' in err and f'"failed":{LINES}' in err, err
    assert "_bulk answer" in err and "Traceback" not in err


def test_waiting_for_acknowledgements_is_reported(log: Path) -> None:
    """Events whose acknowledgement does not come are reported every --report-interval while ship waits
    (no silent end of run), then resent and given up on as above."""
    with FakeHEC(token=TOKEN, ack=True) as hec:
        hec.faults.lose_acks(times=10_000)
        result = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--hec-ack", "--hec-ack-interval", "0.1",
                         "--hec-ack-timeout", "2", "--retry-budget", "1", "--report-interval", "0.5", str(log),
                         env={"ESALOG_HEC_TOKEN": TOKEN}, timeout=60)
    assert result.returncode == 1, result.stderr.decode()
    waits = [line for line in result.stderr.decode().splitlines() if "waiting for the acknowledgement" in line]
    assert len(waits) >= 2, result.stderr.decode()
    assert "of 100 events" in waits[0] and "0 delivered, 100 pending" in waits[0]
