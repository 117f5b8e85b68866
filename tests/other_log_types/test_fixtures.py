"""Golden whole-event fixtures of the other ESA log types (issue 15).

``tests/fixtures/<log_type>/<topic>.log`` holds input lines (provenance in ``tests/fixtures/SOURCE.md``:
public lines, and ``synthetic.log`` files of invented values in public line shapes);
``<topic>.expected.ndjson`` holds the events it must give, whole (checked with every other golden
fixture by ``tests/test_golden.py``). Here: every line must be recognised by its pack and validate
against the published schema, and a few facts per type are checked by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from esalog.parsers.fields import get_field
from esalog.schemas import validator
from tests.conftest import FIXTURES
from tests.other_log_types.helpers import OTHER_PACKS, parse_file, problems_of

FIXTURE_FILES = sorted(p for t in OTHER_PACKS for p in (FIXTURES / t).glob("*.log"))


def _events(path: Path) -> list[tuple[str, dict[str, Any]]]:
    return parse_file(path, log_type=path.parent.name)


def _by_line(path: Path) -> dict[str, dict[str, Any]]:
    return dict(_events(path))


def test_every_pack_has_fixtures() -> None:
    assert {p.parent.name for p in FIXTURE_FILES} == set(OTHER_PACKS)


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_lines_are_recognised_by_their_pack(path: Path) -> None:
    """Each line is recognised by its own pack and validates."""
    rows = _events(path)
    assert rows, path
    check = validator()
    for line, event in rows:
        assert problems_of(event) == [], line
        assert event["event"]["dataset"] == f"cisco_esa.{path.parent.name}", line
        errors = [e.message for e in check.iter_errors(event)]
        assert errors == [], (line, errors)


# ------------------------------------------------------------------------------- facts per type

def test_failed_logins_name_the_user_and_fail() -> None:
    ev = _by_line(FIXTURES / "authentication" / "logins.log")
    e = ev["Mon Aug 10 09:21:59 2020 Info: An authentication attempt by the user dummy_user1 from 27.148.207.85 failed"]
    assert (get_field(e, "user.name"), get_field(e, "source.ip")) == ("dummy_user1", "27.148.207.85")
    assert e["event"]["outcome"] == "failure" and e["event"]["action"] == "login-failed"
    assert e["event"]["category"] == ["authentication"] and e["event"]["type"] == ["start"]
    e = ev["Wed Sep 17 16:26:17 2008 Info: User joe failed authentication."]
    assert get_field(e, "user.name") == "joe" and e["event"]["outcome"] == "failure"
    e = ev["Wed Sep 17 16:28:28 2008 Info: User joe was authenticated successfully."]
    assert get_field(e, "user.name") == "joe" and e["event"]["outcome"] == "success"
    assert e["event"]["action"] == "logged-in"


def test_login_facts_role_method_protocol() -> None:
    ev = _by_line(FIXTURES / "authentication" / "synthetic.log")
    e = ev["Tue Mar 14 09:05:12 2023 Info: An authentication attempt by the user mallory from 198.51.100.23 failed"
           " using an SSH connection."]
    assert (get_field(e, "user.name"), get_field(e, "network.protocol"), e["event"]["outcome"]) == \
        ("mallory", "ssh", "failure")
    e = ev["Tue Mar 14 09:00:00 2023 Info: The user admin successfully logged on from 192.0.2.10 with privilege admin"
           " using an HTTPS connection."]
    assert get_field(e, "user.roles") == ["admin"] and get_field(e, "related.ip") == ["192.0.2.10"]
    e = next(v for k, v in ev.items() if "helpdesk" in k)
    assert get_field(e, "cisco.esa.login.method") == "password" and get_field(e, "user.roles") == ["helpdesk"]
    assert get_field(e, "log.syslog.appname") == "authentication"
    e = next(v for k, v in ev.items() if "GUI: User admin" in k)
    assert e["event"]["type"] == ["end"] and get_field(e, "cisco.esa.session.id") == "Xy7PqR2sT9uVw3ZaB4cD"


def test_commit_gives_user_and_comment() -> None:
    ev = _by_line(FIXTURES / "system" / "synthetic.log")
    e = ev["Tue Mar 14 10:15:02 2023 Info: PID 4410: User admin commit changes: Enabled TLS on the incoming listener"]
    assert get_field(e, "user.name") == "admin"
    assert get_field(e, "cisco.esa.commit.comment") == "Enabled TLS on the incoming listener"
    assert get_field(e, "process.pid") == 4410
    assert e["event"]["category"] == ["configuration"] and e["event"]["type"] == ["change"]
    assert e["event"]["action"] == "configuration-committed"
    e = ev["Tue Mar 14 10:20:44 2023 Info: PID 4411: User operator1 commit changes:"]
    assert get_field(e, "user.name") == "operator1" and get_field(e, "cisco.esa.commit") is None


def test_retrospective_verdict_sha256_and_disposition() -> None:
    sha = "47dce1cb4e3bf7f305d050eb0a634b32492228332f8bec080a5006913e5a4b02"
    events = [e for _l, e in _events(FIXTURES / "amp" / "synthetic.log")]
    retro = [e for e in events if e["event"]["action"] == "amp-retrospective-verdict"]
    assert len(retro) == 2
    e = retro[0]
    assert get_field(e, "file.hash.sha256") == sha and get_field(e, "related.hash") == [sha]
    assert get_field(e, "cisco.esa.amp.disposition") == "MALICIOUS"
    assert get_field(e, "cisco.esa.verdict.result") == "malicious"
    assert get_field(e, "cisco.esa.verdict.threat_name") == "W32.Generic.SBX.TG"
    assert get_field(e, "cisco.esa.amp.retrospective") is True
    assert get_field(e, "cisco.esa.amp.timestamp") == "2023-03-15T08:00:00.500Z"
    assert get_field(e, "cisco.esa.mid") is None and "email" not in e  # a verdict change names no message
    e = retro[1]  # logged with extra spaces after the level word
    assert get_field(e, "cisco.esa.verdict.result") == "clean"
    assert get_field(e, "file.hash.sha256") == "c53832d61231e39b137fa7088f930036c5c088bac43fb14ad59447714ffb8dee"
    assert get_field(e, "cisco.esa.verdict.threat_name") is None
    # the same file's earlier reputation answer carries the MID the retrospective verdict links back to
    first = [e for e in events if get_field(e, "file.hash.sha256") == sha and get_field(e, "cisco.esa.mid")]
    assert {get_field(e, "email.local_id") for e in first} == {"7781"}


def test_amp_reputation_answer() -> None:
    events = [e for _l, e in _events(FIXTURES / "amp" / "reputation.log")]
    e = next(e for e in events if e["event"]["action"] == "file-reputation-verdict")
    assert get_field(e, "file.name") == "tqps.rtf" and get_field(e, "email.local_id") == "166267"
    assert get_field(e, "cisco.esa.verdict.threat_name") == "W32.C78352D892-95.SBX.TG"
    assert get_field(e, "cisco.esa.amp.reputation_score") == 1
    assert get_field(e, "file.hash.sha256") == "756a0c3fc7d82abb243795751174053f106b7b54e431778068fa7920064268e0"


def test_status_counters_are_numbers() -> None:
    events = [e for _l, e in _events(FIXTURES / "status" / "synthetic.log")]
    e = events[2]
    assert e["event"]["kind"] == "metric"
    status = e["cisco"]["esa"]["status"]
    for value in (status["cpu"]["utilization"], status["injected"]["bytes"], status["hard_bounce"]["5xx"],
                  status["log"]["available_bytes"], status["swap"]["usage"], status["current"]["mid"]):
        assert type(value) is int
    assert status["cpu"]["utilization"] == 7 and status["injected"]["bytes"] == 5521239021
    assert status["log"] == {"used": 6, "available": "212G", "available_bytes": 212 * 1024**3}
    assert status["current"]["mid"] == 104233 and "email" not in e and get_field(e, "cisco.esa.mid") is None
    assert e["@timestamp"] == "2023-03-14T13:01:00.000Z"  # the header's UTC offset applies
    old = events[3]["cisco"]["esa"]["status"]
    assert old["load"]["antivirus"] == 0 and "swap" not in old and old["log"]["available"] == "17G"


def test_gui_access_facts() -> None:
    ev = _by_line(FIXTURES / "gui_logs" / "synthetic.log")
    ok, denied = [v for k, v in ev.items() if " req:" in k]
    assert get_field(ok, "url.path") == "/monitor/user_report"
    assert get_field(ok, "url.query") == "report_query_id=mga_overview"
    assert get_field(ok, "http.request.method") == "GET" and get_field(ok, "http.response.status_code") == 200
    assert get_field(ok, "user_agent.original").startswith("Mozilla/5.0 (X11")
    assert ok["event"]["outcome"] == "success" and ok["event"]["category"] == ["web"]
    assert get_field(denied, "http.response.status_code") == 403 and denied["event"]["outcome"] == "failure"
    anonymous = next(v for k, v in _by_line(FIXTURES / "gui_logs" / "access.log").items() if "user:- " in k)
    assert get_field(anonymous, "user.name") is None and get_field(anonymous, "user_agent.original")


def test_antivirus_verdicts() -> None:
    ev = _by_line(FIXTURES / "antivirus" / "synthetic.log")
    virus = next(v for k, v in ev.items() if "Virus" in k)
    assert get_field(virus, "cisco.esa.verdict.threat_name") == "Troj/DocDl-ABC"
    assert get_field(virus, "file.name") == "invoice.docm"
    assert get_field(virus, "cisco.esa.antivirus.object") == "body.scan/invoice.zip/invoice.docm"
    assert get_field(virus, "email.local_id") == "7790"
    results = sorted(get_field(v, "cisco.esa.verdict.result") for v in ev.values())
    assert results == ["clean", "error", "unscannable", "unscannable", "virus"]


@pytest.mark.parametrize(("log_type", "line"), [
    ("authentication", "Tue Mar 14 09:00:00 2023 Info: User admin did something new"),
    ("system", "Tue Mar 14 09:00:00 2023 Info: The appliance learned a new trick"),
    ("gui_logs", "Tue Mar 14 09:00:00 2023 Info: req:192.0.2.1 something else entirely"),
    ("amp", "Tue Mar 14 09:00:00 2023 Info: Retrospective verdict received. in a shape never seen"),
    ("antivirus", "Tue Mar 14 09:00:00 2023 Info: sophos  antivirus - MID 5 - Quarantined 'x'"),
    ("antispam", "Tue Mar 14 09:00:00 2023 Info: case antispam - engine (1) : case-daemon: a new message"),
    ("error_logs", "Tue Mar 14 09:00:00 2023 Critical: Something broke badly"),
    ("status", "Tue Mar 14 09:00:00 2023 Info: Status: CPULd 1 NewCounter 5"),
    ("content_scanner", "Tue Mar 14 09:00:00 2023 Info: PF: Doing something else"),
    ("updater_logs", "Tue Mar 14 09:00:00 2023 Info: case downloaded a brand new thing"),
    ("ftpd_logs", "Tue Mar 14 09:00:00 2023 Info: ID:7 Something new happened"),
    ("slbld_logs", "Tue Mar 14 09:00:00 2023 Info: SLBL: Something new happened."),
    ("cli_logs", "Tue Mar 14 09:00:00 2023 Info: PID 5: User admin did something new"),
    ("reportd_logs", "Tue Mar 14 09:00:00 2023 Info: Period of something new"),
])
def test_unknown_line_stays_unmatched(log_type: str, line: str, tmp_path: Path) -> None:
    """No catch-all rule: a line shape no rule knows keeps its dataset and is tagged esalog_unmatched."""
    path = tmp_path / f"{log_type}.@20230314T090000.s"
    path.write_text(line + "\n")
    [(_line, event)] = parse_file(path)
    assert event["event"]["dataset"] == f"cisco_esa.{log_type}"
    assert event["event"]["action"] == "unknown" and "esalog_unmatched" in event["tags"]
    assert validator().is_valid(event)


def test_ftp_session_lines_share_the_connection_id() -> None:
    ev = _events(FIXTURES / "ftpd_logs" / "sessions.log")
    session = [e for _line, e in ev if get_field(e, "cisco.esa.ftp.connection_id") == "1"]
    assert [e["event"]["action"] for e in session] == [
        "connection-opened", "logged-in", "file-uploaded", "file-downloaded", "logged-out"]
    opened, login, upload = session[0], session[1], session[2]
    assert (get_field(opened, "source.ip"), get_field(opened, "destination.ip")) == ("10.1.3.14", "172.19.0.86")
    assert get_field(login, "user.name") == "admin" and login["event"]["category"] == ["authentication"]
    assert (get_field(upload, "file.name"), get_field(upload, "file.size")) == ("wording.txt", 20)


def test_slbl_update_failure_is_a_warning_failure() -> None:
    ev = _events(FIXTURES / "slbld_logs" / "database.log")
    failed = [e for _line, e in ev if e["event"]["action"] == "slbl-update-failed"]
    assert len(failed) == 2 and all(e["event"]["outcome"] == "failure" for e in failed)
    assert all(e["log"]["level"] == "warning" for e in failed)


def test_cli_command_and_prompt() -> None:
    ev = _events(FIXTURES / "cli_logs" / "commands.log")
    commands = [get_field(e, "cisco.esa.cli.command") for _line, e in ev]
    assert commands == ["who", "textconfig", ""]
    first = ev[0][1]
    assert get_field(first, "process.pid") == 16434 and get_field(first, "user.name") == "admin"
    assert get_field(first, "cisco.esa.cli.prompt") == "\\nmail3.example.com> "

