"""Issue 10, point 8: error texts that help. OpenSearch refusing an Elasticsearch template (``--es-setup``
asks the server for its flavour; a user may force the other one) says to use ``--es-flavour opensearch`` in one line instead of a nested JSON error; an empty ``rules``
list says it is empty; a ``patterns test`` example no rule reads says "no rule matched"."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from esalog.testing import FakeElasticsearch
from esalog.testing.peers import osmem_server  # a dev extra: missing, these tests fail, never skip
from tests.conftest import run_cli
from tests.connectors.conftest import write_log


@pytest.fixture(scope="module")
def opensearch() -> Iterator[str]:
    """The URL of a private osmem-server (an OpenSearch-compatible server from PyPI) for this module."""
    with osmem_server() as url:
        yield url


def test_es_setup_takes_the_flavour_the_server_says(opensearch: str, tmp_path: Path) -> None:
    """Without --es-flavour, --es-setup asks the server's root endpoint: OpenSearch gets flat_object."""
    log = write_log(tmp_path / "mail.@20261102T080000.s", 20)
    proc = run_cli("ship", "--to", "es", "--es-url", opensearch, "--es-index", "esa-auto", "--es-setup", "--quiet",
                   str(log))
    assert proc.returncode == 0, proc.stderr
    (installed,) = requests.get(f"{opensearch}/_index_template/esalog", timeout=30).json()["index_templates"]
    assert '"flat_object"' in json.dumps(installed) and '"flattened"' not in json.dumps(installed)
    requests.post(f"{opensearch}/esa-auto/_refresh", timeout=30)
    assert requests.get(f"{opensearch}/esa-auto/_count", timeout=30).json()["count"] == 20
    with FakeElasticsearch() as es:  # an Elasticsearch root endpoint: the flattened type
        proc = run_cli("ship", "--to", "es", "--es-url", es.url, "--es-setup", "--quiet", str(log))
        assert proc.returncode == 0, proc.stderr
        assert '"flattened"' in json.dumps(es.templates["esalog"])


@pytest.mark.parametrize("target", [["--es-index", "esa-flavour"], ["--es-data-stream", "logs-esa-flavour"]])
def test_opensearch_refusing_the_elasticsearch_template_names_the_flavour(opensearch: str, tmp_path: Path,
                                                                          target: list[str]) -> None:
    log = write_log(tmp_path / "mail.@20261102T080000.s", 20)
    proc = run_cli("ship", "--to", "es", "--es-url", opensearch, *target, "--es-setup", "--es-flavour",
                   "elasticsearch", "--quiet", str(log))
    assert proc.returncode == 1
    lines = proc.stderr.decode().splitlines()
    assert lines == [
        "esalog: error: index template refused: HTTP 400: No handler for type [flattened] declared on field "
        "[passthrough]; the server does not know the flattened type (it is OpenSearch, not Elasticsearch): "
        "use `--es-flavour opensearch`"]
    assert "caused_by" not in proc.stderr.decode()  # not the raw nested JSON
    # and the advice works (osmem has no data streams: that refusal is one plain line too)
    again = run_cli("ship", "--to", "es", "--es-url", opensearch, *target, "--es-setup", "--es-flavour",
                    "opensearch", "--quiet", str(log))
    name = target[1]
    if target[0] == "--es-data-stream":
        assert again.returncode == 1
        assert again.stderr.decode().splitlines() == [
            "esalog: error: data stream not created: HTTP 400: data streams are not supported by osmem"]
        return
    assert again.returncode == 0, again.stderr
    requests.post(f"{opensearch}/{name}/_refresh", timeout=30)
    assert requests.get(f"{opensearch}/{name}/_count", timeout=30).json()["count"] == 20


def test_empty_rules_list_says_it_is_empty(tmp_path: Path) -> None:
    pack = tmp_path / "mine.yaml"
    for text, words in (("name: mine\nrules: []\n", "'rules' is an empty list: a pack needs at least one rule"),
                        ("name: mine\n", "pack has no 'rules' list"),
                        ("", "the pack is empty: a pack is a mapping with 'name' and 'rules'")):
        pack.write_text(text)
        for command in (["parse", "--pack", str(pack), "/dev/null"], ["patterns", "test", "--pack", str(pack)]):
            proc = run_cli(*command)
            assert proc.returncode == 2
            assert proc.stderr.decode().splitlines() == [f"esalog: error: {pack}: {words}"]


def test_patterns_test_says_no_rule_matched(tmp_path: Path) -> None:
    pack = tmp_path / "mine.yaml"
    pack.write_text("name: mine\nrules:\n  - id: mine-close\n    match: 'ICID %{ICID:cisco.esa.icid:int} closed now'\n"
                    "    examples:\n      - line: 'Thu Aug 14 11:05:36 2014 Info: ICID 7 closed'\n"
                    "        fields: {cisco.esa.icid: 7}\n")
    proc = run_cli("patterns", "test", "--pack", str(pack))
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        "FAIL mine-close: Thu Aug 14 11:05:36 2014 Info: ICID 7 closed",
        "     no rule matched (expected 'mine-close')"]
    assert proc.stdout.decode().endswith(" passed, 1 failed\n")


def test_patterns_test_reports_what_the_user_pack_checked(tmp_path: Path) -> None:
    """The counts of a user's own pack are said apart from the built-in packs' hundreds of examples, and a
    rule without examples (which nothing then tests) is named."""
    pack = tmp_path / "mine.yaml"
    pack.write_text("name: mine\nlog_type: mail_logs\nrules:\n"
                    "  - id: mine-frob\n    match: 'MID %{MID:cisco.esa.mid:int} frobnicated by %{WORD:labels.frobber}'\n"
                    "    examples:\n      - line: 'Thu Aug 14 11:05:36 2014 Info: MID 7 frobnicated by widget'\n"
                    "        fields: {cisco.esa.mid: 7, labels.frobber: widget}\n"
                    "  - id: mine-untested\n    match: 'MID %{MID:cisco.esa.mid:int} untested'\n")
    proc = run_cli("patterns", "test", "--pack", str(pack))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode().splitlines()
    assert lines[:2] == [
        f"{pack} (pack 'mine', mail_logs): 2 rules, 1 example passed, 0 failed",
        "  rule 'mine-untested' has no examples, so nothing tests it: add 'examples:' with a real line and the "
        "fields it must give"]
    assert re.fullmatch(r"\d+ passed, 0 failed", lines[-1])
    pack.write_text(pack.read_text().replace("labels.frobber: widget", "labels.frobber: gadget"))
    failed = run_cli("patterns", "test", "--pack", str(pack))
    assert failed.returncode == 1
    assert failed.stdout.decode().splitlines()[0] == f"{pack} (pack 'mine', mail_logs): 2 rules, 0 examples passed, 1 failed"


def test_undeclared_field_says_how_to_name_a_field_of_ones_own(tmp_path: Path) -> None:
    pack = tmp_path / "mine.yaml"
    pack.write_text("name: mine\nrules:\n  - id: mine-frob\n    match: 'MID %{MID:cisco.esa.mid:int} by %{WORD:frobber}'\n")
    for command in (["parse", "--pack", str(pack), "/dev/null"], ["patterns", "test", "--pack", str(pack)]):
        proc = run_cli(*command)
        assert proc.returncode == 2
        assert proc.stderr.decode().splitlines() == [
            f"esalog: error: {pack}:3 (rule 'mine-frob'): field 'frobber' is not declared in the event schema: set a "
            "declared field ('esalog schema' lists them) or a key of your own under labels.* (e.g. 'labels.frobber')"]
