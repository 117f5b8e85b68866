"""``esalog filter`` answers each read at once: the same events whether the host sends lines one at a time
(waiting for each answer) or in bursts, and no answer waits for a later line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from esalog.sources.lines import MAX_LINE_BYTES
from esalog.testing.generate import write_corpus
from tests.conftest import run_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "logs"
ODD_LINES = [  # what a host may mix into the stream: objects carrying the line, damaged bytes, CRLF, noise
    b'{"message":"Tue Dec  1 10:00:00 2026 Info: MID 5 ICID 6 From: <a@b.example>","host":"lx1"}',
    b'{"log":"no line under the default key"}',
    b"\xff\xfe not UTF-8 at all",
    b"Tue Dec  1 10:00:01 2026 Info: MID 5 ready 100 bytes from <a@b.example>\r",
    b"Tue Dec  1 10:00:02 2026 Info: MID 5 ICID 6 RID 0 To: <\x00c@d.example>",
    b"not an ESA line",
    b"",
]


def _mixed_input(tmp_path: Path) -> bytes:
    """A header, generated sessions of several appliances (syslog form), the example logs and odd lines."""
    corpus = tmp_path / "corpus.log"
    write_corpus(corpus, 600, form="syslog", seed=5, verdicts=True, appliances=2)
    lines = (EXAMPLES / "mail.@20261102T080000.s.log").read_bytes().splitlines()
    lines += corpus.read_bytes().splitlines()[:300] + ODD_LINES
    lines += (EXAMPLES / "syslog-push.log").read_bytes().splitlines()
    lines += corpus.read_bytes().splitlines()[300:]
    return b"".join(line + b"\n" for line in lines)


def _one_at_a_time(args: list[str], data: bytes) -> bytes:
    """The filter's output when each line is sent only after the previous line's answer came back."""
    proc = subprocess.Popen([sys.executable, "-m", "esalog", "filter", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    out = []
    try:
        for line in data.splitlines(keepends=True):
            proc.stdin.write(line)
            proc.stdin.flush()
            out.append(proc.stdout.readline())  # (a line's summaries follow in the same write: read later)
    finally:
        proc.stdin.close()
    out.append(proc.stdout.read())
    assert proc.wait(timeout=60) == 0
    return b"".join(out)


def _comparable(ndjson: bytes) -> list[dict[str, object]]:
    """The events, with the reading time of lines that are not ESA lines (stamped when read) taken out."""
    events = [orjson.loads(row) for row in ndjson.splitlines()]
    for event in events:
        if event["event"]["kind"] == "pipeline_error":  # type: ignore[index]
            event.pop("@timestamp")
            event["event"].pop("created")  # type: ignore[union-attr]
    return events


@pytest.mark.parametrize("args", [[], ["--stateless"], ["--summaries"]], ids=["stateful", "stateless", "summaries"])
def test_a_burst_gives_what_lines_sent_one_at_a_time_give(tmp_path: Path, args: list[str]) -> None:
    data = _mixed_input(tmp_path)
    burst = run_cli("filter", *args, input=data)
    assert burst.returncode == 0, burst.stderr
    events = _comparable(burst.stdout)
    assert len([e for e in events if e["event"]["action"] != "message-summary"]) == len(data.splitlines())  # type: ignore[index]
    assert events == _comparable(_one_at_a_time(args, data))
    if args == ["--summaries"]:
        assert any(e["event"]["action"] == "message-summary" for e in events)  # type: ignore[index]


def test_lone_cr_line_ends_are_lines(tmp_path: Path) -> None:
    """An input whose lines end in a lone CR (classic Mac OS) gives one event per line, as ``parse`` does."""
    lines = (EXAMPLES / "mail.@20261102T080000.s.log").read_bytes().splitlines()
    proc = run_cli("filter", input=b"".join(line + b"\r" for line in lines))
    assert proc.returncode == 0
    originals = [orjson.loads(row)["event"]["original"] for row in proc.stdout.splitlines()]
    assert originals == [line.decode() for line in lines]


@pytest.mark.parametrize("pure", ["", "1"], ids=["core", "pure"])
def test_a_line_over_the_limit_is_cut_and_tagged(pure: str) -> None:
    """A line longer than the reader's limit is cut there and says so, with the core and on the Python path;
    the next line is read as usual."""
    long_line = b"Tue Dec  1 10:00:00 2026 Info: MID 5 Subject " + b"x" * (MAX_LINE_BYTES + 10)
    data = long_line + b"\nTue Dec  1 10:00:01 2026 Info: ICID 4 close\n"
    proc = run_cli("filter", input=data, env={"ESALOG_PURE": pure})
    assert proc.returncode == 0, proc.stderr
    first, second = [orjson.loads(row) for row in proc.stdout.splitlines()]
    assert "esalog_truncated" in first["tags"] and len(first["event"]["original"]) == MAX_LINE_BYTES
    assert second["event"]["action"] == "connection-closed"
