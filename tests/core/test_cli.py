"""The esalog command line, run in a subprocess the way a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import orjson

from esalog.testing import read_ndjson
from tests.conftest import ROOT, run_cli

LINES = [
    "Thu Aug 14 11:04:51 2014 Info: Start MID 1404 ICID 10293",
    "Thu Aug 14 11:04:51 2014 Info: MID 1404 ICID 10293 From: <user@domain.com>",
    "Thu Aug 14 11:05:36 2014 Info: something AsyncOS will log one day",
]


def _events(data: bytes) -> list[dict]:
    return read_ndjson(data)


def test_parse_files_in_order_with_summary(tmp_path):
    """Several files and a glob, in the order given; NDJSON out; summary on stderr."""
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_text("\n".join(LINES[:2]) + "\n")
    b.write_text(LINES[2] + "\n")
    proc = run_cli("parse", str(b), str(tmp_path / "a.*"))
    assert proc.returncode == 0
    events = _events(proc.stdout)
    assert [e["event"]["original"] for e in events] == [LINES[2], *LINES[:2]]
    assert b"3 lines, 3 events (0 summaries), 1 unmatched, 0 errors" in proc.stderr


def test_parse_stdin_and_output_file(tmp_path):
    """``-`` (or nothing) reads stdin; ``-o`` writes the NDJSON to a file."""
    out = tmp_path / "out.ndjson"
    proc = run_cli("parse", "-", "-o", str(out), "--quiet", input="\n".join(LINES).encode())
    assert proc.returncode == 0 and proc.stdout == b"" and proc.stderr == b""
    assert [e["event"]["action"] for e in _events(out.read_bytes())] == ["message-started", "envelope-from", "unknown"]


def test_strict_exit_code(tmp_path):
    """``--strict`` exits 3 when a line was unmatched, 0 when all were recognised."""
    assert run_cli("parse", "--strict", "-", input="\n".join(LINES).encode()).returncode == 3
    assert run_cli("parse", "--strict", "-", input="\n".join(LINES[:2]).encode()).returncode == 0


def test_missing_file_and_bad_zone_are_usage_errors():
    """Usage problems exit 2 with a clear message and no traceback."""
    proc = run_cli("parse", "/nonexistent/mail.current")
    assert proc.returncode == 2 and b"no such file" in proc.stderr and b"Traceback" not in proc.stderr
    proc = run_cli("parse", "--tz", "Nowhere/Land", "-", input=b"")
    assert proc.returncode == 2 and b"unknown time zone" in proc.stderr


def test_bad_user_pack_is_a_usage_error(tmp_path):
    """A malformed --pack exits 2 naming the file, the rule and the problem."""
    pack = tmp_path / "mine.yaml"
    pack.write_text("name: mine\nrules:\n  - id: broken\n    match: 'ICID %{NOPE:x}'\n")
    proc = run_cli("parse", "--pack", str(pack), "-", input=b"")
    assert proc.returncode == 2
    assert f"{pack}:3 (rule 'broken'): unknown sub-pattern %{{NOPE}}".encode() in proc.stderr


def test_tz_and_year_options():
    """--tz shifts file-form stamps to UTC; --year fills syslog stamps."""
    proc = run_cli("parse", "--tz", "+02:00", "--year", "2019", "-", input=(
        b"Thu Aug 14 11:04:51 2014 Info: ICID 1 close\n<22>Dec 31 23:00:00 esa1 mail_logs: Info: ICID 2 close\n"))
    stamps = [e["@timestamp"] for e in _events(proc.stdout)]
    assert stamps == ["2014-08-14T09:04:51.000Z", "2019-12-31T21:00:00.000Z"]


def test_filter_raw_and_json_lines():
    """filter: raw lines and JSON objects carrying the line; other keys of the object are kept."""
    data = (LINES[0] + "\n" + json.dumps({"message": LINES[1], "host": "shipper-1", "@version": "1"}) + "\n"
            + "{not json at all\n").encode()
    proc = run_cli("filter", input=data)
    assert proc.returncode == 0
    events = _events(proc.stdout)
    assert len(events) == 3
    assert events[0]["event"]["action"] == "message-started"
    assert events[1]["event"]["action"] == "envelope-from" and events[1]["passthrough"]["host"] == "shipper-1"
    assert events[1]["passthrough"]["@version"] == "1" and events[1]["email"]["from"]["address"] == ["user@domain.com"]
    assert events[2]["event"]["kind"] == "pipeline_error" and events[2]["event"]["original"] == "{not json at all"


def test_filter_custom_field():
    """``--field`` names where JSON input carries the raw line."""
    proc = run_cli("filter", "--field", "log", input=(json.dumps({"log": LINES[0]}) + "\n").encode())
    assert _events(proc.stdout)[0]["cisco"]["esa"]["mid"] == 1404


def test_filter_answers_each_line_before_the_next_arrives():
    """filter flushes per line: a pipeline host gets each answer without closing stdin."""
    proc = subprocess.Popen([sys.executable, "-m", "esalog", "filter"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
    try:
        for line in LINES:
            proc.stdin.write(line.encode() + b"\n")
            proc.stdin.flush()
            answer = orjson.loads(proc.stdout.readline())
            assert answer["event"]["original"] == line
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0


def test_patterns_list_and_test():
    """patterns list shows rules with dispatch keys; patterns test passes for the built-in packs."""
    listing = run_cli("patterns", "list")
    assert listing.returncode == 0 and b"connection-lost" in listing.stdout and b"ICID lost" in listing.stdout
    proc = run_cli("patterns", "test")
    assert proc.returncode == 0 and b" 0 failed" in proc.stdout


def test_patterns_test_fails_on_a_wrong_example(tmp_path):
    """A user pack whose example does not yield its fields makes patterns test exit non-zero."""
    pack = tmp_path / "mine.yaml"
    pack.write_text("name: mine\nrules:\n  - id: mine-close\n    match: 'ICID %{ICID:cisco.esa.icid:int} closed'\n"
                    "    examples:\n      - line: 'Thu Aug 14 11:05:36 2014 Info: ICID 7 closed'\n"
                    "        fields: {cisco.esa.icid: 8}\n")
    proc = run_cli("patterns", "test", "--pack", str(pack))
    assert proc.returncode == 1
    assert b"FAIL mine-close" in proc.stderr and b"cisco.esa.icid: got 7, expected 8" in proc.stderr


def test_schema_command_prints_the_committed_schema():
    """``esalog schema`` prints the published JSON Schema."""
    proc = run_cli("schema")
    committed = (ROOT / "src/esalog/schemas/event.schema.json").read_bytes()
    assert proc.returncode == 0 and proc.stdout == committed


def test_make_run_examples_parse_cleanly():
    """The bundled examples (what `make run` converts) parse; only the deliberate garbage line errs."""
    logs = sorted(str(p) for p in (ROOT / "examples/logs").glob("*.log"))
    proc = run_cli("parse", *logs)
    assert proc.returncode == 0
    events = _events(proc.stdout)
    assert sum(e["event"]["kind"] == "pipeline_error" for e in events) == 1
    assert [e["message"] for e in events if e["event"]["kind"] == "event" and e["event"]["action"] == "unknown"] == []
