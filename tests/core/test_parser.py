"""LineParser: the event built for each kind of line, and per-input state from header lines."""

from __future__ import annotations

import pytest

from esalog.parsers.fields import get_field
from esalog.parsers.parser import LineParser
from esalog.testing import EXAMPLE_TODAY, parse_event


@pytest.fixture(scope="module")
def parser() -> LineParser:
    return LineParser.from_options()


def parse_all(parser: LineParser, lines: list[str], **kw):
    stream = parser.new_stream("test", today=EXAMPLE_TODAY, **kw)
    return [parse_event(parser, line, stream) for line in lines]


def test_event_skeleton(parser):
    """Every recognised line carries the fixed ECS skeleton fields."""
    (ev,) = parse_all(parser, ["Thu Aug 14 11:04:51 2014 Info: Start MID 1404 ICID 10293"])
    assert ev["@timestamp"] == "2014-08-14T11:04:51.000Z"
    assert ev["message"] == "Start MID 1404 ICID 10293"
    assert ev["event"]["original"] == "Thu Aug 14 11:04:51 2014 Info: Start MID 1404 ICID 10293"
    assert ev["event"]["dataset"] == "cisco_esa.mail_logs" and ev["event"]["module"] == "cisco_esa"
    assert ev["event"]["kind"] == "event" and ev["event"]["action"] == "message-started"
    assert ev["log"] == {"level": "info"}
    assert ev["observer"]["vendor"] == "Cisco" and ev["observer"]["product"] == "Secure Email Gateway"


def test_mid_goes_to_local_id_and_message_id_header_to_message_id(parser):
    """ECS split: the MID is email.local_id (a string), the header is email.message_id."""
    a, b = parse_all(parser, ["Thu Aug 14 11:04:51 2014 Info: Start MID 1404 ICID 10293",
                              "Thu Aug 14 11:04:52 2014 Info: MID 1404 Message-ID '<abc@example.com>'"])
    assert a["email"] == {"local_id": "1404"} and a["cisco"]["esa"]["mid"] == 1404
    assert b["email"] == {"local_id": "1404", "message_id": "<abc@example.com>"}


@pytest.mark.parametrize("body,subject", [
    ("MID 1 Subject 'plain'", "plain"),
    ('MID 1 Subject "It\'s double"', "It's double"),
    ("MID 1 Subject 'It\\'s escaped'", "It's escaped"),
    ("MID 1 Subject Re: unquoted\\r\\n folded", "Re: unquoted\r\n folded"),
    ("MID 1 Subject '\\xe9t\\xe9 \\t tab'", "été \t tab"),
    ("MID 1 Subject ''", ""),
])
def test_subject_forms(parser, body, subject):
    """Single, double and no quotes; Python escapes decoded."""
    (ev,) = parse_all(parser, [f"Thu Aug 14 11:04:51 2014 Info: {body}"])
    assert ev["email"]["subject"] == subject


def test_empty_to_and_null_sender(parser):
    """``To:`` with nothing and ``From: <>`` keep the ids and add no address."""
    to, frm = parse_all(parser, ["Wed Aug 20 22:20:07 2014 Info: MID 5 ICID 6 RID 0 To:",
                                 "Wed Aug 20 22:20:07 2014 Info: MID 5 ICID 6 From: <>"])
    assert to["event"]["action"] == "envelope-to" and "to" not in to["email"]
    assert frm["event"]["action"] == "envelope-from" and "from" not in frm["email"]


def test_unmatched_line_keeps_text_and_ids_but_not_crtmid(parser):
    """A line no rule knows is tagged; real ids are kept; CrtMID-like tokens are not read as ids."""
    unknown, status = parse_all(parser, [
        "Thu Aug 14 11:04:51 2014 Info: MID 77 ICID 88 something new in AsyncOS 99",
        "Thu Aug 14 11:04:51 2014 Info: Status: CPULd 0 DskIO 0 RAMUtil 2 QKUsd 0 CrtMID 414695 CrtICID 9 CrtDCID 1",
    ])
    assert unknown["event"]["action"] == "unknown" and unknown["tags"] == ["esalog_unmatched"]
    assert unknown["cisco"]["esa"] == {"mid": 77, "icid": 88}
    assert unknown["email"]["local_id"] == "77"
    assert "mid" not in get_field(status, "cisco.esa", {})


def test_header_lines_set_observer_and_offset_for_later_lines(parser):
    """Version/SN go to observer.* of later lines; the UTC offset shifts later time stamps."""
    events = parse_all(parser, [
        "Wed Nov 19 09:16:46 2014 Info: Begin Logfile",
        "Wed Nov 19 09:16:46 2014 Info: Version: 7.6.3-019 SN: 420D4FEA709365BFB3E3-0AF2EE5E700E",
        "Wed Nov 19 09:16:46 2014 Info: Time offset from UTC: -21600 seconds",
        "Wed Nov 19 09:16:38 2014 Info: ICID 60140291 close",
    ])
    assert events[0]["@timestamp"] == "2014-11-19T09:16:46.000Z"  # before the offset line: UTC
    assert "version" not in events[0]["observer"]
    last = events[-1]
    assert last["observer"]["version"] == "7.6.3-019"
    assert last["observer"]["serial_number"] == "420D4FEA709365BFB3E3-0AF2EE5E700E"
    assert last["@timestamp"] == "2014-11-19T15:16:38.000Z"


def test_offset_is_per_input(parser):
    """An offset seen in one input does not leak into another."""
    parse_all(parser, ["Wed Nov 19 09:16:46 2014 Info: Time offset from UTC: 3600 seconds"])
    (ev,) = parse_all(parser, ["Wed Nov 19 09:16:46 2014 Info: ICID 1 close"])
    assert ev["@timestamp"] == "2014-11-19T09:16:46.000Z"


def test_syslog_fields_and_observer_hostname(parser):
    """PRI becomes priority/facility/severity; the syslog host is the observer."""
    (ev,) = parse_all(parser, ["<94>Nov 24 14:22:57 esa1.example.net mail_logs: Info: MID 204841507 queued for delivery"])
    assert ev["log"]["syslog"] == {"priority": 94, "facility": {"code": 11}, "severity": {"code": 6},
                                   "hostname": "esa1.example.net", "appname": "mail_logs"}
    assert ev["observer"]["hostname"] == "esa1.example.net"
    assert ev["@timestamp"] == "2026-11-24T14:22:57.000Z"


def test_host_option_fills_observer_when_line_has_none(parser):
    """``--host`` names the appliance of file-form lines."""
    (ev,) = parse_all(parser, ["Thu Aug 14 11:04:51 2014 Info: ICID 1 close"], host="esa9")
    assert ev["observer"]["hostname"] == "esa9"


def test_no_original():
    """``keep_original=False`` leaves event.original out."""
    parser = LineParser.from_options(keep_original=False)
    (ev,) = parse_all(parser, ["Thu Aug 14 11:04:51 2014 Info: ICID 1 close"])
    assert "original" not in ev["event"]


def test_sender_group_verdicts(parser):
    """Accept and reject verdicts carry truthful type/outcome and the SBRS in either form."""
    ok, bad, none = parse_all(parser, [
        "Thu Aug 14 11:04:31 2014 Info: ICID 1 ACCEPT SG UNKNOWNLIST match sbrs[-1.0:10.0] SBRS None",
        "Thu Aug 14 11:04:31 2014 Info: ICID 2 REJECT SG BLOCKED_LIST match sbrs[-10.0:-3.0] SBRS -9.5 country Russian Federation",
        "Thu Aug 14 11:04:31 2014 Info: ICID 3 TCPREFUSE SG BLOCKED_LIST match 10.0.0.1 SBRS rfc1918",
    ])
    assert (ok["event"]["type"], ok["event"]["outcome"]) == (["allowed"], "success")
    assert ok["cisco"]["esa"]["sbrs"] == {"status": "None"}
    assert (bad["event"]["type"], bad["event"]["outcome"]) == (["denied"], "failure")
    assert bad["cisco"]["esa"]["sbrs"] == {"score": -9.5}
    assert bad["cisco"]["esa"]["country"] == "Russian Federation"
    assert none["cisco"]["esa"]["hat_action"] == "TCPREFUSE" and none["cisco"]["esa"]["sbrs"] == {"status": "rfc1918"}


def test_delivery_lines(parser):
    """Delivery start/done carry RID lists; Response is unquoted; Bounced is split safely."""
    start, done, resp, bounce = parse_all(parser, [
        "Thu Aug 14 11:06:00 2014 Info: Delivery start DCID 8 MID 6 to RID [0, 1]",
        "Thu Aug 14 11:06:01 2014 Info: Message done DCID 8 MID 6 to RID [0, 1] [('X-SBRS', 'None')]",
        "Thu Aug 14 11:06:01 2014 Info: MID 6 RID [0, 1] Response 'ok: queued as 1'",
        "Thu Aug 14 11:06:02 2014 Info: Bounced: DCID 9 MID 7 to RID 0 - 5.1.0 - Unknown address error "
        "('550', [\"5.1.1 <a@b>: it's unknown\", '5.1.1 second line']) []",
    ])
    assert start["cisco"]["esa"]["rid"] == [0, 1] and done["cisco"]["esa"]["rid"] == [0, 1]
    assert done["cisco"]["esa"]["headers"] == "[('X-SBRS', 'None')]"
    assert resp["cisco"]["esa"]["response"] == "ok: queued as 1"
    b = bounce["cisco"]["esa"]["bounce"]
    assert b["smtp_code"] == "550" and b["response"] == ["5.1.1 <a@b>: it's unknown", "5.1.1 second line"]
    assert bounce["event"]["outcome"] == "failure"


def test_bounce_tail_that_is_not_a_literal_is_kept(parser):
    """A malformed reply tail is kept verbatim (no eval, no crash)."""
    (ev,) = parse_all(parser, ["Thu Aug 14 11:06:02 2014 Info: Bounced: DCID 9 MID 7 to RID 0 - 5.1.0 - "
                               "Unknown address error ('550', [__import__('os')])"])
    b = ev["cisco"]["esa"]["bounce"]
    assert b["reply"] == "('550', [__import__('os')])" and "smtp_code" not in b


def _literal_or_text(text: str) -> object:
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


@pytest.mark.filterwarnings("ignore:invalid escape sequence")  # ast's, on texts with backslashes
def test_smtp_replies_read_without_the_parser_are_what_the_parser_reads() -> None:
    """``py_literal`` reads the usual SMTP reply, ``('550', ['line', ...])``, without ``ast``: for any texts
    (quotes, backslashes, line breaks, NUL, non-ASCII among them) it gives what ``ast.literal_eval`` gives."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from esalog.parsers.converters import py_literal

    texts = st.text(alphabet=st.sampled_from("a5 .'\"\\\r\n\x00é\u2028,[]()"), max_size=8)

    @settings(max_examples=400, deadline=None)
    @given(texts, st.lists(texts, max_size=3), st.sampled_from(["('{}', [{}])", "('{}', [{}]", "('{}',[{}])"]))
    def check(code: str, lines: list[str], shape: str) -> None:
        reply = shape.format(code, ", ".join(f"'{line}'" for line in lines))
        assert py_literal(reply) == _literal_or_text(reply)

    check()
    assert py_literal("('550', ['5.1.1 unknown user', 'bye'])") == ("550", ["5.1.1 unknown user", "bye"])
