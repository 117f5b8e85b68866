"""``esalog filter --protocol``: the host protocols, driven over stdin/stdout like rsyslog drives them."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

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


class _Omprog:
    """``esalog filter --protocol rsyslog-omprog`` driven as rsyslog drives it, one message at a time,
    with its output file limited to *room* bytes (RLIMIT_FSIZE: a disk that fills up; raised later from
    outside with prlimit: space freed)."""

    def __init__(self, out: Path, room: int) -> None:
        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (room, resource.RLIM_INFINITY))

        self.process = subprocess.Popen(
            [sys.executable, "-m", "esalog", "filter", "--protocol", "rsyslog-omprog", "--output", str(out)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=limit)
        assert self.reply() == "OK"

    def send(self, line: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()
        return self.reply()

    def reply(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().decode().rstrip("\n")

    def free_space(self) -> None:
        resource.prlimit(self.process.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)

    def end(self) -> int:
        assert self.process.stdin is not None and self.process.stderr is not None
        self.process.stdin.close()
        self.stderr = self.process.stderr.read().decode()
        return self.process.wait(timeout=60)


def _mids(out: Path) -> tuple[list[int], int]:
    """The MIDs of the output's rows in order, and how many rows are not JSON (torn)."""
    mids, torn = [], 0
    for row in out.read_bytes().splitlines():
        try:
            mids.append(json.loads(row)["cisco"]["esa"]["mid"])
        except ValueError:
            torn += 1
    return mids, torn


@pytest.mark.parametrize("room", [3000, 3333, 4500])
def test_omprog_disk_full_message_is_retried_without_duplicate_or_torn_row(tmp_path: Path, room: int) -> None:
    """A write that fails (disk full) is answered with an error, so rsyslog sends the message again. Before,
    the failed bytes stayed in the output's buffer, or partly on disk: once there was room again the row
    was written twice, or a torn row glued itself to the next one."""
    out = tmp_path / "events.ndjson"
    host = _Omprog(out, room)
    confirmed: list[int] = []
    failures, mid = 0, 0
    while len(confirmed) < 30:
        answer = host.send(f"Mon Nov  2 08:00:01 2026 Info: MID {mid} Subject '{'s' * 150}'")
        if answer == "OK":
            confirmed.append(mid)
            mid += 1
            continue
        failures += 1
        assert "cannot write" in answer and failures < 5, answer
        host.free_space()  # rsyslog retries the same message later: by then there is room
    assert host.end() == 0
    assert failures >= 1  # the limit was really hit
    assert _mids(out) == (confirmed, 0)


def test_omprog_commit_that_fails_leaves_nothing_of_the_transaction(tmp_path: Path) -> None:
    """COMMIT answered with an error: rsyslog sends the whole transaction again, so none of it may stay in
    the output (before, its rows were written once per attempt, the first time perhaps torn)."""
    out = tmp_path / "events.ndjson"
    host = _Omprog(out, 2000)
    attempts = 0
    while True:
        attempts += 1
        assert host.send("BEGIN TRANSACTION") == "OK"
        for mid in range(10):
            assert host.send(f"Mon Nov  2 08:00:01 2026 Info: MID {mid} Subject '{'s' * 150}'") == "DEFER_COMMIT"
        if host.send("COMMIT TRANSACTION") == "OK":
            break
        assert attempts < 3
        host.free_space()
    assert host.end() == 0
    assert attempts == 2
    assert _mids(out) == (list(range(10)), 0)


def test_omprog_stopped_by_sigterm_keeps_what_was_confirmed_only(tmp_path: Path) -> None:
    """rsyslog stops omprog with SIGTERM: the messages answered OK are in the output, those of a transaction
    not committed are not (rsyslog sends that transaction again), the exit code is 143."""
    out = tmp_path / "events.ndjson"
    host = _Omprog(out, 10_000_000)
    for mid in range(3):
        assert host.send(f"Mon Nov  2 08:00:01 2026 Info: MID {mid} ICID 1") == "OK"
    assert host.send("BEGIN TRANSACTION") == "OK"
    for mid in range(3, 6):
        assert host.send(f"Mon Nov  2 08:00:01 2026 Info: MID {mid} ICID 1") == "DEFER_COMMIT"
    host.process.send_signal(signal.SIGTERM)
    assert host.end() == 143, host.stderr
    assert _mids(out) == ([0, 1, 2], 0)
    assert "stopped by SIGTERM after 7 lines" in host.stderr
