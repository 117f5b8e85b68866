"""The CLI routes lines of the other log types to their packs by file name and by syslog program."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.conftest import run_cli

AUTH_FILE_LINES = (
    "Mon Nov  2 08:00:00 2026 Info: Begin Logfile\n"
    "Mon Nov  2 08:00:00 2026 Info: Time offset from UTC: 3600 seconds\n"
    "Mon Nov  2 08:00:05 2026 Info: An authentication attempt by the user mallory from 198.51.100.23 failed using"
    " an HTTPS connection.\n"
    "Mon Nov  2 08:01:00 2026 Info: The user admin successfully logged on from 192.0.2.10 with privilege admin"
    " using an HTTPS connection.\n"
)


def _events(stdout: bytes) -> list[dict]:
    return [orjson.loads(line) for line in stdout.splitlines()]


def test_file_named_like_the_appliance_names_it(tmp_path: Path) -> None:
    """``authentication.@20261102T080000.s`` is read with the authentication pack, header offset applied."""
    path = tmp_path / "authentication.@20261102T080000.s"
    path.write_text(AUTH_FILE_LINES)
    proc = run_cli("parse", "-q", str(path))
    assert proc.returncode == 0, proc.stderr.decode()
    events = _events(proc.stdout)
    assert [e["event"]["dataset"] for e in events] == ["cisco_esa.authentication"] * 4
    assert [e["event"]["action"] for e in events] == ["log-file-begin", "log-file-time-offset", "login-failed",
                                                       "logged-in"]
    failed = events[2]
    assert failed["user"]["name"] == "mallory" and failed["event"]["outcome"] == "failure"
    assert failed["@timestamp"] == "2026-11-02T07:00:05.000Z"


def test_host_in_file_name_and_default_system_logs_name(tmp_path: Path) -> None:
    """``<name>.<host>.@<stamp>.s`` and the appliance's default ``system_logs`` subscription name."""
    auth = tmp_path / "authentication.esa1.example.com.@20261102T080000.s"
    auth.write_text(AUTH_FILE_LINES)
    system = tmp_path / "system_logs.@20261102T080000.s"
    system.write_text("Mon Nov  2 08:10:00 2026 Info: PID 4410: User admin commit changes: Enabled TLS\n")
    proc = run_cli("parse", "-q", str(auth), str(system))
    events = _events(proc.stdout)
    assert {e["event"]["dataset"] for e in events[:4]} == {"cisco_esa.authentication"}
    assert events[4]["event"]["dataset"] == "cisco_esa.system"
    assert events[4]["cisco"]["esa"]["commit"]["comment"] == "Enabled TLS"


def test_syslog_program_name_picks_the_pack() -> None:
    """A syslog line names its subscription; each goes to its own pack from one stream (stdin)."""
    lines = (
        b"<38>Nov  2 08:00:00 esa1 authentication: Info: User joe failed authentication.\n"
        b"<182>Nov  2 08:00:00 esa1 status: Info: Status: CPULd 3 DskIO 0 RAMUtil 9 CrtMID 77\n"
        b"<166>Nov  2 08:00:00 esa1 amp: Info: Retrospective verdict received. SHA256: "
        b"47dce1cb4e3bf7f305d050eb0a634b32492228332f8bec080a5006913e5a4b02, Timestamp: 1793606400.0,"
        b" Verdict: MALICIOUS, Reputation Score: 90, Spyname: W32.Generic.SBX.TG\n"
        b"<166>Nov  2 08:00:00 esa1 gui_logs: Info: req:192.0.2.10 user:admin id:Kq3Zr8Tn2Vb5Xc7Lm9Pd 200 GET /login"
        b" HTTP/1.1 curl/8.5.0\n"
        b"<166>Nov  2 08:00:00 esa1 system_logs: Info: PID 4410: User admin commit changes: Enabled TLS\n"
        b"<166>Nov  2 08:00:00 esa1 sntpd_logs: Info: The system time was changed using information from 192.0.2.1.\n"
    )
    proc = run_cli("parse", "-q", "-", input=lines)
    assert proc.returncode == 0, proc.stderr.decode()
    events = _events(proc.stdout)
    assert [e["event"]["dataset"] for e in events] == [
        "cisco_esa.authentication", "cisco_esa.status", "cisco_esa.amp", "cisco_esa.gui_logs", "cisco_esa.system",
        "cisco_esa.sntpd_logs"]
    assert events[0]["user"]["name"] == "joe" and events[0]["event"]["outcome"] == "failure"
    assert events[1]["event"]["kind"] == "metric" and events[1]["cisco"]["esa"]["status"]["current"]["mid"] == 77
    assert events[2]["cisco"]["esa"]["amp"]["retrospective"] is True
    assert events[3]["http"]["response"]["status_code"] == 200
    assert "esalog_unsupported_log_type" in events[5]["tags"]  # a type without a pack is still kept, tagged
    for event in events[:5]:
        assert "tags" not in event, event
