"""A real rsyslogd (UDP, TCP and imfile on 127.0.0.1) runs ``esalog filter`` as omprog and as mmexternal."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONF_TEMPLATE = ROOT / "examples" / "rsyslog" / "esalog.conf.in"

# Three abort sequences shaped like the seed corpus (Cisco TN 118295), with their own ids.
# Over UDP: the network drops the connection (ICID ... lost before the abort).
UDP_LINES = [
    "Thu Aug 14 11:04:31 2014 Info: New SMTP ICID 20293 interface Management (192.0.2.199)"
    " address 192.0.2.200 reverse dns host ns.example.com verified no",
    "Thu Aug 14 11:04:31 2014 Info: ICID 20293 RELAY SG RELAY_SG match 192.0.2.200 SBRS not enabled",
    "Thu Aug 14 11:04:51 2014 Info: Start MID 2404 ICID 20293",
    "Thu Aug 14 11:04:51 2014 Info: MID 2404 ICID 20293 From: <user@example.org>",
    "Thu Aug 14 11:05:00 2014 Info: MID 2404 ICID 20293 RID 0 To: <end_user@example.com>",
    "Thu Aug 14 11:05:36 2014 Info: ICID 20293 lost",
    "Thu Aug 14 11:05:36 2014 Info: Message aborted MID 2404 Receiving aborted",
    "Thu Aug 14 11:05:36 2014 Info: Message finished MID 2404 aborted",
    "Thu Aug 14 11:05:36 2014 Info: ICID 20293 close",
]
# Over TCP: the sender quits.
TCP_LINES = [
    "Thu Aug 14 13:08:49 2014 Info: New SMTP ICID 20318 interface Management (192.0.2.199)"
    " address 192.0.2.201 reverse dns host mx.example.net verified no",
    "Thu Aug 14 13:08:56 2014 Info: Start MID 2412 ICID 20318",
    "Thu Aug 14 13:08:56 2014 Info: MID 2412 ICID 20318 From: <other@example.org>",
    "Thu Aug 14 13:09:03 2014 Info: MID 2412 ICID 20318 RID 0 To: <end_user@example.com>",
    "Thu Aug 14 13:09:06 2014 Info: Message aborted MID 2412 Receiving aborted by sender",
    "Thu Aug 14 13:09:06 2014 Info: Message finished MID 2412 aborted",
    "Thu Aug 14 13:09:06 2014 Info: ICID 20318 close",
]
# In a tailed file (file form, with years): the listener times out after 300 s of silence.
FILE_LINES = [
    "Wed Aug 20 22:20:07 2014 Info: Start MID 2558778 ICID 2875465",
    "Wed Aug 20 22:20:07 2014 Info: MID 2558778 ICID 2875465 From: <sndr@example.org>",
    "Wed Aug 20 22:20:07 2014 Info: MID 2558778 ICID 2875465 RID 0 To:",
    "Wed Aug 20 22:25:07 2014 Info: Message aborted MID 2558778 Receiving aborted",
    "Wed Aug 20 22:25:07 2014 Info: Message finished MID 2558778 aborted",
]
EXPECTED_ABORTS = [(2404, "Receiving aborted", "connection_lost"),
                   (2412, "Receiving aborted by sender", "sender_quit"),
                   (2558778, "Receiving aborted", "inbound_timeout")]
_FILE_FORM = re.compile(r"\w{3} (\w{3} +\d+ \d\d:\d\d:\d\d) \d{4} (.*)")


def as_syslog(line: str) -> str:
    """The file-form line as the appliance pushes it: ``<22>Aug 14 11:04:31 esa1 mail_logs: Info: ...``."""
    m = _FILE_FORM.fullmatch(line)
    assert m, line
    return f"<22>{m.group(1)} esa1 mail_logs: {m.group(2)}"


def body_of(line: str) -> str:
    """The message after the level word."""
    return line.split(" Info: ", 1)[1]


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


def wait_for(check: Callable[[], bool], what: str, timeout: float, diag: Callable[[], str]) -> None:
    """Poll *check* until true; fail with *what* and diagnostics after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{diag()}")


def read_json_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    data = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in data.splitlines()[: data.count("\n")] if line.strip()]


def script(path: Path, body: str) -> str:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@dataclass
class Rsyslog:
    out: Path
    port: int
    tailed: Path
    diag: Callable[[], str]
    pidfile: Path


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[Rsyslog]:
    """A private rsyslogd on 127.0.0.1 with the example configuration, stopped by its pid."""
    with start_rsyslog(tmp_path, direct=False) as running:
        yield running


@contextmanager
def start_rsyslog(tmp_path: Path, *, direct: bool) -> Iterator[Rsyslog]:
    """rsyslogd with the example configuration; *direct*: ``binary=`` is esalog's command line itself (as
    the README says it may be), not a script."""
    rsyslogd = shutil.which("rsyslogd") or next(
        (p for p in ("/usr/sbin/rsyslogd", "/sbin/rsyslogd") if os.path.exists(p)), None)
    if rsyslogd is None:
        pytest.fail("rsyslogd is not installed: `apt-get install -y --no-install-recommends rsyslog` "
                    "(.ci/run does this in CI)")
    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    out.mkdir()
    tailed = tmp_path / "spool" / "mail.current"
    tailed.parent.mkdir()
    tailed.touch()
    esalog = f"exec {sys.executable} -m esalog filter"
    port = free_port()
    # --year: the syslog stamps carry none; --tz: the lines are UTC
    omprog = f"--protocol rsyslog-omprog --year 2014 --summaries --output {out}/omprog.ndjson"
    mmexternal = f"--protocol rsyslog-mmexternal --summaries --output {out}/mm-pending.ndjson"
    values = {"WORK": str(work), "OUT": str(out), "PORT": str(port), "TAILED": str(tailed)}
    if direct:
        values |= {"OMPROG": f"{sys.executable} -m esalog filter {omprog}",
                   "MMEXTERNAL": f"{sys.executable} -m esalog filter {mmexternal}"}
    else:
        values |= {"OMPROG": script(tmp_path / "omprog.sh", f"{esalog} {omprog} 2>>{out}/omprog-esalog.err"),
                   "MMEXTERNAL": script(tmp_path / "mmexternal.sh", f"{esalog} {mmexternal}")}
    conf_text = CONF_TEMPLATE.read_text()
    for name, value in values.items():
        conf_text = conf_text.replace(f"@@{name}@@", value)
    assert not re.search(r"@@[A-Z]+@@", conf_text)
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(conf_text)

    check = subprocess.run([rsyslogd, "-N1", "-f", str(conf)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, f"rsyslogd -N1 rejected the configuration:\n{check.stdout}{check.stderr}"

    pidfile = tmp_path / "rsyslogd.pid"
    log = (tmp_path / "rsyslogd.stderr").open("wb")
    proc = subprocess.Popen([rsyslogd, "-n", "-f", str(conf), "-i", str(pidfile)],
                            stdout=log, stderr=subprocess.STDOUT)

    def diag() -> str:
        parts = []
        for f in sorted([*out.iterdir(), tmp_path / "rsyslogd.stderr"]):
            parts.append(f"--- {f.name}\n{f.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    try:
        def started() -> bool:
            return (pidfile.exists() and pidfile.read_text().strip().isdigit()) or proc.poll() is not None

        wait_for(started, "rsyslogd's pid file", 20, diag)
        assert proc.poll() is None, f"rsyslogd exited with {proc.returncode}\n{diag()}"
        probe = out / "probe.log"

        def probed() -> bool:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.sendto(b"<14>esalog-readiness-probe udp", ("127.0.0.1", port))
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as tcp:
                    tcp.sendall(b"<14>esalog-readiness-probe tcp\n")
            except OSError:
                return False
            time.sleep(0.2)
            text = probe.read_text() if probe.exists() else ""
            return "probe udp" in text and "probe tcp" in text

        wait_for(probed, "rsyslogd's UDP and TCP inputs", 30, diag)
        yield Rsyslog(out, port, tailed, diag, pidfile)
    finally:
        pid = int(pidfile.read_text().strip()) if pidfile.exists() else proc.pid
        os.kill(pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def aborts_of(events: list[dict]) -> list[tuple[int, str, str]]:
    """(MID, abort reason, abort category) of every message-aborted event."""
    return [(e["cisco"]["esa"]["mid"], e["cisco"]["esa"]["abort"]["reason"], e["cisco"]["esa"]["abort"]["category"])
            for e in events if e["event"]["action"] == "message-aborted"]


def line_events(path: Path) -> list[dict]:
    """Events that belong to an input line (not message summaries added by the tracker)."""
    return [e for e in read_json_lines(path) if e.get("event", {}).get("action") != "message-summary"]


def test_rsyslog_pipes_every_line_through_esalog_filter(rsyslog: Rsyslog) -> None:
    """UDP, TCP and imfile lines reach omprog and mmexternal enriched, in order, with msg left intact."""
    out = rsyslog.out
    omprog_out, mm_out = out / "omprog.ndjson", out / "mmexternal.ndjson"
    sent_raw: list[str] = []  # what omprog gets (%rawmsg%)
    sent_msg: list[str] = []  # what mmexternal gets (%msg%)

    def arrived(n: int) -> Callable[[], bool]:
        return lambda: len(line_events(omprog_out)) >= n and len(read_json_lines(mm_out)) >= n

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for line in UDP_LINES:
            udp.sendto(as_syslog(line).encode(), ("127.0.0.1", rsyslog.port))
            sent_raw.append(as_syslog(line))
            sent_msg.append(" " + line.split(" ", 5)[5])
            time.sleep(0.01)  # keep datagrams in order through the kernel queue
    wait_for(arrived(len(sent_raw)), "the UDP lines", 30, rsyslog.diag)

    with socket.create_connection(("127.0.0.1", rsyslog.port), timeout=5) as tcp:
        for line in TCP_LINES:
            tcp.sendall(as_syslog(line).encode() + b"\n")
            sent_raw.append(as_syslog(line))
            sent_msg.append(" " + line.split(" ", 5)[5])
    wait_for(arrived(len(sent_raw)), "the TCP lines", 30, rsyslog.diag)

    with rsyslog.tailed.open("a") as spool:
        spool.write("".join(line + "\n" for line in FILE_LINES))
    sent_raw.extend(FILE_LINES)
    sent_msg.extend(FILE_LINES)
    wait_for(arrived(len(sent_raw)), "the tailed file's lines", 30, rsyslog.diag)

    # omprog: every line once, in order, parsed with the appliance's clock and host.
    events = line_events(omprog_out)
    assert [e["event"]["original"] for e in events] == sent_raw
    for event, line in zip(events, UDP_LINES + TCP_LINES + FILE_LINES, strict=True):
        assert event["event"]["kind"] == "event", event
        assert event["event"]["action"] != "unknown", event
        assert event["message"] == body_of(line)
        assert "mid" in event["cisco"]["esa"] or "icid" in event["cisco"]["esa"], event
    syslog_events = events[: len(UDP_LINES) + len(TCP_LINES)]
    assert {e["observer"].get("hostname") for e in syslog_events} == {"esa1"}
    assert syslog_events[0]["@timestamp"] == "2014-08-14T11:04:31.000Z"
    assert events[-1]["@timestamp"] == "2014-08-20T22:25:07.000Z"
    # the tracker inside the filter derived the seed abort categories across lines
    assert aborts_of(events) == EXPECTED_ABORTS
    summaries = [e for e in read_json_lines(omprog_out) if e["event"]["action"] == "message-summary"]
    assert [(s["cisco"]["esa"]["mid"], s["cisco"]["esa"]["abort"]["category"]) for s in summaries] == [
        (mid, category) for mid, _, category in EXPECTED_ABORTS]

    # mmexternal: msg untouched, the parsed event under $!esa, one per line, in order.
    replies = read_json_lines(mm_out)
    assert [r["msg"] for r in replies] == sent_msg
    for reply, line in zip(replies, UDP_LINES + TCP_LINES + FILE_LINES, strict=True):
        esa = reply["tree"]["esa"]
        assert esa["event"]["original"] == reply["msg"]
        assert esa["message"] == body_of(line)
        assert esa["event"]["kind"] == "event" and esa["event"]["action"] != "unknown", esa
    assert [r["tree"]["esa"]["cisco"]["esa"].get("mid") for r in replies] == [
        e["cisco"]["esa"].get("mid") for e in events]
    assert aborts_of([r["tree"]["esa"] for r in replies]) == EXPECTED_ABORTS
    # the line that finishes a message carries its summary along
    finished = [r["tree"] for r in replies if r["tree"]["esa"]["event"]["action"] == "message-finished"]
    assert [[s["cisco"]["esa"]["mid"] for s in f["esa_summaries"]] for f in finished] == [
        [mid] for mid, _, _ in EXPECTED_ABORTS]
    # esalog said nothing on stderr on either side (mmexternal would mix it into the replies)
    for name in ("omprog-esalog.err", "omprog.stderr"):
        assert not (out / name).exists() or (out / name).read_text() == "", rsyslog.diag()


def test_sighup_to_rsyslogd_makes_the_omprog_filter_reopen_its_output(rsyslog: Rsyslog) -> None:
    """The example's ``hup.signal="HUP"``: logrotate renames the omprog output and HUPs rsyslogd; the
    filter gets the signal and the next line goes to a new file of the configured name."""
    out = rsyslog.out
    omprog_out, rotated = out / "omprog.ndjson", out / "omprog.ndjson.1"
    first, second = UDP_LINES[0], UDP_LINES[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(as_syslog(first).encode(), ("127.0.0.1", rsyslog.port))
        wait_for(lambda: len(line_events(omprog_out)) >= 1, "the first line", 30, rsyslog.diag)
        omprog_out.rename(rotated)
        os.kill(int(rsyslog.pidfile.read_text().strip()), signal.SIGHUP)
        time.sleep(1)  # rsyslog forwards the HUP to its omprog child
        udp.sendto(as_syslog(second).encode(), ("127.0.0.1", rsyslog.port))
        wait_for(lambda: len(line_events(omprog_out)) >= 1, "the line after SIGHUP in a new file", 30,
                 rsyslog.diag)
    assert [e["event"]["original"] for e in line_events(rotated)] == [as_syslog(first)]
    assert [e["event"]["original"] for e in line_events(omprog_out)] == [as_syslog(second)]


def test_binary_may_be_esalogs_command_line_itself(tmp_path: Path) -> None:
    """rsyslog starts the programs with an empty environment; ``binary=`` given the interpreter and
    esalog's arguments (no script) still works for omprog and mmexternal."""
    with start_rsyslog(tmp_path, direct=True) as rsyslog:
        out = rsyslog.out
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for line in UDP_LINES:
                udp.sendto(as_syslog(line).encode(), ("127.0.0.1", rsyslog.port))
                time.sleep(0.01)
        wait_for(lambda: len(line_events(out / "omprog.ndjson")) >= len(UDP_LINES)
                 and len(read_json_lines(out / "mmexternal.ndjson")) >= len(UDP_LINES), "the UDP lines", 30,
                 rsyslog.diag)
        assert [e["event"]["original"] for e in line_events(out / "omprog.ndjson")] == [
            as_syslog(line) for line in UDP_LINES]
        assert [r["tree"]["esa"]["message"] for r in read_json_lines(out / "mmexternal.ndjson")] == [
            body_of(line) for line in UDP_LINES]


def test_readme_minimal_configuration_runs_as_shown(tmp_path: Path) -> None:
    """The rsyslog configuration README shows (its paths and port replaced, nothing else) passes
    ``rsyslogd -N1`` and, in a real rsyslogd, gives every TCP line to both actions: the omprog file and the
    mmexternal ``$!esa`` tree, which keeps the appliance's time and name (``interface.input="rawmsg"``)."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```\n(module\(load=\"imtcp\"\)\n.*?)```", readme, re.S)
    assert block is not None
    rsyslogd = shutil.which("rsyslogd") or next(
        (p for p in ("/usr/sbin/rsyslogd", "/sbin/rsyslogd") if os.path.exists(p)), None)
    assert rsyslogd is not None, "rsyslogd is not installed: `apt-get install -y --no-install-recommends rsyslog`"
    out = tmp_path / "out"
    out.mkdir()
    port = free_port()
    text = (block.group(1).replace("/opt/esalog/.venv/bin/esalog", f"{sys.executable} -m esalog")
            .replace("/var/log/esalog", str(out)).replace('port="5514"', f'port="{port}"'))
    conf = tmp_path / "esalog.conf"
    conf.write_text(text)
    check = subprocess.run([rsyslogd, "-N1", "-f", str(conf)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, f"rsyslogd -N1 rejected README's configuration:\n{check.stdout}{check.stderr}"
    lines = [as_syslog(line) for line in TCP_LINES]
    pidfile = tmp_path / "rsyslogd.pid"
    with (tmp_path / "rsyslogd.stderr").open("wb") as log:
        proc = subprocess.Popen([rsyslogd, "-n", "-f", str(conf), "-i", str(pidfile)], stdout=log,
                                stderr=subprocess.STDOUT)

        def diag() -> str:
            return "\n".join(f"--- {f.name}\n{f.read_text(errors='replace')[-3000:]}"
                             for f in sorted([*out.iterdir(), tmp_path / "rsyslogd.stderr"]))

        def connected() -> bool:
            try:
                tcp = socket.create_connection(("127.0.0.1", port), timeout=1)
            except OSError:
                return proc.poll() is not None
            with tcp:
                tcp.sendall("".join(f"{line}\n" for line in lines).encode())
            return True

        try:
            wait_for(connected, "rsyslogd's TCP input", 30, diag)
            assert proc.poll() is None, f"rsyslogd exited with {proc.returncode}\n{diag()}"
            wait_for(lambda: len(read_json_lines(out / "esa.ndjson")) >= len(lines)
                     and len(read_json_lines(out / "via-rsyslog.ndjson")) >= len(lines), "both actions", 30, diag)
        finally:
            pid = int(pidfile.read_text().strip()) if pidfile.exists() else proc.pid
            os.kill(pid, signal.SIGTERM)
            proc.wait(timeout=20)
    omprog = read_json_lines(out / "esa.ndjson")
    via = read_json_lines(out / "via-rsyslog.ndjson")
    assert [e["event"]["original"] for e in omprog] == lines
    assert [e["event"]["original"] for e in via] == lines
    assert [e["@timestamp"] for e in via] == [e["@timestamp"] for e in omprog]
    assert all(e["observer"].get("hostname") == "esa1" for e in via), via[0]["observer"]
