"""A followed file truncated in place (logrotate's ``copytruncate``) and written again.

Two faults: (1) when the new content had grown past the old offset by the next look (a busy writer,
or a poll interval longer than the gap), the size never looked smaller, and the new lines before the
old offset were skipped: lost. (2) after a truncation seen as such, the file kept the key (the digest
of its first line) of its old content, so the checkpoint recorded the new offsets under the old key; a
restart saw another first line, took it for another file and sent everything again.
"""

from __future__ import annotations

import signal
from pathlib import Path

from esalog.testing import read_ndjson
from esalog.testing.generate import distinct_lines
from tests.conftest import run_cli
from tests.reliability.conftest import esalog, tally, wait_until


def _delivered(out: Path) -> list[str]:
    if not out.exists():
        return []
    data = out.read_bytes()
    return [e["event"]["original"] for e in read_ndjson(data[: data.rfind(b"\n") + 1])]


def _follow(log: Path, out: Path, checkpoint: Path) -> object:
    return esalog("ship", "--to", "file", "--out", str(out), "--follow", "--poll-interval", "0.05",
                  "--batch-timeout", "0.05", "--checkpoint", str(checkpoint), str(log))


def _stop(process: object) -> None:
    process.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
    _, err = process.communicate(timeout=60)  # type: ignore[attr-defined]
    assert process.returncode == 0, err  # type: ignore[attr-defined]


def test_rewritten_past_the_old_offset_between_looks_loses_nothing(tmp_path: Path) -> None:
    log, out, checkpoint = tmp_path / "mail.current", tmp_path / "out.ndjson", tmp_path / "ship.ckpt"
    old = distinct_lines(40)
    log.write_text("".join(old))
    process = _follow(log, out, checkpoint)
    try:
        wait_until(lambda: len(_delivered(out)) == 40, what="the first content")
        # the new content is written over the old from the start, longer than it: at no look is the file
        # smaller than the offset reached (what a truncation followed by a burst looks like between looks)
        new = distinct_lines(100, start=1000)
        with open(log, "r+b") as handle:
            handle.write("".join(new).encode())
        wait_until(lambda: len(_delivered(out)) >= 140, timeout=30, what="the new content")
    finally:
        _stop(process)
    counts = tally([line.rstrip("\n") for line in old + new], _delivered(out))
    assert counts == {"in": 140, "delivered": 140, "duplicated": 0, "lost": 0, "unexpected": 0}


def test_truncated_then_restarted_does_not_send_the_new_content_again(tmp_path: Path) -> None:
    log, out, checkpoint = tmp_path / "mail.current", tmp_path / "out.ndjson", tmp_path / "ship.ckpt"
    old = distinct_lines(80)
    log.write_text("".join(old))
    process = _follow(log, out, checkpoint)
    try:
        wait_until(lambda: len(_delivered(out)) == 80, what="the first content")
        log.write_text("")  # copytruncate: the same file, emptied
        wait_until(lambda: log.stat().st_size == 0, what="the truncation")
        new = distinct_lines(20, start=1000)
        with open(log, "a") as handle:
            handle.write("".join(new))
        wait_until(lambda: len(_delivered(out)) >= 100, what="the new content")
    finally:
        _stop(process)
    # a later run with the same checkpoint has nothing to send: the new content was delivered
    again = run_cli("ship", "--to", "file", "--out", str(out), "--checkpoint", str(checkpoint), str(log),
                    timeout=60)
    assert again.returncode == 0, again.stderr
    counts = tally([line.rstrip("\n") for line in old + new], _delivered(out))
    assert counts == {"in": 100, "delivered": 100, "duplicated": 0, "lost": 0, "unexpected": 0}
