"""``esalog filter --protocol``: the host protocols, driven over stdin/stdout like rsyslog drives them."""

from __future__ import annotations

import json
from pathlib import Path

from esalog.testing import read_ndjson
from tests.conftest import run_cli

LINES = [
    "Thu Aug 14 11:04:31 2014 Info: New SMTP ICID 10293 interface Management (192.168.0.199) address"
    " 192.168.0.200 reverse dns host ns.example.com verified no",
    " Info: Start MID 1404 ICID 10293",  # syslog MSG part: leading space after the tag
    "<22>Aug 14 11:04:51 esa1 mail_logs: Info: MID 1404 ICID 10293 From: <user@domain.com>",
    "not an ESA line at all",
    "",
]
STDIN = "".join(line + "\n" for line in LINES).encode()


def test_omprog_confirms_start_and_every_message(tmp_path: Path) -> None:
    """OK at start and one OK per message on stdout; one event per line in --output, in order."""
    out = tmp_path / "events.ndjson"
    proc = run_cli("filter", "--protocol", "rsyslog-omprog", "--output", str(out), input=STDIN)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().splitlines() == ["OK"] * (len(LINES) + 1)
    assert proc.stderr == b""
    events = read_ndjson(out)
    assert [e["event"]["original"] for e in events] == LINES
    assert events[1]["cisco"]["esa"] == {"kind": "message-start", "mid": 1404, "icid": 10293}
    assert events[2]["observer"]["hostname"] == "esa1"
    assert [e["event"]["kind"] for e in events[3:]] == ["pipeline_error", "pipeline_error"]


def test_omprog_transactions_defer_until_commit(tmp_path: Path) -> None:
    """useTransactions: BEGIN -> OK, messages -> DEFER_COMMIT, COMMIT -> OK; output is appended."""
    out = tmp_path / "events.ndjson"
    out.write_text('{"kept":true}\n')
    first = STDIN[: STDIN.index(b"\n") + 1]
    data = b"BEGIN TRANSACTION\n" + first + b" Info: ICID 10293 lost\nCOMMIT TRANSACTION\n"
    proc = run_cli("filter", "--protocol", "rsyslog-omprog", "-o", str(out), input=data)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().splitlines() == ["OK", "OK", "DEFER_COMMIT", "DEFER_COMMIT", "OK"]
    rows = read_ndjson(out)
    assert rows[0] == {"kept": True}
    assert [r["cisco"]["esa"]["kind"] for r in rows[1:]] == ["connection-opened", "connection-lost"]


def test_omprog_without_output_is_a_usage_error() -> None:
    """Stdout carries confirmations, so the events need a file."""
    proc = run_cli("filter", "--protocol", "rsyslog-omprog", input=STDIN)
    assert proc.returncode == 2
    assert b"--output" in proc.stderr


def test_mmexternal_answers_one_line_per_line_under_esa() -> None:
    """Exactly one reply per input line, in order, the event under $!esa, nothing on stderr."""
    proc = run_cli("filter", "--protocol", "rsyslog-mmexternal", input=STDIN)
    assert proc.returncode == 0
    assert proc.stderr == b""
    replies = read_ndjson(proc.stdout)
    assert len(replies) == len(LINES)
    assert all(set(r) == {"$!"} for r in replies)  # msg is left intact
    assert [r["$!"]["esa"]["event"]["original"] for r in replies] == LINES
    assert replies[1]["$!"]["esa"]["message"] == "Start MID 1404 ICID 10293"
    assert replies[2]["$!"]["esa"]["email"]["from"]["address"] == ["user@domain.com"]


def test_mmexternal_fulljson_reads_msg() -> None:
    """interface.input=fulljson: the line is taken from the msg key."""
    line = json.dumps({"msg": " Info: ICID 10293 lost", "hostname": "esa1"}).encode() + b"\n"
    proc = run_cli("filter", "--protocol", "rsyslog-mmexternal", input=line)
    reply = json.loads(proc.stdout)
    assert reply["$!"]["esa"]["cisco"]["esa"] == {"kind": "connection-lost", "icid": 10293}
    assert reply["$!"]["esa"]["passthrough"] == {"hostname": "esa1"}  # other keys pass through


def test_lines_protocol_writes_events_to_stdout() -> None:
    """The default protocol: JSON lines on stdout, one per input line."""
    proc = run_cli("filter", input=STDIN)
    assert proc.returncode == 0
    events = read_ndjson(proc.stdout)
    assert [e["event"]["original"] for e in events] == LINES
