"""``esalog listen``: syslog over UDP and TCP (both framings) from this process to a listener subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from esalog.testing import FakeElasticsearch, FakeHEC, read_ndjson

UDP_LINES = [
    "<22>Aug 14 11:04:31 esa1 mail_logs: Info: Time offset from UTC: -21600 seconds",
    "<22>Aug 14 11:04:31 esa1 mail_logs: Info: New SMTP ICID 10293 interface Management (192.168.0.199)"
    " address 192.168.0.200 reverse dns host ns.example.com verified no",
    "<22>Aug 14 11:04:51 esa1 mail_logs: Info: Start MID 1404 ICID 10293",
]
TCP_NEWLINE = [
    "<22>Aug 14 11:04:51 esa1 mail_logs: Info: MID 1404 ICID 10293 From: <user@domain.com>",
    "<22>Aug 14 11:05:36 esa1 mail_logs: Info: ICID 10293 lost",
]
# RFC 5424, octet-counted, from a second appliance (another peer address)
TCP_OCTET = [
    "<22>1 2014-08-14T11:05:36Z esa2 mail_logs - - - Info: Message aborted MID 1404 Receiving aborted",
    "<22>1 2014-08-14T11:05:37Z esa2 mail_logs - - - Info: Message finished MID 1404 aborted\nnot a new line",
]
# a peer without a time offset header: its syslog stamps stay UTC
OTHER_PEER_UDP = "<22>Aug 14 11:04:51 esa3 mail_logs: Info: Start MID 77 ICID 88"


def start_listener(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int, int, Path]:
    out = tmp_path / "events.ndjson"
    proc = subprocess.Popen(
        [sys.executable, "-m", "esalog", "listen", "--udp", "127.0.0.1:0", "--tcp", "127.0.0.1:0",
         "--to", "file", "--out", str(out), "--year", "2014", *extra],
        stderr=subprocess.PIPE)
    assert proc.stderr is not None
    banner = proc.stderr.readline().decode()
    m = re.search(r"udp://127\.0\.0\.1:(\d+) tcp://127\.0\.0\.1:(\d+)", banner)
    if not m:
        proc.kill()
        pytest.fail(f"no listening banner: {banner!r} {proc.stderr.read().decode()}")
    return proc, int(m.group(1)), int(m.group(2)), out


def banner_line(proc: subprocess.Popen[bytes]) -> bytes:
    """The "listening on" line (warnings may come first: a token over plain http://)."""
    assert proc.stderr is not None
    line = proc.stderr.readline()
    while line.startswith(b"esalog: warning:"):
        line = proc.stderr.readline()
    return line


def read_events(path: Path) -> list[dict]:
    return read_ndjson(path) if path.exists() else []


def wait_count(path: Path, n: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(read_events(path)) < n:
        time.sleep(0.05)


def test_listener_receives_udp_and_both_tcp_framings(tmp_path: Path) -> None:
    """Every message arrives once, in order per sender; each appliance keeps its own clock."""
    proc, udp_port, tcp_port, out = start_listener(tmp_path)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for line in UDP_LINES:
                udp.sendto(line.encode(), ("127.0.0.1", udp_port))
        wait_count(out, len(UDP_LINES))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
            other.bind(("127.0.0.2", 0))  # another appliance: another peer address
            other.sendto(OTHER_PEER_UDP.encode() + b"\n", ("127.0.0.1", udp_port))
        wait_count(out, len(UDP_LINES) + 1)
        with socket.create_connection(("127.0.0.1", tcp_port)) as tcp:
            tcp.sendall(b"".join(line.encode() + b"\r\n" for line in TCP_NEWLINE))
        with socket.create_connection(("127.0.0.1", tcp_port), source_address=("127.0.0.3", 0)) as tcp:
            frames = [line.encode() for line in TCP_OCTET]
            tcp.sendall(b"".join(b"%d %s" % (len(f), f) for f in frames))
        wait_count(out, len(UDP_LINES) + 1 + len(TCP_NEWLINE) + len(TCP_OCTET))
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    events = read_events(out)
    originals = [e["event"]["original"] for e in events]
    assert originals == [*UDP_LINES, OTHER_PEER_UDP, *TCP_NEWLINE, *TCP_OCTET]
    assert "unknown" not in [e["event"]["action"] for e in events[:-1]]
    # esa1 declared UTC-6: its 11:04:31 is 17:04:31 UTC; esa3 (other peer) declared nothing
    assert events[1]["@timestamp"] == "2014-08-14T17:04:31.000Z"
    assert events[3]["@timestamp"] == "2014-08-14T11:04:51.000Z"
    assert events[3]["observer"]["hostname"] == "esa3"
    # octet counting keeps an embedded newline inside one message (one event, not two)
    assert events[-1]["message"] == "Message finished MID 1404 aborted\nnot a new line"
    assert events[-1]["cisco"]["esa"]["mid"] == 1404
    assert events[-2]["observer"]["hostname"] == "esa2"
    assert b"8 messages from 3 peers" in err and b" 0 dropped" in err


def test_sigterm_flushes_what_an_open_connection_sent(tmp_path: Path) -> None:
    """Lines sent just before SIGTERM on a connection that stays open are still written."""
    proc, _, tcp_port, out = start_listener(tmp_path)
    lines = [f"<22>Aug 14 11:04:51 esa1 mail_logs: Info: Start MID {n} ICID {n + 1000}" for n in range(1000)]
    with socket.create_connection(("127.0.0.1", tcp_port)) as tcp:
        tcp.sendall(b"".join(line.encode() + b"\n" for line in lines))
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert [e["event"]["original"] for e in read_events(out)] == lines


def test_udp_flood_is_received_or_counted_as_dropped(tmp_path: Path) -> None:
    """Under a burst every datagram is either written or counted as dropped; drops make the exit code 1."""
    proc, udp_port, _, out = start_listener(tmp_path, "--queue-size", "50")
    sent = 5000
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for n in range(sent):
            udp.sendto(b"<22>Aug 14 11:04:51 esa1 mail_logs: Info: Start MID %d ICID 7" % n, ("127.0.0.1", udp_port))
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    m = re.search(rb"(\d+) messages from .* (\d+) dropped", err)
    assert m, err
    received, dropped = int(m.group(1)), int(m.group(2))
    assert len(read_events(out)) == received
    assert received + dropped == sent
    assert proc.returncode == (1 if dropped else 0)


def test_oversized_frame_is_cut_and_tagged(tmp_path: Path) -> None:
    """A line over --max-frame becomes one truncated event; the next line is read normally."""
    proc, _, tcp_port, out = start_listener(tmp_path, "--max-frame", "100")
    long_line = "<22>Aug 14 11:04:51 esa1 mail_logs: Info: MID 1 ICID 2 Subject " + "x" * 5000
    short_line = "<22>Aug 14 11:04:52 esa1 mail_logs: Info: Start MID 3 ICID 4"
    with socket.create_connection(("127.0.0.1", tcp_port)) as tcp:
        tcp.sendall(long_line.encode() + b"\n" + short_line.encode() + b"\n")
        wait_count(out, 2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    events = read_events(out)
    assert len(events) == 2
    assert events[0]["event"]["original"] == long_line[:100]
    assert "esalog_truncated" in events[0]["tags"]
    assert events[1]["event"]["original"] == short_line
    assert b"1 truncated" in err


def test_listener_needs_an_address() -> None:
    """Without --udp or --tcp it is a usage error."""
    proc = subprocess.run([sys.executable, "-m", "esalog", "listen"], capture_output=True, timeout=60)
    assert proc.returncode == 2
    assert b"--udp or --tcp" in proc.stderr


def test_listener_ships_to_hec_and_elasticsearch(tmp_path: Path) -> None:
    """--to hec / --to es deliver through the connectors to (fake) Splunk HEC and Elasticsearch servers."""
    token = "11111111-2222-3333-4444-555555555555"
    lines = [f"<22>Aug 14 11:04:51 esa1 mail_logs: Info: Start MID {n} ICID {n + 1000}" for n in range(20)]
    with FakeHEC(token=token) as hec, FakeElasticsearch() as es:
        for target in (["--to", "hec", "--hec-url", hec.url, "--index", "email"],
                       ["--to", "es", "--es-url", es.url, "--es-index", "esa"]):
            proc = subprocess.Popen(
                [sys.executable, "-m", "esalog", "listen", "--tcp", "127.0.0.1:0", "--year", "2014", "--stats",
                 *target],
                stderr=subprocess.PIPE, env={**os.environ, "ESALOG_HEC_TOKEN": token})
            assert proc.stderr is not None
            banner = re.search(rb"tcp://127\.0\.0\.1:(\d+)", banner_line(proc))
            assert banner, "no listening banner"
            port = int(banner.group(1))
            with socket.create_connection(("127.0.0.1", port)) as tcp:
                tcp.sendall(b"".join(line.encode() + b"\n" for line in lines))
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            counters = json.loads(err.splitlines()[-1])
            assert (counters["messages"], counters["acknowledged"], counters["failed"]) == (len(lines), len(lines), 0)
        assert [e["event"]["event"]["original"] for e in hec.events] == lines
        assert {e["index"] for e in hec.events} == {"email"}
        assert len(es.ids()) == len(lines)
        # a second run (same lines again, as after a restart) adds documents instead of colliding
        proc = subprocess.Popen([sys.executable, "-m", "esalog", "listen", "--tcp", "127.0.0.1:0", "--year", "2014",
                                 "--to", "es", "--es-url", es.url, "--es-index", "esa"], stderr=subprocess.PIPE)
        assert proc.stderr is not None
        banner = re.search(rb"tcp://127\.0\.0\.1:(\d+)", banner_line(proc))
        assert banner
        with socket.create_connection(("127.0.0.1", int(banner.group(1)))) as tcp:
            tcp.sendall(b"".join(line.encode() + b"\n" for line in lines))
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert len(es.ids()) == 2 * len(lines)


@pytest.mark.parametrize("mode", [[], ["--stateless"], ["--summaries"]])
def test_compiled_core_and_python_path_deliver_the_same(tmp_path: Path, mode: list[str]) -> None:
    """The compiled core reads the listener's messages as the Python path does: the same events in the same
    order, from a generated log of two appliances (with cut frames), with and without session tracking."""
    from esalog.testing.generate import write_corpus

    log = tmp_path / "mail.log"
    write_corpus(log, 3000, "syslog", seed=6, verdicts=True, appliances=2)
    data = log.read_bytes() + b"<22>Aug 14 11:04:51 esa1 mail_logs: Info: MID 9 Subject '" + b"x" * 5000 + b"'\n"
    outputs = []
    for pure in ("", "1"):
        run = tmp_path / f"pure-{pure or 0}"
        run.mkdir()
        os.environ["ESALOG_PURE"] = pure
        try:
            proc, _, tcp, out = start_listener(run, "--max-frame", "4096", *mode)
        finally:
            del os.environ["ESALOG_PURE"]
        with socket.create_connection(("127.0.0.1", tcp)) as sock:
            sock.sendall(data)
        deadline = time.monotonic() + 60
        while (not out.exists() or out.read_bytes().count(b"\n") < 3001) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        outputs.append([_without_clock(event) for event in read_ndjson(out.read_bytes())])
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) >= 3001 and any("esalog_truncated" in e.get("tags", ()) for e in outputs[0])


def _without_clock(event: dict) -> dict:
    """*event* without what the wall clock gives (the parse time of lines without a time of their own)."""
    event.get("event", {}).pop("created", None)
    return event
