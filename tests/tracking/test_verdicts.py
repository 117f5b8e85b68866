"""Retrospective AMP verdicts reach the messages they hit: one event per delivered message that carried
the file, and the report's "delivered, later found malicious" and "appliance audit" sections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from esalog.encode import to_event
from esalog.parsers.config import ParseConfig
from esalog.pipeline import PipelineConfig, build_pipeline
from esalog.schemas import validator
from esalog.testing import read_ndjson
from esalog.tracking.config import TrackingConfig
from tests.conftest import run_cli

SHA = "47dce1cb4e3bf7f305d050eb0a634b32492228332f8bec080a5006913e5a4b02"
HEAD = ("Tue Mar 14 10:00:00 2023 Info: Begin Logfile\n"
        "Tue Mar 14 10:00:00 2023 Info: Version: 15.0.0-104 SN: 4229C1A2B3C4D5E6F7A8-0B1C2D3E4F5A\n")


def message(mid: int, *, delivered: bool = True, second: int = 1) -> str:
    p = f"Tue Mar 14 10:00:{second:02d} 2023 Info: "
    end = (f"{p}Message done DCID 9 MID {mid} to RID [0]\n" if delivered else
           f"{p}Bounced: DCID 9 MID {mid} to RID 0 - 5.1.1 - Bad destination mailbox address "
           f"('550', ['5.1.1 no such user']) []\n")
    return (f"{p}New SMTP ICID {mid} interface Data 1 (10.0.0.1) address 198.51.100.7 reverse dns host "
            f"mx.example.net verified yes\n"
            f"{p}Start MID {mid} ICID {mid}\n"
            f"{p}MID {mid} ICID {mid} From: <billing@example.net>\n"
            f"{p}MID {mid} ICID {mid} RID 0 To: <alice{mid}@example.com>\n"
            f"{p}MID {mid} Subject 'Invoice {mid}'\n"
            f"{p}MID {mid} ready 2000 bytes from <billing@example.net>\n"
            f"{p}New SMTP DCID 9 interface 10.0.0.1 address 203.0.113.5 port 25\n"
            f"{p}Delivery start DCID 9 MID {mid} to RID [0]\n"
            f"{end}"
            f"{p}Message finished MID {mid} done\n")


def reputation(mid: int, sha: str = SHA) -> str:
    return (f"Tue Mar 14 10:00:02 2023 Info: Response received for file reputation query from Cloud. "
            f"File Name = 'invoice.docm', MID = {mid}, Disposition = FILE UNKNOWN, Malware = None, "
            f"Analysis Score = 0, sha256 = {sha}, upload_action = Recommended to send the file for analysis\n")


def retrospective(day: int = 16, sha: str = SHA) -> str:
    return (f"Thu Mar {day} 08:00:00 2023 Info: Retrospective verdict received. SHA256: {sha}, "
            f"Timestamp: 1678953600.5, Verdict: MALICIOUS, Reputation Score: 0, Spyname: W32.Generic.SBX.TG\n")


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """A mail log with a delivered message (MID 7781) and a bounced one (7782) carrying the same file,
    and the AMP log: their reputation answers, then two days later a retrospective verdict."""
    (tmp_path / "mail.@20230314T100000.s").write_text(HEAD + message(7781) + message(7782, delivered=False))
    (tmp_path / "amp.@20230314T100000.s").write_text(HEAD + reputation(7781) + reputation(7782) + retrospective())
    return tmp_path


def affected(events: list[dict]) -> list[dict]:
    return [e for e in events if e["event"].get("action") == "retrospective-verdict-message"]


@pytest.mark.parametrize("order", ["amp first (file name order)", "mail first"])
def test_verdict_names_each_delivered_message_whatever_the_order(logs: Path, order: str) -> None:
    """esalog parse: one event for the delivered message, none for the bounced one, in either file order."""
    files = sorted(str(p) for p in logs.iterdir())
    if order == "mail first":
        files.reverse()
    done = run_cli("parse", "-q", *files)
    assert done.returncode == 0, done.stderr.decode()
    [event] = affected(read_ndjson(done.stdout))
    assert event["cisco"]["esa"]["mid"] == 7781
    assert event["email"]["to"]["address"] == ["alice7781@example.com"]
    assert event["email"]["from"]["address"] == ["billing@example.net"]
    assert event["email"]["subject"] == "Invoice 7781"
    assert event["cisco"]["esa"]["delivered_at"] == "2023-03-14T10:00:01.000Z"
    assert event["cisco"]["esa"]["retrospective"]["result"] == "malicious"
    assert event["cisco"]["esa"]["retrospective"]["threat_name"] == "W32.Generic.SBX.TG"
    assert event["file"]["hash"]["sha256"] == SHA and event["event"]["kind"] == "alert"
    assert not list(validator().iter_errors(event))


def test_report_lists_the_message_and_the_appliance_audit(logs: Path, tmp_path: Path) -> None:
    """esalog report (terminal, JSON, HTML): the delivered-later-malicious section and the audit section."""
    (logs / "authentication.@20230314T100000.s").write_text(
        "Tue Mar 14 09:05:12 2023 Info: An authentication attempt by the user mallory from 198.51.100.23 failed\n"
        "Tue Mar 14 09:05:13 2023 Info: An authentication attempt by the user mallory from 198.51.100.23 failed\n")
    (logs / "system.@20230314T100000.s").write_text(
        "Tue Mar 14 10:15:02 2023 Info: PID 4410: User admin commit changes: Enabled TLS on the listener\n")
    files = sorted(str(p) for p in logs.glob("*.s"))
    html = tmp_path / "report.html"
    shown = run_cli("report", *files, "--html", str(html))
    assert shown.returncode == 0, shown.stderr.decode()
    text = shown.stdout.decode()
    assert "Delivered, later found malicious (1 messages)" in text and "alice7781@example.com" in text
    assert "mallory from 198.51.100.23" in text and "Enabled TLS on the listener" in text
    digest = json.loads(run_cli("report", "--json", *files).stdout)
    later = digest["delivered_later_malicious"]
    assert later["messages"] == 1 and later["rows"][0]["mid"] == 7781 and later["rows"][0]["sha256"] == SHA
    audit = digest["appliance_audit"]
    assert audit["failed_logins"] == [{"user": "mallory", "source_ip": "198.51.100.23", "count": 2}]
    assert audit["commits_by_user"] == [{"user": "admin", "count": 1}]
    page = html.read_text()
    assert "Delivered, later found malicious" in page and "Invoice 7781" in page and "Appliance audit" in page


def _run(lines: str, **tracking: object) -> list[dict]:
    pipeline = build_pipeline(PipelineConfig(ParseConfig(), TrackingConfig(**tracking)))  # type: ignore[arg-type]
    stream = pipeline.open_stream("mixed.log")
    records = [r for line in lines.splitlines() for r in pipeline.process(line, stream)]
    return [to_event(r) for r in records]


def test_memory_is_bounded_by_count_and_log_time() -> None:
    """Only the latest --verdict-messages delivered messages are remembered, each for --verdict-window."""
    lines = "".join(message(m, second=m - 100) + reputation(m) for m in (101, 102, 103))
    assert [e["cisco"]["esa"]["mid"] for e in affected(_run(lines + retrospective()))] == [101, 102, 103]
    kept = affected(_run(lines + retrospective(), verdict_messages=2))
    assert [e["cisco"]["esa"]["mid"] for e in kept] == [102, 103]
    assert affected(_run(lines + retrospective(day=16), verdict_window=86400.0)) == []  # two days later


def test_consolidated_event_attachment_hashes_link_too() -> None:
    """A CEF line's attachment SHA-256 (ESAAttachmentDetails) ties the file to its MID as well."""
    cef = ("Tue Mar 14 10:00:02 2023 Info: CEF:0|Cisco|C100V Email Security Virtual Appliance|15.0.0-104|"
           "ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|ESAMID=7781 ESAICID=7781 "
           "ESAAttachmentDetails={'invoice.docm': {'AMP': {'Verdict': 'FILE UNKNOWN', 'fileHash': '" + SHA + "'}}}")
    events = _run(message(7781) + cef + "\n" + retrospective())
    [event] = affected(events)
    assert event["cisco"]["esa"]["mid"] == 7781
