"""SIGHUP is logrotate's ``postrotate`` signal: ``listen`` and ``ship`` keep running and reopen the files
they append to (``--out`` with ``--to file``, ``--dead-letter``), so a file moved away keeps what was
written before the signal and the new one gets the rest: nothing lost, nothing written twice."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import orjson

from esalog.testing import FakeHEC, StderrLines
from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.reliability.conftest import TOKEN, esalog, wait_until
from tests.reliability.listen_helpers import Listen, syslog_lines


def _mids(path: Path) -> list[int]:
    return [orjson.loads(line)["cisco"]["esa"]["mid"] for line in path.read_bytes().splitlines()]


def _send_tcp(port: int, lines: list[str]) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall("".join(f"{line}\n" for line in lines).encode())


def test_listen_reopens_its_output_file_on_sighup(tmp_path: Path) -> None:
    out = tmp_path / "esa.ndjson"
    moved = tmp_path / "esa.ndjson.1"
    listener = Listen("--to", "file", "--out", str(out), "--stateless")
    try:
        _send_tcp(listener.tcp, syslog_lines(40))
        wait_until(lambda: out.exists() and len(_mids(out)) == 40, what="the first 40 events in the file")
        out.rename(moved)  # what logrotate does, then its postrotate: kill -HUP
        listener.signal(signal.SIGHUP)
        _send_tcp(listener.tcp, syslog_lines(40, start=40))
        wait_until(lambda: out.exists() and len(_mids(out)) == 40, what="the next 40 events in a new file")
        assert listener.process.poll() is None  # SIGHUP did not stop it
        code, text, stats = listener.stop()
    finally:
        listener.kill()
    assert code == 0, text
    assert _mids(moved) == list(range(40))
    assert _mids(out) == list(range(40, 80))
    assert stats["acknowledged"] == 80 and stats["failed"] == 0


def test_ship_keeps_following_and_reopens_its_dead_letter_on_sighup(tmp_path: Path) -> None:
    log = tmp_path / "mail.current"
    dead = tmp_path / "dead.ndjson"
    moved = tmp_path / "dead.ndjson.1"
    lines = distinct_lines(60)
    for index in (10, 50):  # two events the server refuses for good, one before the signal and one after
        lines[index] = lines[index].replace("\n", " BAD-EVENT\n")
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.bad_event(b"BAD-EVENT")
        log.write_text(FILE_HEADER + "".join(lines[:30]))
        process = esalog("ship", "--follow", "--poll-interval", "0.05", "--to", "hec", "--hec-url", hec.url,
                         "--batch-timeout", "0.1", "--retry-initial", "0.05", "--dead-letter", str(dead),
                         str(log), env={"ESALOG_HEC_TOKEN": TOKEN})
        watched = StderrLines(process)
        try:
            wait_until(lambda: dead.exists() and dead.read_bytes().count(b"\n") == 1, what="the first dead letter")
            dead.rename(moved)
            process.send_signal(signal.SIGHUP)
            with log.open("a") as handle:
                handle.write("".join(lines[30:]))
            wait_until(lambda: dead.exists() and dead.read_bytes().count(b"\n") == 1, what="a new dead letter")
            wait_until(lambda: hec.count == 60, what="every other event indexed (and the two header lines)")
            assert process.poll() is None  # SIGHUP did not stop it
            process.send_signal(signal.SIGTERM)
            code, text = watched.wait_exit(60)
        finally:
            process.kill()
    assert code == 1, text  # two events were dead-lettered
    letters = [orjson.loads(entry)["event"]["event"]["event"]["original"]
               for path in (moved, dead) for entry in path.read_bytes().splitlines()]
    assert letters == [lines[10].rstrip("\n"), lines[50].rstrip("\n")]
