"""The benchmark corpus: parses without errors, with the mix of kinds the generator says it wrote."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from esalog.testing.generate import UNKNOWN_KIND, write_corpus
from tests.conftest import run_cli

LINES = 20_000


@pytest.fixture(scope="module", params=["file", "syslog"])
def generated(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Counter]:
    """A 20,000-line corpus in each form and the counts the generator reports."""
    path = tmp_path_factory.mktemp("gen") / f"mail-{request.param}.log"
    return path, write_corpus(path, LINES, request.param, seed=11)


def test_corpus_parses_to_the_expected_kinds(generated: tuple[Path, Counter]) -> None:
    """Every line is an ESA line (no pipeline_error) and each rule reads exactly the lines meant for it."""
    path, expected = generated
    result = run_cli("parse", "-q", str(path))
    assert result.returncode == 0, result.stderr
    events = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert len(events) == LINES == sum(expected.values())
    assert not [e for e in events if e["event"]["kind"] == "pipeline_error"]
    got = Counter(UNKNOWN_KIND if e["event"].get("action") == "unknown" else e["cisco"]["esa"]["kind"]
                  for e in events)
    assert got == expected


def test_corpus_has_the_realistic_mix(generated: tuple[Path, Counter]) -> None:
    """Mostly MID events, many connections at once, a few percent of each abort kind, some unknown lines."""
    path, counts = generated
    text = path.read_text()
    mid_lines = sum(1 for line in text.splitlines() if re.search(r"\bMID \d+", line))
    assert mid_lines > LINES / 2
    messages = counts["message-start"]
    for needle in (r"ICID \d+ lost$", r"Receiving aborted by sender$", r"Receiving aborted$", r"Dropped by "):
        share = len(re.findall(needle, text, re.M)) / messages
        assert 0.005 < share < 0.1, (needle, share)
    assert 0 < counts[UNKNOWN_KIND] < LINES * 0.02
    open_icids: set[str] = set()
    most = 0
    for m in re.finditer(r"(?:New SMTP ICID (\d+)|ICID (\d+) close)", text):
        if m.group(1):
            open_icids.add(m.group(1))
        else:
            open_icids.discard(m.group(2))
        most = max(most, len(open_icids))
    assert most > 50


def test_ids_increase_and_timeouts_wait_300_seconds(tmp_path: Path) -> None:
    """ICIDs and MIDs are new and increasing when first logged; an inbound timeout aborts 300 s later
    (a quiet ESA, one connection a second, so that the corpus spans more than 300 s)."""
    path = tmp_path / "mail-quiet.log"
    write_corpus(path, LINES, seed=5, rate=1.0)
    lines = path.read_text().splitlines()
    for pattern in (r"New SMTP ICID (\d+)", r"Start MID (\d+)", r"New SMTP DCID (\d+)"):
        ids = [int(m.group(1)) for line in lines if (m := re.search(pattern, line))]
        assert ids == sorted(set(ids)) and len(ids) > 10
    stamp = re.compile(r"(\w{3} +\d+ \d\d:\d\d:\d\d)")
    blank_to: dict[str, datetime] = {}
    gaps = []
    for line in lines:
        when = datetime.strptime(stamp.search(line).group(1), "%b %d %H:%M:%S")
        if m := re.search(r"MID (\d+) ICID \d+ RID 0 To:$", line):
            blank_to[m.group(1)] = when
        elif (m := re.search(r"Message aborted MID (\d+) Receiving aborted$", line)) and m[1] in blank_to:
            gaps.append((when - blank_to[m.group(1)]).total_seconds())
    assert gaps and all(299 <= gap <= 301 for gap in gaps)


def test_realistic_corpus_has_verdicts_and_several_appliances(tmp_path: Path) -> None:
    """Verdict lines (anti-spam, anti-virus, AMP, Outbreak, URL, SPF/DKIM/DMARC, SDR) read by their rules;
    three appliances interleaved in syslog form."""
    path = tmp_path / "mail-realistic.log"
    expected = write_corpus(path, 6000, "syslog", seed=4, verdicts=True, appliances=3)
    for kind in ("spf-verdict", "dkim-verdict", "dmarc-result", "sdr-verdict", "antispam-verdict",
                 "antivirus-verdict", "amp-verdict", "outbreak-verdict", "url-reputation"):
        assert expected[kind] > 0, kind
    assert sum(n for kind, n in expected.items() if kind.endswith(("-verdict", "-result"))) > 6000 * 0.25
    result = run_cli("parse", "-q", str(path))
    events = [orjson.loads(line) for line in result.stdout.splitlines()]
    got = Counter(UNKNOWN_KIND if e["event"].get("action") == "unknown" else e["cisco"]["esa"]["kind"]
                  for e in events)
    assert got == expected
    assert {e["observer"]["hostname"] for e in events} == {"esa1.example.net", "esa2.example.net",
                                                           "esa3.example.net"}
