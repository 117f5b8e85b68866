"""``esalog ship`` memory stays bounded by the queue and batch sizes, whatever the input size.

Linux folds the hiwater RSS of the address space that ``exec`` replaces into the new program's
``ru_maxrss``; a child started straight from pytest (hundreds of MB) would report pytest's peak,
not its own. A small launcher process therefore starts ``esalog ship`` and reports its peak RSS.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from esalog.testing import FakeElasticsearch, FakeHEC
from tests.connectors.conftest import write_log

EVENTS = 100_000
#: esalog ship with its imports and parser is ~40 MB before the first event; a ship that kept every
#: event (~2 KB of wire bytes, document and ticket each) would need ~200 MB more
PEAK_RSS_BOUND_MB = 100

LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def ship_peak_rss(args: list[str], env: dict[str, str]) -> tuple[int, float]:
    """Run ``esalog ship ARGS`` from a fresh small process: (exit code, peak RSS in MB)."""
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER, sys.executable, "-m", "esalog", "ship", *args],
        capture_output=True, timeout=120, env={**os.environ, **env}, check=True,
    )
    code, kilobytes = result.stdout.split()
    return int(code), int(kilobytes) / 1024


@pytest.mark.parametrize("sink", ["hec", "es"])
def test_ship_peak_rss_bounded(sink: str, tmp_path: Path) -> None:
    """100,000 events through a 2-batch queue of 500 events: peak RSS stays under the bound, none lost."""
    log = write_log(tmp_path / "mail.log", EVENTS)
    small = ["--queue-batches", "2", "--batch-events", "500", "--quiet", str(log)]
    if sink == "hec":
        with FakeHEC() as hec:
            code, peak = ship_peak_rss(["--to", "hec", "--hec-url", hec.url, *small], {"ESALOG_HEC_TOKEN": hec.token})
            received = hec.count
    else:
        with FakeElasticsearch(api_key="test") as es:
            code, peak = ship_peak_rss(["--to", "es", "--es-url", es.url, *small], {"ESALOG_ES_API_KEY": "test"})
            received = es.count("*")
    assert (0, EVENTS) == (code, received)
    assert peak < PEAK_RSS_BOUND_MB, f"esalog ship --to {sink} peaked at {peak:.0f} MB"
