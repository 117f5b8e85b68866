"""Issue 12 items 2, 6, 7 and 12 for ``esalog listen`` (a subprocess on 127.0.0.1, real sockets, the fakes):
a sink that cannot work stops it at once; an outage shows itself; a stop drains what was accepted; the
loop stays responsive under back-pressure; senders outside --allow are refused and counted."""

from __future__ import annotations

import resource
import signal
import socket
import time
from pathlib import Path

import pytest

from esalog.integrations.listener import ListenConfig, _warn_everywhere
from esalog.testing import FakeHEC, StderrLines, read_ndjson
from tests.conftest import run_cli
from tests.reliability.conftest import TOKEN, esalog, original_of, tally, wait_until
from tests.reliability.listen_helpers import Listen, consistent, syslog_lines
from tests.reliability.test_ship_signals import free_port

TLS = Path(__file__).resolve().parents[1] / "connectors" / "tls"


def send_tcp(port: int, lines: list[str], *, close: bool = True) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"".join(line.encode() + b"\n" for line in lines))
    if close:
        sock.close()
    return sock


@pytest.mark.parametrize("fault", ["bad_token", "wrong_url", "tls"])
def test_fatal_sink_error_stops_listen_at_once(fault: str) -> None:
    """Like ship: a clear message, exit 1, without waiting for a signal."""
    tls = (str(TLS / "cert.pem"), str(TLS / "key.pem")) if fault == "tls" else None
    with FakeHEC(token=TOKEN if fault != "bad_token" else "another-token", tls=tls) as hec:
        url = hec.url + ("/splunk" if fault == "wrong_url" else "")
        listen = Listen("--to", "hec", "--hec-url", url, "--batch-timeout", "0.05")
        try:
            send_tcp(listen.tcp, syslog_lines(50))
            code, text, stats = listen.finish(timeout=30)
        finally:
            listen.kill()
    assert code == 1
    expected = {"bad_token": "HEC refused the token", "wrong_url": "check --hec-url", "tls": "TLS failure"}[fault]
    assert any(line.startswith("esalog: error: ") and expected in line for line in text.splitlines()), text
    assert TOKEN not in text
    consistent(stats)
    assert stats["acknowledged"] == 0 and stats["failed"] + stats["dropped"] >= 1


def test_outage_reports_while_back_pressure_holds_then_two_signals() -> None:
    """The sink is unreachable: a warning line every --report-interval with the counts; SIGTERM is answered
    at once, the second one gives up within seconds although --retry-budget is 600 s."""
    listen = Listen("--to", "hec", "--hec-url", f"http://127.0.0.1:{free_port()}", "--retry-budget", "600",
                    "--retry-initial", "0.2", "--retry-max", "1", "--report-interval", "0.5", "--queue-size", "200",
                    "--batch-events", "100", "--queue-batches", "1", "--concurrency", "1")
    try:
        sender = send_tcp(listen.tcp, syslog_lines(20_000), close=False)
        line = listen.wait_line("attempts failed")
        assert "hec: retrying 100 events" in line and "left of --retry-budget" in line and "waiting" in line
        listen.wait_line("TCP reading paused (back-pressure)")
        # the loop still answers: UDP is read (queued or counted as dropped) while TCP is paused
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(syslog_lines(1, start=99_999)[0].encode(), ("127.0.0.1", listen.udp))
        sent_at = time.monotonic()
        listen.signal(signal.SIGTERM)
        listen.wait_line("SIGTERM: stopping", timeout=5)
        assert time.monotonic() - sent_at < 3
        listen.signal(signal.SIGTERM)
        code, text, stats = listen.finish(timeout=15)
        took = time.monotonic() - sent_at
        sender.close()
    finally:
        listen.kill()
    assert took < 8, f"stopping took {took:.1f}s"
    assert code == 1 and "giving up" in text
    consistent(stats)
    assert stats["acknowledged"] == 0 and stats["messages"] >= 100


def test_sigterm_drains_everything_accepted(tmp_path: Path) -> None:
    """A slow sink, 30,000 lines sent, SIGTERM right after: every line is delivered, none dropped, exit 0."""
    lines = syslog_lines(30_000)
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.slow(0.02, times=100_000)
        listen = Listen("--to", "hec", "--hec-url", hec.url, "--batch-events", "500")
        try:
            with socket.create_connection(("127.0.0.1", listen.tcp)) as tcp:
                tcp.sendall(b"".join(line.encode() + b"\n" for line in lines))
                wait_until(lambda: hec.count > 0, what="a first batch")
                code, text, stats = listen.stop(timeout=120)
        finally:
            listen.kill()
        counts = tally(lines, [original_of(e) for e in hec.events])
    assert code == 0, text
    assert counts["lost"] == 0 and counts["duplicated"] == 0, counts
    assert (stats["messages"], stats["dropped"], stats["acknowledged"]) == (30_000, 0, 30_000)
    consistent(stats)


def test_partial_and_oversized_last_frames_are_events(tmp_path: Path) -> None:
    """A half line on an open connection at SIGTERM, and an oversized last line without newline."""
    out = tmp_path / "out.ndjson"
    listen = Listen("--to", "file", "--out", str(out), "--max-frame", "100")
    try:
        long_line = "<22>Aug 14 11:04:51 esa1 mail_logs: Info: MID 1 Subject " + "x" * 5000
        with socket.create_connection(("127.0.0.1", listen.tcp)) as tcp:
            tcp.sendall(long_line.encode())  # no newline, then the sender closes
        half = socket.create_connection(("127.0.0.1", listen.tcp))
        half.sendall(b"<22>Aug 14 11:04:52 esa1 mail_logs: Info: Start MID 2 IC")
        wait_until(lambda: out.exists() and len(read_ndjson(out)) >= 1, what="the oversized line")
        code, text, stats = listen.stop()
        half.close()
    finally:
        listen.kill()
    events = read_ndjson(out)
    assert code == 0, text
    assert [e["event"]["original"] for e in events] == [long_line[:100],
                                                       "<22>Aug 14 11:04:52 esa1 mail_logs: Info: Start MID 2 IC"]
    assert "esalog_truncated" in events[0]["tags"] and "esalog_partial" in events[1]["tags"]
    assert (stats["truncated"], stats["partial"], stats["dropped"]) == (1, 1, 0)


def test_allow_list_refuses_and_counts_other_senders(tmp_path: Path) -> None:
    out = tmp_path / "out.ndjson"
    listen = Listen("--to", "file", "--out", str(out), "--allow", "127.0.0.2/32", "--allow", "127.0.1.0/24")
    try:
        for source in ("127.0.0.1", "127.0.0.2", "127.0.1.9"):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.bind((source, 0))
                udp.sendto(f"<22>Aug 14 11:04:51 esa1 mail_logs: Info: udp from {source}".encode(),
                           ("127.0.0.1", listen.udp))
            with socket.create_connection(("127.0.0.1", listen.tcp), source_address=(source, 0)) as tcp:
                tcp.sendall(f"<22>Aug 14 11:04:51 esa1 mail_logs: Info: tcp from {source}\n".encode())
        wait_until(lambda: out.exists() and len(read_ndjson(out)) >= 4, what="the allowed senders' lines")
        code, _, stats = listen.stop()
    finally:
        listen.kill()
    got = sorted(e["event"]["original"].rsplit(" ", 3)[-3] + " " + e["event"]["original"].rsplit(" ", 1)[-1]
                 for e in read_ndjson(out))
    assert got == ["tcp 127.0.0.2", "tcp 127.0.1.9", "udp 127.0.0.2", "udp 127.0.1.9"]
    assert stats["refused"] == 2 and code == 0


def test_warning_when_binding_every_interface(capsys: pytest.CaptureFixture[str]) -> None:
    """Checked without binding anything: the configuration alone says it."""
    _warn_everywhere(ListenConfig(tcp=(":5514",), udp=("0.0.0.0:5514",)))
    err = capsys.readouterr().err
    assert "--tcp :5514 listens on every interface" in err and "--udp 0.0.0.0:5514 listens on every interface" in err
    _warn_everywhere(ListenConfig(tcp=(":5514",), allow=("10.0.0.0/8",)))
    _warn_everywhere(ListenConfig(tcp=("127.0.0.1:5514",)))
    assert capsys.readouterr().err == ""


def _few_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


def test_out_of_descriptors_is_one_warning_and_accepting_resumes(tmp_path: Path) -> None:
    """More connections than the open-file limit allows: accept() fails with EMFILE. asyncio survives it
    (it pauses accepting for a second) but printed a traceback each time; now one warning line, and a
    connection that waited is read once others close."""
    out = tmp_path / "events.ndjson"
    listen = StderrLines(esalog("listen", "--tcp", "127.0.0.1:0", "--to", "file", "--out", str(out),
                                preexec_fn=_few_descriptors))
    try:
        port = int(listen.wait_line("listening on").rsplit(":", 1)[1])
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(100)]  # in the backlog past 64
        warning = listen.wait_line("cannot accept a TCP connection")
        assert "Too many open files" in warning and "--max-connections" in warning
        late = send_tcp(port, syslog_lines(1), close=False)
        for sock in idle:
            sock.close()
        late.close()
        wait_until(lambda: out.exists() and len(read_ndjson(out)) == 1, what="the late connection's line")
        listen.process.send_signal(signal.SIGTERM)
        code, text = listen.wait_exit(30)
    finally:
        if listen.process.poll() is None:
            listen.process.kill()
    assert code == 0, text
    assert "Traceback" not in text and text.count("cannot accept a TCP connection") == 1, text


@pytest.mark.parametrize("kind", ["--udp", "--tcp"])
def test_address_in_use_is_named(kind: str) -> None:
    """Several addresses, one taken by another program: the error names that one (it said "cannot listen:
    Address already in use", leaving the user to guess which)."""
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if kind == "--udp" else socket.SOCK_STREAM)
    with busy:
        busy.bind(("127.0.0.1", 0))
        if kind == "--tcp":
            busy.listen()
        taken = f"127.0.0.1:{busy.getsockname()[1]}"
        result = run_cli("listen", "--udp", "127.0.0.1:0", "--tcp", "127.0.0.1:0", kind, taken, timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"cannot listen on {kind} {taken}: ".encode() in result.stderr
    assert b"in use" in result.stderr.lower() and b"Traceback" not in result.stderr
