"""The dead letter is the replay source: every entry of an input line keeps that line under ``line``, also
with ``--no-original`` (which drops ``event.original`` from the events themselves), and the lines it keeps
give the same events again when shipped from it."""

from __future__ import annotations

import socket
from pathlib import Path

import orjson
import pytest

from esalog.testing import FakeElasticsearch, FakeHEC, read_ndjson
from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.conftest import run_cli
from tests.reliability.conftest import TOKEN, wait_until
from tests.reliability.listen_helpers import Listen

FAST = ("--retry-initial", "0.05", "--retry-max", "0.2", "--retry-budget", "1", "--stats")


def _log(tmp_path: Path) -> tuple[Path, list[str]]:
    lines = (FILE_HEADER + "".join(distinct_lines(60))).splitlines()
    path = tmp_path / "mail.@20261102T080000.s"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, lines


def _letters(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines()]


@pytest.mark.parametrize("reading", [(), ("--stateless",), ("--stdin",)], ids=["tracked", "stateless", "stdin"])
def test_rejected_event_keeps_its_line_with_no_original(tmp_path: Path, reading: tuple[str, ...]) -> None:
    path, lines = _log(tmp_path)
    bad = lines[20]
    body = bad.split("Info: ", 1)[1]
    dead = tmp_path / "dead.ndjson"
    stdin = reading == ("--stdin",)
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.bad_event(orjson.dumps(body)[1:-1])
        result = run_cli("ship", *([] if stdin else reading), "--no-original", "--to", "hec", "--hec-url", hec.url,
                         "--dead-letter", str(dead), *FAST, "-" if stdin else str(path),
                         input=path.read_bytes() if stdin else None, env={"ESALOG_HEC_TOKEN": TOKEN})
    assert 1 == result.returncode, result.stderr
    letters = _letters(dead)
    assert [bad] == [x["line"] for x in letters], letters
    event = letters[0]["event"]
    assert isinstance(event, dict) and "original" not in event["event"]["event"]  # --no-original still holds


def test_failed_events_keep_their_lines_and_replay_from_them(tmp_path: Path) -> None:
    """A sink down for the whole budget: every event is dead-lettered as failed with its line; shipping the
    ``line`` values again gives events with the same fields as a first run."""
    path, lines = _log(tmp_path)
    dead = tmp_path / "dead.ndjson"
    with FakeElasticsearch() as es:
        es.faults.status(503, times=10_000)
        result = run_cli("ship", "--stateless", "--no-original", "--to", "es", "--es-url", es.url,
                         "--dead-letter", str(dead), *FAST, str(path))
    assert 1 == result.returncode, result.stderr
    letters = _letters(dead)
    assert lines == [x["line"] for x in letters]
    assert {"failed"} == {x["outcome"] for x in letters}
    replay = b"".join(str(x["line"]).encode() + b"\n" for x in letters)
    again = run_cli("parse", "--stateless", "-q", "-", input=replay)
    first = run_cli("parse", "--stateless", "-q", str(path))
    assert 0 == again.returncode and 0 == first.returncode
    assert [e["event"]["original"] for e in read_ndjson(first.stdout)] == \
        [e["event"]["original"] for e in read_ndjson(again.stdout)] == lines


def test_listen_dead_letter_keeps_the_message(tmp_path: Path) -> None:
    dead = tmp_path / "dead.ndjson"
    sent = [f"<22>Nov  2 08:00:0{n} esa1 mail_logs: Info: MID {n} ICID {n} From: <a{n}@example.com>"
            for n in range(5)]
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.bad_event(b"a3@example.com")
        listener = Listen("--no-original", "--to", "hec", "--hec-url", hec.url,
                            "--dead-letter", str(dead), *FAST[:-1])
        try:
            with socket.create_connection(("127.0.0.1", listener.tcp)) as client:
                client.sendall("".join(x + "\n" for x in sent).encode())
            wait_until(lambda: hec.count + (dead.exists() and len(dead.read_bytes().splitlines())) >= 5,
                       what="5 events delivered or dead-lettered")
            code, _stderr, _stats = listener.stop()
        finally:
            listener.kill()
    assert 1 == code
    assert [sent[3]] == [x["line"] for x in _letters(dead)]
