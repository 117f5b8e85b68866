"""Issue 12 item 10: TCP framing. A line of digits alone is its own message; a frame whose declared
length exceeds the data that came is an event (tagged esalog_partial), counted, never dropped silently."""

from __future__ import annotations

import socket
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from esalog.integrations.listener import Framer
from esalog.testing import read_ndjson
from tests.reliability.conftest import wait_until
from tests.reliability.listen_helpers import Listen


def frames(data: bytes, max_frame: int = 1000, chunk: int = 7, eof: bool = True) -> list[tuple[bytes, tuple[str, ...]]]:
    framer = Framer(max_frame)
    out = []
    for start in range(0, len(data), chunk):
        out += framer.feed(data[start : start + chunk])
    tail = framer.finish(eof=eof)
    return out + ([tail] if tail else [])


def test_digits_only_line_is_not_merged_with_the_next() -> None:
    assert frames(b"12345\nnext line\n") == [(b"12345", ()), (b"next line", ())]
    assert frames(b"12345678901234\n7 abcdefg") == [(b"12345678901234", ()), (b"abcdefg", ())]
    assert frames(b"42") == [(b"42", ())]  # a last line of digits at the sender's close


def test_octet_counting_and_cuts() -> None:
    assert frames(b"5 a\nb c3 xyz") == [(b"a\nb c", ()), (b"xyz", ())]
    assert frames(b"10 abc") == [(b"abc", ("partial",))]  # declared 10, the connection ended after 3
    assert frames(b"12 abcdefghijkl9 123456789", max_frame=4) == [(b"abcd", ("line_too_long",)),
                                                                 (b"1234", ("line_too_long",))]
    assert frames(b"x" * 30 + b"\nok\n", max_frame=10) == [(b"x" * 10, ("line_too_long",)), (b"ok", ())]
    assert frames(b"half a line", eof=False) == [(b"half a line", ("partial",))]


@given(st.lists(st.binary(min_size=0, max_size=40).filter(lambda b: b"\n" not in b), min_size=1, max_size=20),
       st.integers(min_value=1, max_value=64))
def test_octet_frames_survive_any_chunking(messages: list[bytes], chunk: int) -> None:
    data = b"".join(b"%d %s" % (len(m), m) for m in messages)
    assert frames(data, chunk=chunk) == [(m, ()) for m in messages]


def test_held_bytes_stay_bounded() -> None:
    framer = Framer(100)
    for _ in range(1000):
        framer.feed(b"y" * 1000)  # one endless line
        assert framer.held <= 100


def test_listen_digits_line_and_short_octet_frame(tmp_path: Path) -> None:
    out = tmp_path / "out.ndjson"
    listen = Listen("--to", "file", "--out", str(out))
    try:
        with socket.create_connection(("127.0.0.1", listen.tcp)) as tcp:
            tcp.sendall(b"12345\n<22>Aug 14 11:04:51 esa1 mail_logs: Info: Start MID 1 ICID 2\n"
                        b"500 <22>Aug 14 11:04:52 esa1 mail_logs: Info: Start MID 3 ICID 4")
        wait_until(lambda: out.exists() and len(read_ndjson(out)) >= 3, what="three events")
        code, _, stats = listen.stop()
    finally:
        listen.kill()
    events = read_ndjson(out)
    assert [e["event"]["original"] for e in events] == [
        "12345", "<22>Aug 14 11:04:51 esa1 mail_logs: Info: Start MID 1 ICID 2",
        "<22>Aug 14 11:04:52 esa1 mail_logs: Info: Start MID 3 ICID 4"]
    assert "esalog_partial" in events[2]["tags"] and events[2]["error"]["type"] == "partial_frame"
    assert (stats["messages"], stats["partial"], stats["dropped"], code) == (3, 1, 0, 0)
