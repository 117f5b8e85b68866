"""The public corpus (tests/corpus/<source>/*.log): recognition per source, schema, no placeholder values.

Every figure is computed from the files at test time; nothing is hard-coded but the 99 % bar and the
corpus floors. The lines of the other log types (tests/corpus/other_log_types/<type>/<type>.<source>.log)
are measured per type folder with the same bar, each file routed by its name as the CLI routes
``<type>.@….s`` (a relayed line that names another subscription goes to that one's pack);
tests/other_log_types/test_corpus.py holds them to 100 %.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from esalog.parsers.converters import PLACEHOLDERS
from esalog.parsers.fields import get_field
from esalog.parsers.parser import UNSUPPORTED_TAG, LineParser
from esalog.schemas import validator
from esalog.testing import parse_event
from tests.conftest import run_cli

CORPUS = Path(__file__).parent / "corpus"
OTHER = "other_log_types"
BAR = 0.99
#: Fields where ESA may write a word instead of a value; the word must go to a *_status field instead.
VALUE_FIELDS = (
    "source.domain", "email.reply_to.address", "email.to.address", "email.from.address",
    "cisco.esa.country", "cisco.esa.sender_group", "cisco.esa.hat_match",
    "cisco.esa.sdr.domains.rdns", "cisco.esa.sdr.domains.helo", "cisco.esa.sdr.domains.env_from",
    "cisco.esa.sdr.domains.header_from", "cisco.esa.quarantine.name",
    "cisco.esa.sdr.threat_category", "cisco.esa.sdr.suspected_domains", "cisco.esa.ldap.query",
)


#: Floors that pin the size of the corpus (lines of mail, bounce and consolidated-event logs; of the
#: other log types): a change that loses lines fails here.
MIN_LINES = 665
MIN_OTHER_LINES = 115


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.glob("*/*.log") if p.parent.name != OTHER)


def source_folders() -> list[str]:
    return sorted({p.parent.name for p in corpus_files()})


def other_files() -> list[Path]:
    return sorted((CORPUS / OTHER).glob("*/*.log"))


def other_folders() -> list[str]:
    return sorted({p.parent.name for p in other_files()})


@pytest.fixture(scope="module")
def parser() -> LineParser:
    return LineParser.from_options()


def events_of(parser: LineParser, path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each line of *path* with its event, read as the CLI reads a file (one stream, named after it)."""
    stream = parser.new_stream(path.name)
    for line in path.read_text(encoding="utf-8").splitlines():
        yield line, parse_event(parser, line, stream)


def recognised(event: dict[str, Any]) -> bool:
    ev = event["event"]
    return ev.get("kind") != "pipeline_error" and UNSUPPORTED_TAG not in event.get("tags", ()) \
        and ev.get("action") != "unknown"


@pytest.fixture(scope="module")
def counts(parser: LineParser) -> dict[str, Counter[str]]:
    """Per source folder: lines, recognised lines, unmatched examples."""
    out: dict[str, Counter[str]] = {}
    for path in corpus_files():
        c = out.setdefault(path.parent.name, Counter())
        for line, event in events_of(parser, path):
            c["lines"] += 1
            if recognised(event):
                c["recognised"] += 1
            else:
                c[f"unmatched: {line}"] += 1
    return out


@pytest.fixture(scope="module")
def other_counts(parser: LineParser) -> dict[str, Counter[str]]:
    """Per log-type folder of other_log_types: lines, recognised lines, misses."""
    out: dict[str, Counter[str]] = {}
    for path in other_files():
        folder = path.parent.name
        c = out.setdefault(folder, Counter())
        for line, event in events_of(parser, path):
            if not line.strip():
                continue
            c["lines"] += 1
            if recognised(event):
                c["recognised"] += 1
            else:
                c[f"unmatched: {line}"] += 1
    return out


def assert_recognised(c: Counter[str], folder: str) -> None:
    """*folder* has lines and at least the bar of them recognised (the first lines missed named)."""
    assert c["lines"] > 0
    missed = [k.removeprefix("unmatched: ") for k in c if k.startswith("unmatched: ")]
    assert c["recognised"] / c["lines"] >= BAR, f"{folder}: {c['recognised']}/{c['lines']}; missed: {missed[:5]}"


def test_every_source_folder_says_where_its_lines_come_from() -> None:
    folders = {p.parent for p in CORPUS.glob("*/*.log")}
    assert len(folders) >= 7
    for folder in sorted(folders | {CORPUS / OTHER}):
        text = (folder / "SOURCE.md").read_text(encoding="utf-8")
        assert re.search(r"(?i)origin|https?://|commit|\| `", text), folder
        assert re.search(r"(?i)licen[cs]e", text), folder


@pytest.mark.parametrize("folder", source_folders())
def test_each_source_is_recognised(counts: dict[str, Counter[str]], folder: str) -> None:
    assert_recognised(counts[folder], folder)


def test_whole_corpus_is_recognised(counts: dict[str, Counter[str]]) -> None:
    lines = sum(c["lines"] for c in counts.values())
    hits = sum(c["recognised"] for c in counts.values())
    assert lines >= MIN_LINES
    assert hits / lines >= BAR, f"{hits}/{lines}"


@pytest.mark.parametrize("folder", other_folders())
def test_each_other_log_type_is_recognised(other_counts: dict[str, Counter[str]], folder: str) -> None:
    """other_log_types/<type>: >= 99 % of the lines recognised."""
    assert_recognised(other_counts[folder], folder)


def test_other_log_types_corpus_size(other_counts: dict[str, Counter[str]]) -> None:
    assert sum(c["lines"] for c in other_counts.values()) >= MIN_OTHER_LINES


def test_every_event_validates_against_the_schema(parser: LineParser) -> None:
    check = validator()
    bad = []
    for path in corpus_files() + other_files():
        for line, event in events_of(parser, path):
            errors = [e.message for e in check.iter_errors(event)]
            if errors:
                bad.append((path.name, line[:80], errors[:2]))
    assert not bad, bad[:5]


def test_no_placeholder_word_is_a_value(parser: LineParser) -> None:
    """unknown / Not Present / not enabled / None ... never land in a value field (part 3 of issue 13)."""
    found = []
    statuses: Counter[str] = Counter()
    for path in corpus_files() + other_files():
        for line, event in events_of(parser, path):
            for name in VALUE_FIELDS:
                value = get_field(event, name)
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str) and item.strip().lower() in PLACEHOLDERS:
                        found.append((name, item, line[:100]))
            esa = event.get("cisco", {}).get("esa", {})
            for key in ("rdns_status", "country_status", "sender_group_status"):
                if key in esa:
                    statuses[key] += 1
            statuses["sdr"] += sum(1 for k in esa.get("sdr", {}).get("domains", {}) if k.endswith("_status"))
    assert not found, found[:5]
    # the corpus does contain the placeholders: they were moved, not lost
    assert statuses["rdns_status"] and statuses["country_status"] and statuses["sender_group_status"]
    assert statuses["sdr"]


def test_coverage_command_as_a_user_runs_it(counts: dict[str, Counter[str]]) -> None:
    """``python -m esalog patterns coverage`` over the corpus agrees with the figures above."""
    files = [str(p) for p in corpus_files()]
    proc = run_cli("patterns", "coverage", *files)
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    m = re.search(r"^(\d+) lines: (\d+) recognised \(([\d.]+)%\)", out, re.M)
    assert m, out[-500:]
    lines, hits = int(m.group(1)), int(m.group(2))
    assert lines == sum(c["lines"] for c in counts.values())
    assert hits == sum(c["recognised"] for c in counts.values())
    assert float(m.group(3)) >= 100 * BAR
