"""A checkpoint file that is not one (empty, cut short, another program's JSON, binary): the run is
refused with a message saying what is wrong with it and how to start over, never a traceback, and the
file is left as it is (the offsets in it may still be wanted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.conftest import run_cli


@pytest.mark.parametrize(("content", "said"), [
    (b"", b"is empty"),
    (b'{"version": 2, "files": [{"dev": 1, "ino": 2', b"not JSON"),
    (bytes(range(256)), b"not JSON"),
    (b"[1, 2, 3]", b"not an esalog checkpoint"),
    (b'{"version": 2}', b"not an esalog checkpoint"),
    (b'{"files": "x"}', b"not an esalog checkpoint"),
    (b'{"files": [{"dev": 1, "ino": 2, "path": "a", "key": "k", "offset": "far"}]}', b"not an esalog checkpoint"),
    # an offset no run writes: a seek to it failed with a bare "Invalid argument" (exit 1), or was rounded
    (b'{"files": [{"dev": 1, "ino": 2, "path": "a", "key": "k", "offset": -5}]}', b"offset: expected a byte count"),
    (b'{"files": [{"dev": 1, "ino": 2, "path": "a", "key": "k", "offset": 1.5}]}', b"offset: expected a byte count"),
    (b'{"files": [{"dev": 1, "ino": 2, "path": "a", "key": "k", "offset": true}]}', b"offset: expected a byte count"),
    (b'{"files": [{"dev": 1, "ino": 2, "path": "a", "key": "k", "offset": 0, "size": -1}]}',
     b"size: expected a byte count"),
])
def test_damaged_checkpoint_is_refused_clearly(tmp_path: Path, content: bytes, said: bytes) -> None:
    log = tmp_path / "mail.current"
    log.write_text(FILE_HEADER + "".join(distinct_lines(10)))
    checkpoint = tmp_path / "ship.ckpt"
    checkpoint.write_bytes(content)
    result = run_cli("ship", "--to", "file", "--out", str(tmp_path / "out.ndjson"), "--checkpoint", str(checkpoint),
                     str(log), timeout=60)
    assert result.returncode == 2, result.stderr
    assert b"Traceback" not in result.stderr
    assert str(checkpoint).encode() in result.stderr and said in result.stderr
    assert b"to start over" in result.stderr
    assert checkpoint.read_bytes() == content
