"""Bad input loses nothing: one event per line, in order, with the text kept and the reason given."""

from __future__ import annotations

import gzip
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esalog.encode import encode_line, to_event
from esalog.parsers.parser import LineParser
from esalog.pipeline import Pipeline
from esalog.schemas import validator
from esalog.sources.lines import read_lines
from esalog.testing import read_ndjson
from tests.conftest import run_cli

GOOD = b"Thu Aug 14 11:05:36 2014 Info: ICID 10293 close"
HUGE = b"Thu Aug 14 11:05:36 2014 Info: MID 1 Subject '" + b"x" * (1024 * 1024) + b"'"
LINES = [
    GOOD,
    b"",
    b"\x00\x01\x02\xff binary \x00 junk",
    HUGE,
    b"Thu Aug 14 11:05:36 2014 Info: MID 2 Subject 'caf\xe9 latin-1'",
    b"Thu Aug 14 11:0",
    b"   ",
    b"Thu Aug 14 11:05:36 2014 Info: ICID 10294 close\r",
    b"Thu Aug 14 11:05:37 2014 Info: Message aborted MID 3 Receiving aborted",  # no final newline
]


PARSER = LineParser.from_options()


def _events(stdout: bytes) -> list[dict]:
    return read_ndjson(stdout)


def test_one_event_per_line_in_order(tmp_path):
    """Every physical line, good or bad, becomes exactly one event, in input order, via the CLI."""
    path = tmp_path / "bad.log"
    path.write_bytes(b"\n".join(LINES))
    proc = run_cli("parse", "--no-original", str(path))
    assert proc.returncode == 0, proc.stderr
    events = _events(proc.stdout)
    assert len(events) == len(LINES)
    kinds = [e["event"]["kind"] for e in events]
    assert kinds == ["event", "pipeline_error", "pipeline_error", "event", "event", "pipeline_error",
                     "pipeline_error", "event", "event"]
    assert [e.get("error", {}).get("type") for e in events] == [
        None, "empty", "no_header", None, None, "no_header", "empty", None, None]
    assert events[2]["message"].startswith("\ufffd") and "esalog_binary" in events[2]["tags"]
    assert len(events[3]["email"]["subject"]) == 1024 * 1024
    assert events[4]["email"]["subject"] == "caf\ufffd latin-1" and "esalog_invalid_utf8" in events[4]["tags"]
    assert events[7]["cisco"]["esa"]["icid"] == 10294  # CRLF line ending
    assert events[8]["cisco"]["esa"]["mid"] == 3
    assert b"9 lines, 9 events" in proc.stderr and b"4 errors" in proc.stderr
    for event in events:
        validator().validate(event)


def test_pipeline_error_keeps_original_text(tmp_path):
    """A non-ESA line keeps its text in event.original and says why in error.message."""
    path = tmp_path / "x.log"
    path.write_bytes(b"hello world\n")
    (event,) = _events(run_cli("parse", str(path)).stdout)
    assert event["event"]["original"] == "hello world"
    assert event["event"]["kind"] == "pipeline_error"
    assert "not an ESA log line" in event["error"]["message"]


def test_overlong_line_is_cut_and_said_so():
    """A line over the limit is cut, its rest skipped (not turned into extra lines), and flagged."""
    data = b"A" * 100 + b"\n" + b"B" * 5000 + b"\n" + b"C\n"
    lines = list(read_lines(io.BytesIO(data), max_line=1000))
    assert [len(x.text) for x in lines] == [100, 1000, 1]
    assert lines[1].problems == ("line_too_long",)
    assert [x.offset for x in lines] == [0, 101, 5102]
    assert lines[-1].next_offset == len(data)


def test_gzip_input(tmp_path):
    """``.gz`` files are read transparently (recognised by content)."""
    path = tmp_path / "mail.@20140814T110431.s.gz"
    path.write_bytes(gzip.compress(GOOD + b"\n" + GOOD + b"\n"))
    events = _events(run_cli("parse", str(path)).stdout)
    assert [e["event"]["action"] for e in events] == ["connection-closed", "connection-closed"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")))
def test_any_bytes_give_exactly_one_valid_event(data):
    """Whatever the bytes of a line, the pipeline returns one schema-valid, encodable event."""
    data = data.replace(b"\n", b" ")
    pipeline = Pipeline(PARSER)
    stream = pipeline.open_stream("fuzz")
    (raw,) = list(read_lines(io.BytesIO(data + b"\n")))
    records = pipeline.process(raw.text, stream, raw.problems)
    assert len(records) == 1
    encode_line(records[0])
    validator().validate(to_event(records[0]))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([
    "Thu Aug 14 11:04:31 2014 Info: ", "<22>Aug 14 11:04:31 esa1 mail_logs: Info: ", " Info: ",
]), st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_any_body_behind_a_valid_header(prefix, body):
    """A valid header with any body gives one schema-valid event and never raises."""
    body = body.replace("\n", " ").replace("\r", " ")
    pipeline = Pipeline(PARSER)
    records = pipeline.process(prefix + body, pipeline.open_stream("fuzz"))
    assert len(records) == 1
    validator().validate(to_event(records[0]))


BIG = "9" * 25
OVER_64_BITS = [
    f"Thu Aug 14 11:05:36 2014 Info: MID {BIG} ICID 2 From: <a@b.example>",  # int
    f"Thu Aug 14 11:05:36 2014 Info: Delivery start DCID 3 MID 4 to RID [0, {BIG}]",  # rid_list
    f"<22>Aug 14 11:05:36 esa1 mail_logs: Info: ICID {BIG} close",
    "Thu Aug 14 11:05:37 2014 Info: ICID 10293 close",
]


@pytest.mark.parametrize("argv", [["parse"], ["parse", "--stateless"], ["filter"], ["filter", "--stateless"],
                                  ["ship", "--to", "stdout"]])
def test_numbers_over_64_bits_are_conversion_errors(tmp_path, argv):
    """A garbled id of 25 digits (orjson cannot write it, Elasticsearch cannot keep it as a long) is a
    conversion error in its event, which keeps its line; before, it killed the whole run with a traceback."""
    path = tmp_path / "big.log"
    path.write_text("\n".join(OVER_64_BITS) + "\n")
    proc = run_cli(*argv, "-q", str(path)) if argv[0] != "filter" else run_cli(*argv, input=path.read_bytes())
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr.decode()
    events = _events(proc.stdout)
    assert [e["event"]["original"] for e in events] == OVER_64_BITS
    for event in events[:3]:
        assert event["error"]["type"] == "conversion" and "does not fit in 64 bits" in event["error"]["message"]
        assert "esalog_conversion_error" in event["tags"]
        validator().validate(event)
    assert events[3]["cisco"]["esa"]["icid"] == 10293


@pytest.mark.parametrize("argv", [[], ["--stateless"], ["--stateless", "--workers", "2"]])
def test_lines_ending_in_a_lone_cr_are_lines(tmp_path, argv):
    """A log whose lines end in a lone CR (classic Mac OS) gives one event per line, the events of the same
    log with LF endings, from a file (cut into parts by --workers or not) and from a pipe."""
    from esalog.integrations.convert import PART_BYTES
    from esalog.testing.generate import FILE_HEADER, distinct_lines

    count = 50_000 if "--workers" in argv else 3000  # with --workers: a file of two parts
    text = FILE_HEADER + "".join(distinct_lines(count))
    (tmp_path / "lf").mkdir()
    (tmp_path / "cr").mkdir()
    lf, cr = tmp_path / "lf" / "mail.current", tmp_path / "cr" / "mail.current"
    lf.write_bytes(text.encode())
    cr.write_bytes(text.replace("\n", "\r").encode())
    assert "--workers" not in argv or lf.stat().st_size > PART_BYTES
    want = run_cli("parse", *argv, str(lf))
    got = run_cli("parse", *argv, str(cr))
    assert got.returncode == want.returncode == 0, got.stderr
    assert len(want.stdout.splitlines()) == count + 2 and got.stdout == want.stdout
    piped = run_cli("parse", *argv[:1], input=cr.read_bytes())
    assert piped.stdout.splitlines() == run_cli("parse", *argv[:1], input=lf.read_bytes()).stdout.splitlines()


def test_line_end_kind_is_told_by_the_first_line_end_read():
    """Read a line at a time, as from a pipe: lone CRs are line ends; a first line end that is a LF, or a
    CRLF (even cut between two reads), keeps LF line ends (the CR of a CRLF stripped as always)."""
    from esalog.sources.lines import read_blocks

    class Chunks(io.RawIOBase):
        def __init__(self, chunks: list[bytes]) -> None:
            self.chunks = chunks

        def read1(self, size: int = -1) -> bytes:
            return self.chunks.pop(0) if self.chunks else b""

    def lines(chunks: list[bytes]) -> list[tuple[bytes, int]]:
        blocks = list(read_blocks(Chunks(chunks), decode=False))  # type: ignore[arg-type]
        return [(raw, offset) for block in blocks for raw, offset in zip(block.raws, block.offsets(), strict=True)]

    assert lines([b"one\r", b"two\r", b"three\r"]) == [(b"one", 0), (b"two", 4), (b"three", 8)]
    assert lines([b"one\r", b"\ntwo\r\n", b"x\ry\n"]) == [(b"one", 0), (b"two", 5), (b"x\ry", 10)]
    assert lines([b"a\nb\rc\r\n", b"d\r"]) == [(b"a", 0), (b"b\rc", 2), (b"d\r", 7)]  # a last line keeps its bytes
    assert lines([b"a\rb\nc"]) == [(b"a", 0), (b"b", 2), (b"c", 4)]  # CR line ends: a LF still ends a line
