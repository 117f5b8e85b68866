"""Properties of the optimised hot path: one event per line whatever the input, caches that never
change a result, and the block reader equal to a plain line-by-line reader."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from esalog.encode import to_event
from esalog.parsers.header import HeaderParser
from esalog.parsers.parser import LineParser
from esalog.pipeline import Pipeline
from esalog.sources.lines import RawLine, decode_line, read_blocks, read_lines

PARSER = LineParser.from_options()
TODAY = date(2026, 11, 27)
HEADERS = st.sampled_from([
    "Mon Nov  2 08:00:00 2026 Info: ", "Mon Nov  2 08:00:00 2026 Info: ",
    "Mon Nov  2 08:00:01 2026 Warning: ", "Mon Nov 2 08:00:00 2026 Info: ", "Mon Feb 30 08:00:00 2026 Info: ",
    "Mon Nov  2 08:00:00 2026: ", "Mon Nov  2 08:00:00 2026 ", "<22>Nov  2 08:10:00 esa2 mail_logs: Info: ",
    "<22>Nov  2 08:10:00 esa2 bounces: Info: ", "<22>Nov  2 08:10:00 2025 esa2 mail_logs: Debug: ",
    "Nov  2 08:10:00 esa2 corp: Info: ", "<166>1 2026-11-02T08:10:07.120+01:00 esa2 mail_logs - - - Info: ",
    "2026 Nov 02 08:10:07 esa3 mail: Info: ", "Info: ", " Info: ", "", "x ",
])
BODIES = st.sampled_from([
    "MID 1 ICID 2 From: <a@b>", "MID 1 ICID 2 RID 0 To: <a@b>", "MID 1 ICID 2 RID 0 To:",
    "Start MID 1 ICID 2", "Message done DCID 3 MID 7 to [0]", "MID 5 Subject 'x\\xe9'", "ICID 4 TLS failed",
    "CEF:0|Cisco|x", "Time offset from UTC: 3600 seconds", "Version: 1.2 SN: X",
    "Bounced: DCID 0 MID 8 to RID 0 - 5.1.2 - x ('1', [])", "MID 1 RID [0, 1] Response 'ok'", "Info: MID 3",
    "New SMTP DCID 8 interface 1.2.3.4 address 5.6.7.8 port 25",
])
LINES = st.one_of(
    st.tuples(HEADERS, BODIES, st.text(max_size=12)).map(lambda t: t[0] + t[1] + t[2]),
    st.tuples(HEADERS, st.text(max_size=40)).map("".join),
    st.text(max_size=60),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, max_size=30))
def test_every_line_gives_exactly_one_event_and_nothing_raises(lines: list[str]) -> None:
    """Any text, in any order on one stream: one event per line, first in line order, each a dict."""
    pipeline = Pipeline(PARSER)
    stream = pipeline.open_stream("mail_logs.current")
    events = [to_event(record) for record in pipeline.process_lines(lines, stream)]
    assert len(events) == len(lines)
    for line, event in zip(lines, events, strict=True):
        assert event["event"].get("original") == line
        assert isinstance(event["@timestamp"], str)
    assert pipeline.counters.lines == len(lines)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, max_size=30))
def test_header_cache_never_changes_a_result(lines: list[str]) -> None:
    """A stream's parser (which reuses the last header) splits each line as a fresh parser does."""
    shared = HeaderParser(today=TODAY)
    for line in lines:
        fresh = HeaderParser(today=TODAY).split(line)
        again = shared.split(line)
        if "Feb 30" in line:  # an impossible date is stamped with the wall clock: compare the rest
            fresh = fresh and ((None, *fresh[0][1:]), fresh[1])
            again = again and ((None, *again[0][1:]), again[1])
        assert again == fresh


def first_line_end_is_a_lone_cr(data: bytes) -> bool:
    """The rule the block reader follows: the first line end tells; a CR that neither a LF nor the end of the
    input follows means lines end in CR (classic Mac OS)."""
    for index, byte in enumerate(data):
        if byte == 0x0A:
            return False
        if byte == 0x0D:
            return index + 1 < len(data) and data[index + 1] != 0x0A
    return False


def reference_lines(handle: io.BytesIO, max_line: int) -> Iterator[RawLine]:
    """The plain reader: ``readline(max_line + 1)``, cut and skip the rest of a longer line."""
    offset = number = 0
    while raw := handle.readline(max_line + 1):
        number += 1
        length = len(raw)
        problems: tuple[str, ...] = ()
        if length > max_line and not raw.endswith(b"\n"):
            while more := handle.readline(64):
                length += len(more)
                if more.endswith(b"\n"):
                    break
            raw, problems = raw[:max_line], ("line_too_long",)
        if raw.endswith(b"\n"):
            raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
        text, more_problems = decode_line(raw)
        yield RawLine(text, offset, offset + length, number, problems + more_problems)
        offset += length


CHUNKS = st.sampled_from([b"a", b"bc", b"\n", b"\r", b"\r\n", b"\x00", b"\xff", b"\xe2\x80\x93", b"\xe2",
                          b" "])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(CHUNKS, st.integers(1, 12)), max_size=40), st.integers(2, 20),
       st.sampled_from([1, 2, 3, 7, 64, 4096]))
def test_block_reader_equals_a_plain_line_reader(parts: list[tuple[bytes, int]], max_line: int,
                                                 block_bytes: int) -> None:
    """Offsets, numbers, texts and problems match line by line, for any block size and line limit (and
    lines ending in lone CRs are lines)."""
    data = b"".join(chunk * times for chunk, times in parts)
    cr_ends = first_line_end_is_a_lone_cr(data)
    want = list(reference_lines(io.BytesIO(data.replace(b"\r", b"\n") if cr_ends else data), max_line))
    got = []
    for block in read_blocks(io.BytesIO(data), 0, max_line, block_bytes):
        offset = block.offset
        for index, text in enumerate(block.texts):
            size = block.size(index)
            got.append(RawLine(text, offset, offset + size, block.first_number + index,
                               block.problems.get(index, ())))
            offset += size
        assert offset == block.next_offset
    assert got == want
    # the line reader of the filter protocols (hosts send LF) ends lines at LF only
    assert list(read_lines(io.BytesIO(data), 0, max_line)) == list(reference_lines(io.BytesIO(data), max_line))
