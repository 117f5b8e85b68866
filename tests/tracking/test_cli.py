"""Session tracking driven through the command line, in a subprocess, as a user runs it."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from esalog.testing import read_ndjson
from tests.conftest import run_cli

SEED = {
    "connection_lost.log": "connection_lost",
    "inbound_timeout.log": "inbound_timeout",
    "sender_quit.log": "sender_quit",
}


def events_of(stdout: bytes) -> list[dict[str, Any]]:
    return read_ndjson(stdout)


def actions(events: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"].get("action") == action]


@pytest.mark.parametrize(("name", "category"), sorted(SEED.items()))
def test_seed_files_categories(corpus: Path, name: str, category: str) -> None:
    """The three Cisco TN 118295 sequences come out connection_lost, inbound_timeout, sender_quit."""
    proc = run_cli("parse", "-q", "--summaries", str(corpus / "seed" / name))
    assert proc.returncode == 0, proc.stderr
    events = events_of(proc.stdout)
    lines = (corpus / "seed" / name).read_text().splitlines()
    assert len(events) == len(lines) + 1  # one event per line, plus the one summary
    for action in ("message-aborted", "message-finished", "message-summary"):
        (found,) = actions(events, action)
        assert found["cisco"]["esa"]["abort"]["category"] == category
    assert actions(events, "message-summary")[0]["cisco"]["esa"]["disposition"] == "aborted"


def test_tracking_is_on_by_default_and_stateless_turns_it_off(corpus: Path) -> None:
    """Without options the lost line decides; --stateless falls back to receiving_aborted, no enrichment."""
    path = str(corpus / "seed" / "connection_lost.log")
    default = events_of(run_cli("parse", "-q", path).stdout)
    (abort,) = actions(default, "message-aborted")
    assert abort["cisco"]["esa"]["abort"]["category"] == "connection_lost"
    assert actions(default, "envelope-from")[0]["source"]["ip"] == "192.168.0.200"
    assert not actions(default, "message-summary")
    stateless = events_of(run_cli("parse", "-q", "--stateless", path).stdout)
    (abort,) = actions(stateless, "message-aborted")
    assert abort["cisco"]["esa"]["abort"]["category"] == "receiving_aborted"
    assert "source" not in actions(stateless, "envelope-from")[0]
    assert len(stateless) == len(default)


@pytest.mark.parametrize(
    "bad",
    [
        ["--stateless", "--summaries"],
        ["--session-ttl", "soon"],
        ["--max-open", "0"],
        ["--inbound-timeout", "-5"],
    ],
)
def test_bad_tracking_options_exit_2(bad: list[str]) -> None:
    """Contradictory or malformed tracking options are usage errors (exit 2)."""
    proc = run_cli("parse", *bad, input=b"")
    assert proc.returncode == 2
    assert b"error" in proc.stderr


def test_max_open_and_ttl_from_the_command_line(tmp_path: Path) -> None:
    """--max-open 2 evicts the oldest open message (incomplete summary); --session-ttl 90m counts log time."""
    log = tmp_path / "open.log"
    log.write_text("".join(f"Thu Aug 14 1{h}:00:00 2014 Info: Start MID {h} ICID 0\n" for h in range(4)))
    proc = run_cli("parse", "-q", "--summaries", "--max-open", "2", "--session-ttl", "24h", str(log))
    summaries = actions(events_of(proc.stdout), "message-summary")
    assert [(s["cisco"]["esa"]["mid"], s["cisco"]["esa"]["summary"]["end_reason"]) for s in summaries] == [
        (0, "max_open"),
        (1, "max_open"),
        (2, "end_of_input"),
        (3, "end_of_input"),
    ]
    assert all(s["cisco"]["esa"]["summary"]["complete"] is False for s in summaries)
    proc = run_cli("parse", "-q", "--summaries", "--session-ttl", "90m", str(log))
    summaries = actions(events_of(proc.stdout), "message-summary")
    assert [s["cisco"]["esa"]["summary"]["end_reason"] for s in summaries] == [
        "ttl",
        "ttl",
        "end_of_input",
        "end_of_input",
    ]


def test_filter_emits_summary_right_after_the_finish_line(corpus: Path) -> None:
    """In filter mode the summary follows the 'Message finished' event, flushed with it."""
    data = (corpus / "seed" / "sender_quit.log").read_bytes()
    proc = run_cli("filter", "--summaries", input=data)
    assert proc.returncode == 0, proc.stderr
    kinds = [e["event"]["action"] for e in events_of(proc.stdout)]
    i = kinds.index("message-finished")
    assert kinds[i + 1] == "message-summary"
    assert len(kinds) == len(data.splitlines()) + 1


def test_report_terminal_json_html(corpus: Path, tmp_path: Path) -> None:
    """`esalog report` shows dispositions, categories with sources and advice; --json and --html agree."""
    seeds = [str(p) for p in sorted((corpus / "seed").glob("*.log"))]
    text = run_cli("report", *seeds)
    assert text.returncode == 0, text.stderr
    out = text.stdout.decode()
    for word in (
        "Messages by disposition",
        "aborted",
        "connection_lost",
        "inbound_timeout",
        "sender_quit",
        "192.168.0.200",
        "RELAY_SG",
        "packet capture",
    ):
        assert word in out
    page = tmp_path / "report.html"
    proc = run_cli("report", "--json", "--html", str(page), *seeds)
    digest = json.loads(proc.stdout)
    assert digest["messages"] == 3
    assert digest["dispositions"] == {"aborted": 3}
    counts = {a["category"]: a["count"] for a in digest["aborts"]}
    assert counts == {"connection_lost": 1, "inbound_timeout": 1, "sender_quit": 1}
    lost = next(a for a in digest["aborts"] if a["category"] == "connection_lost")
    assert lost["top_source_ips"] == [["192.168.0.200", 1]]
    assert sum(b["total"] for b in digest["abort_histogram"]["buckets"]) == 3
    html = page.read_text()
    tags: list[str] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            tags.append(tag)
            assert not any(name in ("src", "href") for name, _ in attrs)

    Collect().feed(html)
    assert "svg" in tags and "rect" in tags and "table" in tags and "script" not in tags
    assert "inbound_timeout" in html


def test_consolidated_event_lines_are_classified_but_not_tracked() -> None:
    """A CEF line is a whole message already: one-line category, no session state, no summary."""
    import yaml

    from esalog.parsers.engine import builtin_pack_paths

    pack = next(p for p in builtin_pack_paths() if p.name == "consolidated_event.yaml")
    rules = yaml.safe_load(pack.read_text())["rules"]
    line = next(
        ex["line"]
        for r in rules
        for ex in r.get("examples", ())
        if "Receiving aborted by sender" in str(ex.get("fields", {}))
    )
    proc = run_cli("parse", "-q", "--summaries", input=(line + "\n").encode())
    (event,) = events_of(proc.stdout)
    assert event["event"]["dataset"] == "cisco_esa.consolidated_event"
    assert event["cisco"]["esa"]["abort"]["category"] == "sender_quit"


def test_public_sample_drops_and_split_family(corpus: Path) -> None:
    """Cribl's 2014 sample: 22 CASE drops are dropped (not delivered); a split family links up."""
    path = corpus / "peers" / "splunk" / "cribl_esa_mailtext_sample_2014.log"
    proc = run_cli("parse", "-q", "--summaries", "--no-original", str(path))
    assert proc.returncode == 0, proc.stderr
    events = events_of(proc.stdout)
    summaries = {s["cisco"]["esa"]["mid"]: s["cisco"]["esa"] for s in actions(events, "message-summary")}
    drops = [s for s in summaries.values() if s.get("abort", {}).get("category") == "policy_drop"]
    assert len(drops) == 22
    assert all(s["disposition"] == "dropped" and s["abort"]["engine"] == "CASE" for s in drops)
    finished_after_drop = [
        e
        for e in actions(events, "message-finished")
        if e["cisco"]["esa"].get("abort", {}).get("category") == "policy_drop"
    ]
    assert len(finished_after_drop) == 22
    assert all(e["event"]["outcome"] == "failure" for e in finished_after_drop)
    parent = summaries[24611507]
    assert parent["summary"]["continued_in"] == [24611528, 24611529]
    assert [r["address"] for r in summaries[24611529].get("recipients", [])] == [
        "user25@mycompany.com",
        "user26@mycompany.com",
    ]
    assert 24611531 in summaries[24611528]["related_mids"]  # the bcc copy generated from the split child
    assert len(summaries) == len(
        {
            e["cisco"]["esa"]["mid"]
            for e in events
            if "mid" in e.get("cisco", {}).get("esa", {}) and e["event"].get("dataset") == "cisco_esa.mail_logs"
        }
    )
