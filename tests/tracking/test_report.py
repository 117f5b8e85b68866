"""The report digest and its renderers, from summary events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from esalog.tracking.report import Report, render_html, render_text, to_json
from tests.conftest import run_cli


def _summary(
    mid: int,
    when: str,
    disposition: str,
    category: str | None = None,
    ip: str = "198.51.100.1",
    complete: bool = True,
) -> dict[str, Any]:
    esa: dict[str, Any] = {
        "mid": mid,
        "disposition": disposition,
        "sender_group": "SG1",
        "summary": {"complete": complete},
    }
    if category:
        esa["abort"] = {"category": category, "confidence": "logged"}
    return {
        "@timestamp": when,
        "event": {"action": "message-summary", "start": when, "end": when},
        "source": {"ip": ip, "domain": "host.example"},
        "cisco": {"esa": esa},
    }


def test_digest_counts_and_tops() -> None:
    """Dispositions, categories, top sources and the histogram come from the summaries."""
    report = Report(top=1)
    report.add({"event": {"action": "message-started"}})
    report.add(_summary(1, "2014-08-14T11:00:00.000Z", "delivered"))
    report.add(_summary(2, "2014-08-14T11:10:00.000Z", "aborted", "connection_lost", "198.51.100.7"))
    report.add(_summary(3, "2014-08-14T11:20:00.000Z", "aborted", "connection_lost", "198.51.100.7"))
    report.add(_summary(4, "2014-08-14T12:40:00.000Z", "aborted", "connection_lost", "198.51.100.8", False))
    split = _summary(5, "2014-08-14T12:40:00.000Z", "unknown")
    split["cisco"]["esa"]["summary"]["continued_in"] = [6, 7]
    report.add(split)
    digest = report.digest()
    assert (digest["lines"], digest["messages"], digest["incomplete_messages"]) == (1, 5, 1)
    assert digest["continued_messages"] == 1
    assert digest["dispositions"] == {"delivered": 1, "aborted": 3}
    (lost,) = digest["aborts"]
    assert lost["count"] == 3 and lost["top_source_ips"] == [["198.51.100.7", 2]]
    hist = digest["abort_histogram"]
    assert hist["bucket_seconds"] == 300
    assert sum(b["total"] for b in hist["buckets"]) == 3
    assert hist["buckets"][0]["start"] == "2014-08-14T11:10:00Z"
    assert json.loads(to_json(digest)) == digest


def test_renderers_escape_and_show_everything() -> None:
    """Text and HTML show each category; HTML escapes names taken from the log."""
    report = Report()
    report.add(_summary(1, "2014-08-14T11:00:00.000Z", "aborted", "sender_quit", ip="<b>x</b>"))
    digest = report.digest()
    text = render_text(digest)
    assert "sender_quit" in text and "<b>x</b>" in text
    page = render_html(digest)
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert page.count("<svg") == 3


def test_empty_input() -> None:
    """No summaries: a digest with zeros and renderers that still work."""
    digest = Report().digest()
    assert digest["messages"] == 0 and digest["aborts"] == []
    assert "no aborted messages" in render_text(digest)
    assert "No aborted messages" in render_html(digest)


def test_histogram_of_aborts_decades_apart_stays_small(tmp_path: Path) -> None:
    """Two aborts 36 years apart (a stray stamp): about 48 buckets of whole weeks, as for any span. Before,
    the weekly fallback made one bucket per week: 1,900 here, 416,000 for stamps from year 1 to 9999 (a 41 MB
    report and half a gigabyte of memory from 20,000 lines)."""
    log = tmp_path / "span.log"
    log.write_text("<22>1 1990-01-01T00:00:00Z esa1 mail_logs - - - Info: Message aborted MID 3 Receiving aborted\n"
                   "<22>1 2026-01-01T00:00:00Z esa1 mail_logs - - - Info: Message aborted MID 4 Receiving aborted\n")
    done = run_cli("report", "--json", str(log))
    assert done.returncode == 0, done.stderr.decode()
    hist = json.loads(done.stdout)["abort_histogram"]
    assert len(hist["buckets"]) <= 49 and hist["bucket_seconds"] % (7 * 86400) == 0
    assert sum(bucket["total"] for bucket in hist["buckets"]) == 2
