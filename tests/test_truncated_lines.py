"""Real lines cut by a relay's size limit keep what comes before the cut and say they were cut.

A collector with a byte limit (UDP syslog, a relay's 969-byte cut seen in a public issue) ends a long
line anywhere. In mail_logs the long tails are the logged headers of a delivery and the SMTP reply of
a bounce or delay; the ids and recipients before them are whole, so the line is still a delivery,
bounce or delay, flagged ``cisco.esa.truncated``, and the message it belongs to keeps its fate.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from esalog.parsers.parser import LineParser
from esalog.testing import parse_event
from tests.tracking.helpers import Run

CORPUS = Path(__file__).parent / "corpus"
#: Two real delivery lines with logged headers (elastic/integrations#8569).
LINES = (CORPUS / "github-issues" / "mail_logs.elastic-integrations-8569.log").read_text(encoding="utf-8").splitlines()
#: The DCID bounce and delay rules (mail_logs and bounce_logs) whose SMTP reply may be cut.
REPLY_RULES = {"delivery-bounced", "delivery-bounced-addresses", "delivery-deferred", "delivery-deferred-addresses",
               "bounce-hard", "bounce-delayed"}


@pytest.fixture(scope="module")
def parser() -> LineParser:
    return LineParser.from_options()


def _cuts(line: str) -> list[int]:
    """Every cut inside the logged headers: from just after their opening ``[(`` to before the ``]``."""
    start = line.index(" [(") + 3
    return list(range(start, len(line) - 1))


@pytest.mark.parametrize("line", LINES, ids=["4-rcpt", "1-rcpt"])
def test_a_delivery_line_cut_inside_its_headers_is_still_the_delivery(parser: LineParser, line: str) -> None:
    whole = parse_event(parser, line, parser.new_stream("mail_logs.@x.s"))
    assert whole["event"]["action"] == "message-delivered"
    assert "truncated" not in whole["cisco"]["esa"]
    for cut in _cuts(line):
        event = parse_event(parser, line[:cut], parser.new_stream("mail_logs.@x.s"))
        esa = event["cisco"]["esa"]
        assert event["event"]["action"] == "message-delivered", cut
        assert esa["truncated"] is True, cut
        for key in ("dcid", "mid", "rid"):
            assert esa[key] == whole["cisco"]["esa"][key], (cut, key)
        # nothing of the cut line is lost: the headers' text up to the cut is kept (trailing blanks of
        # a line are not part of its message)
        assert esa["headers"] and line[:cut].rstrip().endswith(esa["headers"]), cut


def test_a_cut_delivery_still_delivers_the_message_in_the_summary() -> None:
    line = LINES[1]  # MID 78147001, RID [0]
    cut = line[: line.index(" [(") + 20]
    run = Run()
    events = run.feed([
        "Tue Nov 21 10:00:00 2023 Info: Start MID 78147001 ICID 5",
        "Tue Nov 21 10:00:00 2023 Info: MID 78147001 ICID 5 RID 0 To: <userA@company.domain>",
        "Tue Nov 21 10:00:01 2023 " + cut,
        "Tue Nov 21 10:00:01 2023 Info: Message finished MID 78147001 done",
    ])
    events += run.flush()
    summaries = [e for e in events if e["event"]["action"] == "message-summary"]
    assert len(summaries) == 1
    esa = summaries[0]["cisco"]["esa"]
    assert esa["disposition"] == "delivered"
    assert [r["fate"] for r in esa["recipients"]] == ["delivered"]


def _reply_lines(parser: LineParser) -> list[str]:
    """Every real corpus line read by one of REPLY_RULES."""
    found = []
    for path in sorted(CORPUS.glob("*/*.log")):
        stream = parser.new_stream(path.name)
        for line in path.read_text(encoding="utf-8").splitlines():
            record = parser.parse(line, stream)
            if record.rule is not None and record.rule.id in REPLY_RULES:
                found.append(line)
    return found


def test_a_bounce_or_delay_cut_inside_its_smtp_reply_is_still_read(parser: LineParser) -> None:
    lines = _reply_lines(parser)
    assert len(lines) >= 11
    checked = 0
    for line in lines:
        whole = parse_event(parser, line, parser.new_stream("mail_logs.@x.s"))
        assert "truncated" not in whole["cisco"]["esa"], line
        reply = whole["cisco"]["esa"]["bounce"]["reply"]
        start = line.rindex(reply)
        for cut in range(start + 1, len(line)):
            piece = line[:cut].rstrip()
            if piece.endswith((")", "]")):
                continue  # a cut there leaves a closed reply: nothing says it was cut
            event = parse_event(parser, line[:cut], parser.new_stream("mail_logs.@x.s"))
            esa = event["cisco"]["esa"]
            assert event["event"]["action"] == whole["event"]["action"], (line, cut)
            assert esa.get("truncated") is True, (line, cut)
            for key in ("dcid", "mid", "rid"):
                assert esa[key] == whole["cisco"]["esa"][key], (line, cut, key)
            assert esa["bounce"]["status_code"] == whole["cisco"]["esa"]["bounce"]["status_code"]
            if len(piece) >= start + 6:  # "('550'" survived the cut
                assert esa["bounce"]["smtp_code"] == whole["cisco"]["esa"]["bounce"]["smtp_code"], (line, cut)
            checked += 1
    assert checked > 100
