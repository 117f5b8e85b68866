"""Real lines cut by a relay's size limit keep what comes before the cut and say they were cut.

A collector with a byte limit (UDP syslog, a relay's 969-byte cut seen in a public issue) ends a long
line anywhere. The delivery lines with logged headers are the long ones of mail_logs; the ids and
recipients before the headers are whole, so the line is still a delivery, tagged as cut, and the
message it belongs to is still delivered.
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
