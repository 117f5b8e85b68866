"""The test kit as users meet it: the runnable fake servers, and the sink-compliance check that every
sink passes."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from esalog.connectors.es import EsConfig, EsSink
from esalog.connectors.files import FileSink
from esalog.connectors.hec import HecConfig, HecSink
from esalog.testing import CapturingSink, FakeElasticsearch, FakeHEC, assert_sink_compliance, read_ndjson
from tests.conftest import ROOT, run_cli


def _start(module: str) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen([sys.executable, "-m", module, "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    banner = []
    while not banner or not banner[-1].startswith("Ctrl-C"):
        banner.append(process.stdout.readline())
        assert banner[-1], "the server stopped before printing its banner"
    return process, banner


@pytest.mark.parametrize("module", ["esalog.testing.hec", "esalog.testing.es"])
def test_runnable_fake_takes_what_ship_sends(module: str) -> None:
    """`python -m esalog.testing.hec|es` prints its URL (and token); `esalog ship` delivers to it; Ctrl-C stops it."""
    process, banner = _start(module)
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+", banner[0])
        assert url is not None, banner
        env = {}
        if module.endswith("hec"):
            token = re.search(r"ESALOG_HEC_TOKEN=(\S+)", banner[1])
            assert token is not None, banner
            env["ESALOG_HEC_TOKEN"] = token.group(1)
            args = ("--to", "hec", "--hec-url", url.group(0))
        else:
            args = ("--to", "es", "--es-url", url.group(0), "--es-setup")
        log = ROOT / "examples" / "logs" / "syslog-push.log"
        shipped = run_cli("ship", *args, "--stats", str(log), env=env)
        assert shipped.returncode == 0, shipped.stderr.decode()
        lines = len(log.read_text().splitlines())
        assert process.stdout is not None
        counted = process.stdout.readline()  # the next count line the server prints
        assert int(counted.split()[0]) == lines
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0 and "stopped" in err


def test_capturing_sink_is_compliant() -> None:
    """The reference sink passes the check (in order: one batch at a time)."""
    sink = CapturingSink()
    assert_sink_compliance(sink, lambda: sink.events)


def test_file_sink_is_compliant(tmp_path: Path) -> None:
    out = tmp_path / "out.ndjson"
    assert_sink_compliance(FileSink(str(out)), lambda: read_ndjson(out))


def test_hec_sink_is_compliant() -> None:
    with FakeHEC("t") as hec:
        assert_sink_compliance(HecSink(HecConfig(urls=(hec.url,), token="t")), hec.event_payloads)


def test_es_sink_is_compliant() -> None:
    with FakeElasticsearch() as es:
        def stored() -> list[dict]:
            return [doc for docs in es.docs.values() for doc in docs.values()]

        assert_sink_compliance(EsSink(EsConfig(urls=(es.url,))), stored, ordered=False)


def test_compliance_check_catches_a_sink_that_loses_events() -> None:
    """The check is honest: a sink that acknowledges but keeps only half fails it."""

    class Lossy(CapturingSink):
        def send(self, items):  # type: ignore[no-untyped-def]
            return super().send(items[: len(items) // 2])

    sink = Lossy()
    with pytest.raises(AssertionError, match="lost or duplicated"):
        assert_sink_compliance(sink, lambda: sink.events)

