"""Soak harness: ``esalog ship`` and ``esalog listen`` under faults, counted by line identity.

Every scenario drives the CLI in subprocesses the way a user runs it, against the test kit's fakes (HEC,
Elasticsearch with fault injection) and, where installed, osmem-server (a real OpenSearch-compatible
server), all on 127.0.0.1; kill -9 loops, rotation while stopped, damaged input, floods, outages. Each
line sent is unique, so what arrived is counted per line: lines in, delivered, duplicated, lost (neither
delivered nor counted by esalog as dead-lettered, failed or dropped), dead-lettered, counted (failed,
dropped, unreadable and reported), peak RSS of the esalog process (``VmHWM``, sampled while it runs).

``python bench/soak.py`` (``make soak``) runs the full sizes; ``--short`` the quick ones that
``make test`` runs (``tests/reliability/test_soak.py``); ``--only NAME,...`` picks scenarios; ``--json
FILE`` writes the rows. Exit 1 when a scenario lost a line or broke its own expectation.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import orjson

from esalog.testing import FakeElasticsearch, FakeHEC, StderrLines, read_ndjson
from esalog.testing.generate import distinct_lines
from esalog.testing.peers import osmem_server

TOKEN = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
ENV = {**os.environ, "ESALOG_HEC_TOKEN": TOKEN}


def header(hour: int, serial: str | None = None) -> list[str]:
    lines = [f"Mon Nov  2 {hour:02d}:00:00 2026 Info: Begin Logfile",
             f"Mon Nov  2 {hour:02d}:00:00 2026 Info: Time offset from UTC: 3600 seconds"]
    if serial:
        lines.append(f"Mon Nov  2 {hour:02d}:00:00 2026 Info: Version: 15.0.0-104 SN: {serial}")
    return lines


def body(count: int, start: int) -> list[str]:
    return [line.rstrip("\n") for line in distinct_lines(count, start=start)]


def write(path: Path, lines: Iterable[str], mode: str = "w") -> None:
    with open(path, mode) as handle:
        handle.write("".join(line + "\n" for line in lines))


# ------------------------------------------------------------------------------------------ processes


class Esalog(StderrLines):
    """An esalog subprocess whose peak RSS is sampled while it runs."""

    def __init__(self, *args: str, capture: bool = True) -> None:
        super().__init__(subprocess.Popen([sys.executable, "-m", "esalog", *args], env=ENV,
                                          stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE if capture else subprocess.DEVNULL))
        self.peak = 0
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        path = Path(f"/proc/{self.process.pid}/status")
        while self.process.poll() is None:
            try:
                for line in path.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak = max(self.peak, int(line.split()[1]) * 1024)
            except (OSError, ValueError):
                pass
            time.sleep(0.05)

    def finish(self, timeout: float = 300) -> tuple[int, str]:
        """Wait for the exit: (exit code, all of stderr)."""
        return self.wait_exit(timeout)

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)


def wait_until(condition: Callable[[], bool], timeout: float = 120, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.02)


def start_until_progress(args: list[str], ckpt: Path) -> Esalog:
    """``esalog ARGS`` started, once its checkpoint *ckpt* has moved on from where it was (it delivered)."""
    before = checkpoint_offsets(ckpt)
    proc = Esalog(*args, capture=False)
    wait_until(lambda: checkpoint_offsets(ckpt) not in ({}, before), what="progress")
    return proc


def checkpoint_offsets(path: Path) -> dict[Any, int]:
    try:
        return {(f["dev"], f["ino"]): f["offset"] for f in orjson.loads(path.read_bytes())["files"]}
    except (OSError, ValueError, KeyError):
        return {}


def stats_of(text: str) -> dict[str, Any]:
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            parsed: dict[str, Any] = json.loads(line)
            return parsed
    return {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------------------------- rows


@dataclass
class Row:
    scenario: str
    lines_in: int = 0
    delivered: int = 0
    duplicated: int = 0
    lost: int = 0
    dead_lettered: int = 0
    counted: int = 0  # not delivered and said so (failed, dropped, unreadable and reported)
    peak_rss_mib: float = 0.0
    seconds: float = 0.0
    ok: bool = True
    notes: list[str] = field(default_factory=list)

    def expect(self, condition: bool, note: str) -> None:
        if not condition:
            self.ok = False
            self.notes.append("FAILED: " + note)


def count(row: Row, sent: list[str], got: Iterable[str], *, counted: int = 0, dead: int = 0) -> None:
    wanted = set(sent)
    seen = Counter(line for line in got if line in wanted)
    row.lines_in = len(sent)
    row.delivered = len(seen)
    row.duplicated = sum(n - 1 for n in seen.values())
    row.dead_lettered = dead
    row.counted = counted
    row.lost = max(0, len(wanted) - len(seen) - dead - counted)


def originals_hec(hec: FakeHEC) -> list[str]:
    out = []
    for envelope in hec.events:
        event = envelope.get("event")
        if isinstance(event, dict):
            original = (event.get("event") or {}).get("original")
            if original:
                out.append(original)
    return out


def originals_file(path: Path) -> list[str]:
    if not path.exists():
        return []
    data = path.read_bytes()
    data = data[: data.rfind(b"\n") + 1]
    return [e["event"]["original"] for e in read_ndjson(data) if (e.get("event") or {}).get("original")]


# ---------------------------------------------------------------------------------------- scenarios


def ship_rotation_kill9(tmp: Path, short: bool) -> Row:
    """ship --follow mail.current --checkpoint; kill -9 while the live file grows; the ESA rotates it
    while esalog is down; resume: the renamed file's tail first (found by identity), then the new one."""
    row = Row("ship: rotation while stopped, kill -9 loop (--to file)")
    logs = tmp / "logs"
    logs.mkdir()
    out, ckpt = tmp / "out.ndjson", tmp / "ship.ckpt"
    sent: list[str] = []
    number = 0

    def more(n: int) -> list[str]:
        nonlocal number
        lines = body(n, number)
        number += n
        sent.extend(lines)
        return lines

    first = header(8) + more(2000)
    sent.extend(header(8))
    write(logs / "mail.current", first)
    args = ["ship", "--to", "file", "--out", str(out), "--follow", "--poll-interval", "0.05", "--batch-timeout",
            "0.05", "--batch-events", "100", "--checkpoint", str(ckpt), str(logs / "mail.current")]
    peak = 0
    for cycle in range(2 if short else 5):
        proc = start_until_progress(args, ckpt)
        write(logs / "mail.current", more(1500), "a")
        time.sleep(0.05)  # kill at an arbitrary point of the growth (not an event to wait for)
        proc.kill9()
        peak = max(peak, proc.peak)
        write(logs / "mail.current", more(1000), "a")
        os.rename(logs / "mail.current", logs / f"mail.@20261102T{cycle:02d}0000.s")
        sent.extend(header(9 + cycle))
        write(logs / "mail.current", header(9 + cycle) + more(800))
    proc = Esalog(*args, capture=False)
    wait_until(lambda: set(sent) <= set(originals_file(out)), what="every line", timeout=120)
    proc.signal(signal.SIGTERM)
    proc.finish()
    row.peak_rss_mib = max(peak, proc.peak) / 2**20
    count(row, sent, originals_file(out))
    row.expect(row.lost == 0, "no line lost")
    return row


def ship_kill9_hec(tmp: Path, short: bool) -> Row:
    """kill -9 loop against a slow HEC: duplicates are at most the batches in flight per kill."""
    row = Row("ship: kill -9 loop to a slow HEC (checkpoint per batch)")
    lines = header(8) + body(8000 if short else 40_000, 0)
    log = tmp / "mail.@20261102T080000.s"
    write(log, lines)
    ckpt = tmp / "ship.ckpt"
    kills = 2 if short else 6
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.slow(0.03, times=1_000_000)
        args = ["ship", "--to", "hec", "--hec-url", hec.url, "--batch-events", "200", "--checkpoint", str(ckpt),
                str(log)]
        peak = 0
        for _ in range(kills):
            proc = start_until_progress(args, ckpt)
            done = hec.count
            wait_until(lambda: hec.count >= done + 2000, what="more batches")  # noqa: B023
            proc.kill9()
            peak = max(peak, proc.peak)
        hec.faults = type(hec.faults)()
        proc = Esalog(*args)
        code, _ = proc.finish()
        count(row, lines, originals_hec(hec))
    row.peak_rss_mib = max(peak, proc.peak) / 2**20
    row.expect(code == 0, "the last run exits 0")
    row.expect(row.lost == 0, "no line lost")
    in_flight = (4 + 2 + 2) * 200  # queue, senders, the reader's batch, the batcher
    row.expect(row.duplicated <= kills * in_flight, f"duplicates <= {kills} x {in_flight}")
    row.notes.append(f"{kills} kills, {row.duplicated / kills:.0f} duplicates per kill (bound {in_flight})")
    return row


def ship_kill9_file(tmp: Path, short: bool) -> Row:
    """--to file killed with -9 mid-write: the partial row is cut back on resume; every row is JSON."""
    row = Row("ship: kill -9 loop --to file (partial row repaired)")
    lines = header(8) + body(20_000 if short else 100_000, 0)
    log = tmp / "mail.@20261102T080000.s"
    write(log, lines)
    out, ckpt = tmp / "out.ndjson", tmp / "ship.ckpt"
    args = ["ship", "--to", "file", "--out", str(out), "--batch-events", "500", "--checkpoint", str(ckpt), str(log)]
    peak = 0
    for _ in range(2 if short else 5):
        proc = start_until_progress(args, ckpt)
        proc.kill9()
        peak = max(peak, proc.peak)
    with open(out, "ab") as handle:
        handle.write(b'{"half a row')
    proc = Esalog(*args)
    code, _ = proc.finish()
    rows = out.read_bytes().split(b"\n")
    whole = all(row_bytes.startswith(b"{") and row_bytes.endswith(b"}") for row_bytes in rows[:-1])
    count(row, lines, originals_file(out))
    row.peak_rss_mib = max(peak, proc.peak) / 2**20
    row.expect(code == 0 and whole and rows[-1] == b"", "exit 0, every row whole JSON")
    row.expect(row.lost == 0, "no line lost")
    return row


def ship_hec_faults(tmp: Path, short: bool) -> Row:
    """503 bursts with Retry-After, resets, a 1 s outage, 200 without HEC's body, a trickling answer, 413."""
    row = Row("ship: HEC faults (503, reset, down, 2xx w/o body, trickle, 413)")
    lines = header(8) + body(10_000 if short else 50_000, 0)
    log = tmp / "mail.@20261102T080000.s"
    write(log, lines)
    with FakeHEC(token=TOKEN, max_content_length=400_000) as hec:
        (hec.faults.status(503, times=3).reset(times=2, after=2).down(1.0, after=3)
         .status(200, body={"proxy": "ok"}, after=2).trickle(0.05, after=2).status(429, retry_after=1, after=3))
        proc = Esalog("ship", "--to", "hec", "--hec-url", hec.url, "--no-gzip", "--batch-events", "2000",
                      "--timeout", "2", "--retry-initial", "0.05", "--retry-max", "0.5", "--stats", str(log))
        code, text = proc.finish()
        count(row, lines, originals_hec(hec))
        row.notes.append(f"faults applied: {len(hec.faults.applied)}")
    stats = stats_of(text)
    row.peak_rss_mib = proc.peak / 2**20
    row.expect(code == 0, "exit 0")
    row.expect(row.lost == 0, "no line lost")
    row.expect(stats.get("acknowledged") == len(lines), "every event acknowledged once")
    return row


def ship_damaged_gzip(tmp: Path, short: bool) -> Row:
    """A truncated .gz between two good files: every readable line shipped, the damage reported, later
    files shipped, exit 1; a rerun with the same checkpoint goes on past it."""
    row = Row("ship: truncated .gz among mail.@* (HEC)")
    n = 5000 if short else 30_000
    first, second, third = header(8) + body(n, 0), header(9) + body(n, n), header(10) + body(n, 2 * n)
    (tmp / "mail.@20261102T080000.s.gz").write_bytes(gzip.compress("".join(s + "\n" for s in first).encode()))
    packed = gzip.compress("".join(s + "\n" for s in second).encode())
    (tmp / "mail.@20261102T090000.s.gz").write_bytes(packed[: len(packed) * 6 // 10])
    write(tmp / "mail.@20261102T100000.s", third)
    ckpt = tmp / "ship.ckpt"
    with FakeHEC(token=TOKEN) as hec:
        proc = Esalog("ship", "--to", "hec", "--hec-url", hec.url, "--checkpoint", str(ckpt), str(tmp / "mail.@*"))
        code, text = proc.finish()
        got = originals_hec(hec)
        again = Esalog("ship", "--to", "hec", "--hec-url", hec.url, "--checkpoint", str(ckpt), str(tmp / "mail.@*"))
        code2, _ = again.finish()
    readable = set(got) & set(second)
    unreadable = len(second) - len(readable)
    count(row, first + second + third, got, counted=unreadable)
    row.peak_rss_mib = proc.peak / 2**20
    row.notes.append(f"{unreadable} lines after the damage unreadable (reported on stderr and as a "
                     "pipeline_error event)")
    row.expect(code == 1 and "unreadable from uncompressed byte" in text, "exit 1, damage reported")
    row.expect(set(first) | set(third) <= set(got), "the files around it shipped whole")
    row.expect(code2 == 0, "a rerun with the same checkpoint goes on")
    return row


def ship_es_collision(tmp: Path, short: bool) -> Row:
    """Two appliances' files beginning with the same line, same offsets: no _id collision."""
    row = Row("ship: two appliances, same first line, to ES (_id)")
    n = 5000 if short else 20_000
    sent: list[str] = []
    paths = []
    for name, serial in (("a", "SN-AAAA"), ("b", "SN-BBBB"), ("c", None), ("d", None)):
        directory = tmp / name
        directory.mkdir()
        lines = [header(8)[0], *([f"Mon Nov  2 08:00:00 2026 Info: Version: 15.0.0-104 SN: {serial}"]
                                  if serial else []), *body(n, 0)]
        write(directory / "mail.@20261102T080000.s", lines)
        paths.append(str(directory / "mail.@20261102T080000.s"))
        sent.extend(f"{name}:{line}" for line in lines)
    with FakeElasticsearch() as es:
        proc = Esalog("ship", "--to", "es", "--es-url", es.url, "--es-index", "esa", *paths)
        code, _ = proc.finish()
        stored = es.count("esa")
    row.lines_in = len(sent)
    row.delivered = stored
    row.lost = len(sent) - stored  # documents overwritten by another's _id
    row.peak_rss_mib = proc.peak / 2**20
    row.expect(code == 0 and row.lost == 0, "every document kept")
    return row


def ship_osmem_kill9(tmp: Path, short: bool) -> Row:
    """kill -9 loop to osmem-server (a real OpenSearch-compatible server): no loss, no duplicate (_id)."""
    row = Row("ship: kill -9 loop to osmem-server (OpenSearch API)")
    if importlib.util.find_spec("osmem_server") is None:
        row.notes.append("skipped: osmem-server not installed (pip install '.[dev]')")
        return row
    with osmem_server() as url:
        lines = header(8) + body(1500 if short else 6000, 0)
        log = tmp / "mail.@20261102T080000.s"
        write(log, lines)
        ckpt = tmp / "ship.ckpt"
        args = ["ship", "--to", "es", "--es-url", url, "--es-index", "soak", "--batch-events", "100",
                "--checkpoint", str(ckpt), str(log)]
        peak = 0
        for _ in range(2 if short else 4):
            proc = start_until_progress(args, ckpt)
            proc.kill9()
            peak = max(peak, proc.peak)
        proc = Esalog(*args)
        code, _ = proc.finish()
        import requests

        requests.post(f"{url}/soak/_refresh", timeout=30)
        stored = requests.get(f"{url}/soak/_count", timeout=30).json()["count"]
        row.lines_in = len(lines)
        row.delivered = min(stored, len(lines))
        row.duplicated = max(0, stored - len(lines))
        row.lost = max(0, len(lines) - stored)
        row.peak_rss_mib = max(peak, proc.peak) / 2**20
        row.expect(code == 0 and row.lost == 0 and row.duplicated == 0, "every line once")
    return row


def _listen(*args: str) -> tuple[Esalog, int, int]:
    proc = Esalog("listen", "--udp", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--year", "2014", "--stats", *args)
    banner = proc.wait_line("listening on")
    tcp = int(banner.rsplit("tcp://127.0.0.1:", 1)[1].split()[0])
    udp = int(banner.split("udp://127.0.0.1:", 1)[1].split()[0])
    return proc, udp, tcp


def syslog(count: int, start: int = 0) -> list[str]:
    return [f"<22>Aug 14 11:04:51 esa1 mail_logs: Info: Start MID {n} ICID {n + 3}"
            for n in range(start, start + count)]


def listen_drain(tmp: Path, short: bool) -> Row:
    """A flood over TCP to a slow HEC, SIGTERM right after: everything accepted is delivered."""
    row = Row("listen: SIGTERM during a flood to a slow HEC")
    lines = syslog(10_000 if short else 60_000)
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.slow(0.02, times=1_000_000)
        proc, _, tcp = _listen("--to", "hec", "--hec-url", hec.url, "--batch-events", "500")
        with socket.create_connection(("127.0.0.1", tcp)) as sock:
            sock.sendall(b"".join(line.encode() + b"\n" for line in lines))
            wait_until(lambda: hec.count > 0, what="a first batch")
            proc.signal(signal.SIGTERM)
            code, text = proc.finish()
        count(row, lines, originals_hec(hec))
    stats = stats_of(text)
    row.peak_rss_mib = proc.peak / 2**20
    row.expect(code == 0 and stats.get("dropped") == 0, "exit 0, nothing dropped")
    row.expect(row.lost == 0 and row.delivered == len(lines), "every line delivered")
    return row


def listen_outage(tmp: Path, short: bool) -> Row:
    """The sink is unreachable: warnings while back-pressure holds; two signals; every line is delivered
    or counted (failed, pending, dropped) — none silently."""
    row = Row("listen: sink unreachable, back-pressure, two signals")
    lines = syslog(5000 if short else 30_000)
    proc, _, tcp = _listen("--to", "hec", "--hec-url", f"http://127.0.0.1:{free_port()}", "--retry-initial", "0.2",
                             "--retry-max", "1", "--report-interval", "0.5", "--queue-size", "500",
                             "--batch-events", "200", "--queue-batches", "1", "--concurrency", "1")
    sock = socket.create_connection(("127.0.0.1", tcp))
    sender = threading.Thread(target=lambda: _sendall(sock, lines), daemon=True)
    sender.start()
    proc.wait_line("attempts failed")
    proc.wait_line("TCP reading paused")
    started = time.monotonic()
    proc.signal(signal.SIGTERM)
    proc.wait_line("stopping")
    proc.signal(signal.SIGTERM)
    code, text = proc.finish(timeout=60)
    took = time.monotonic() - started
    sock.close()
    stats = stats_of(text)
    accepted = stats.get("messages", 0)
    row.lines_in = len(lines)
    row.delivered = stats.get("acknowledged", 0)
    row.counted = stats.get("failed", 0) + stats.get("pending", 0) + stats.get("dropped", 0)
    # a message is one event here: every accepted message is delivered or counted, none silently lost
    row.lost = max(0, accepted - row.delivered - row.counted)
    row.peak_rss_mib = proc.peak / 2**20
    row.notes.append(f"{accepted} accepted before the stop; the other {len(lines) - accepted} were never read "
                     f"(the sender saw its connection closed); stopped in {took:.1f}s with a 300 s retry budget")
    row.expect(code == 1 and row.lost == 0, "exit 1, every accepted line accounted for")
    row.expect(took < 10, "the second signal ends it within seconds")
    return row


def _sendall(sock: socket.socket, lines: list[str]) -> None:
    try:
        sock.sendall(b"".join(line.encode() + b"\n" for line in lines))
    except OSError:
        pass


def listen_memory(tmp: Path, short: bool) -> Row:
    """Hundreds of connections holding 250 KB lines without their end, a flood against a slow HEC and
    thousands of distinct UDP senders: peak RSS stays within the README's bound."""
    row = Row("listen: memory under a flood (--max-buffer 8 MiB)")
    connections = 200 if short else 1000
    holders = []
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.slow(0.2, times=1_000_000)
        proc, udp, tcp = _listen("--to", "hec", "--hec-url", hec.url, "--max-buffer", str(8 << 20), "--max-frame",
                                 str(512 << 10), "--max-connections", str(connections + 10), "--batch-events", "2000")
        try:
            for _ in range(connections):
                sock = socket.create_connection(("127.0.0.1", tcp))
                sock.setblocking(False)
                try:
                    sock.send(b"<22>Aug 14 11:04:51 esa1 mail_logs: Info: MID 1 Subject " + b"x" * (250 << 10))
                except BlockingIOError:
                    pass
                holders.append(sock)
            lines = syslog(50_000 if short else 300_000)
            pusher = threading.Thread(target=lambda: _sendall(socket.create_connection(("127.0.0.1", tcp)), lines),
                                      daemon=True)
            pusher.start()
            datagrams = 1000 if short else 8000
            for n in range(datagrams):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as dgram:
                    dgram.bind((f"127.2.{n >> 8}.{n & 255 or 1}", 0))
                    dgram.sendto(b"<22>Aug 14 11:04:51 esa9 mail_logs: Info: Start MID 5 ICID 6", ("127.0.0.1", udp))
            wait_until(lambda: hec.count >= 4000, what="delivery under back-pressure")
            proc.signal(signal.SIGINT)
            proc.wait_line("stopping")
            proc.signal(signal.SIGINT)
            _, text = proc.finish(timeout=60)
        finally:
            for sock in holders:
                sock.close()
    stats = stats_of(text)
    sent = connections + len(lines) + datagrams
    row.lines_in = sent
    row.delivered = stats.get("acknowledged", 0)
    # not delivered and said so: given up on at the second signal, in flight then, or dropped (UDP with
    # the queue full, not parsed at the hard stop); the rest of the flood was never read (closed on)
    row.counted = stats.get("failed", 0) + stats.get("pending", 0) + stats.get("dropped", 0)
    row.lost = max(0, stats.get("received", 0) - row.delivered - stats.get("dead_lettered", 0)
                   - stats.get("failed", 0) - stats.get("pending", 0))
    row.peak_rss_mib = proc.peak / 2**20
    row.notes.append(f"{stats.get('messages', 0):,} messages taken in of {sent:,} sent before the stop "
                     "(the rest never read: the senders saw their connections closed)")
    bound = 60 + 8 + (connections + 10) * 64 / 1024 + 16 + 7 + 20
    row.notes.append(f"held at most {stats.get('peak_buffer_bytes', 0) / 2**20:.1f} MiB of messages; "
                     f"peak RSS bound {bound:.0f} MiB")
    row.expect(row.peak_rss_mib < bound, f"peak RSS under {bound:.0f} MiB")
    row.expect(stats.get("received", -1) == stats.get("acknowledged", 0) + stats.get("dead_lettered", 0)
               + stats.get("failed", 0) + stats.get("pending", 0), "delivery counters add up")
    return row


SCENARIOS: dict[str, Callable[[Path, bool], Row]] = {
    "rotation": ship_rotation_kill9,
    "kill9-hec": ship_kill9_hec,
    "kill9-file": ship_kill9_file,
    "hec-faults": ship_hec_faults,
    "damaged-gz": ship_damaged_gzip,
    "es-ids": ship_es_collision,
    "osmem": ship_osmem_kill9,
    "listen-drain": listen_drain,
    "listen-outage": listen_outage,
    "listen-memory": listen_memory,
}


def table(rows: list[Row]) -> str:
    head = ("| scenario | lines in | delivered | duplicated | lost | dead-lettered | counted | peak RSS MiB "
            "| s | ok |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    body_rows = [f"| {r.scenario} | {r.lines_in:,} | {r.delivered:,} | {r.duplicated:,} | {r.lost:,} | "
                 f"{r.dead_lettered:,} | {r.counted:,} | {r.peak_rss_mib:.0f} | {r.seconds:.1f} | "
                 f"{'yes' if r.ok else 'NO'} |" for r in rows]
    notes = [f"* {r.scenario}: {'; '.join(r.notes)}" for r in rows if r.notes]
    return "\n".join([head, *body_rows, "", *notes])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--short", action="store_true", help="small sizes (the version make test runs)")
    ap.add_argument("--only", help=f"comma-separated scenarios: {', '.join(SCENARIOS)}")
    ap.add_argument("--json", metavar="FILE", help="write the rows as JSON")
    args = ap.parse_args(argv)
    names = args.only.split(",") if args.only else list(SCENARIOS)
    rows = []
    for name in names:
        started = time.monotonic()
        with TemporaryDirectory(prefix=f"soak-{name}-") as tmp:
            try:
                row = SCENARIOS[name](Path(tmp), args.short)
            except Exception as exc:  # a scenario that broke is a failed row, not a crashed harness
                row = Row(name, ok=False, notes=[f"FAILED: {type(exc).__name__}: {exc}"])
        row.seconds = time.monotonic() - started
        rows.append(row)
        print(f"{name}: {'ok' if row.ok else 'FAILED'} ({row.seconds:.1f}s)", file=sys.stderr, flush=True)
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
