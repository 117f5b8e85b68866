"""Issue 13, parts 3 and 5: placeholder words never become values; text is decoded right.

Each case parses a real (public) line shape through the built-in packs and checks both what must be
there and what must not.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from esalog.parsers.converters import decode_escapes, decode_rfc2047
from esalog.parsers.fields import get_field
from esalog.parsers.parser import LineParser
from esalog.testing import parse_event, read_ndjson
from tests.conftest import run_cli

TODAY = date(2026, 11, 27)
CEF = ("CEF:0|Cisco|C390 Email Security Appliance|14.2.1-015|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|"
       "deviceExternalId=254be28187994bc7a37f496ceac54edd ESAMID=11111111 ESAICID=333333 ")


@pytest.fixture(scope="module")
def parser() -> LineParser:
    return LineParser.from_options()


def parse(parser: LineParser, line: str, name: str = "mail.current") -> dict[str, Any]:
    return parse_event(parser, line, parser.new_stream(name, today=TODAY))


# ------------------------------------------------------------------------------------------ part 3


def test_reverse_dns_unknown_is_a_status_not_a_domain(parser: LineParser) -> None:
    ev = parse(parser, "Wed Jun 16 21:42:34 2004 Info: New SMTP ICID 282204970 interface mail.example.com "
                       "(1.2.3.4) address 2.3.4.5 reverse dns host unknown verified no")
    assert get_field(ev, "cisco.esa.rdns_status") == "unknown"
    assert get_field(ev, "source.domain") is None
    assert get_field(ev, "source.ip") == "2.3.4.5"
    known = parse(parser, "Wed Jun 16 21:42:34 2004 Info: New SMTP ICID 5 interface Management (10.1.1.1) "
                          "address 10.1.1.209 reverse dns host remotehost.com verified yes")
    assert get_field(known, "source.domain") == "remotehost.com"
    assert get_field(known, "cisco.esa.rdns_status") is None


def test_unknown_rdns_does_not_reach_later_events_or_the_report(tmp_path: Path) -> None:
    """Session tracking copies connection facts to the MID's events and the report lists top reverse DNS:
    the placeholder travels as a status, never as a domain."""
    log = tmp_path / "mail.current"
    log.write_text("\n".join([
        "Mon Mar 5 14:21:04 2018 Info: New SMTP ICID 3160 interface Data Port (10.10.1.12) address 10.10.1.5 "
        "reverse dns host unknown verified no",
        "Mon Mar 5 14:21:04 2018 Info: ICID 3160 ACCEPT SG None match ALL SBRS not enabled country not enabled",
        "Mon Mar 5 14:21:04 2018 Info: Start MID 64855 ICID 3160",
        "Mon Mar 5 14:21:04 2018 Info: MID 64855 ICID 3160 From: <matt@abc.com>",
        "Mon Mar 5 14:21:10 2018 Info: ICID 3160 lost",
        "Mon Mar 5 14:21:10 2018 Info: Message aborted MID 64855 Receiving aborted",
        "Mon Mar 5 14:21:10 2018 Info: Message finished MID 64855 aborted",
    ]) + "\n", encoding="utf-8")
    proc = run_cli("parse", "--summaries", str(log))
    assert proc.returncode == 0, proc.stderr.decode()
    events = read_ndjson(proc.stdout)
    assert any(get_field(e, "event.action") == "message-summary" for e in events)
    for event in events:
        for name in ("source.domain", "cisco.esa.country", "cisco.esa.sender_group"):
            assert get_field(event, name) not in ("unknown", "not enabled", "None"), (name, event)
    assert any(get_field(e, "cisco.esa.rdns_status") == "unknown" for e in events)
    report = run_cli("report", "--json", str(log))
    assert report.returncode == 0, report.stderr.decode()
    aborts = json.loads(report.stdout.decode())["aborts"]
    assert aborts and all(row["top_source_ips"] for row in aborts)
    assert all(name != "unknown" for row in aborts for name, _count in row["top_source_domains"])


def test_country_and_sender_group_placeholders(parser: LineParser) -> None:
    ev = parse(parser, "Mon Mar 5 14:21:04 2018 Info: ICID 3160 ACCEPT SG None match ALL SBRS not enabled "
                       "country not enabled")
    esa = ev["cisco"]["esa"]
    assert esa["country_status"] == "not enabled" and "country" not in esa
    assert esa["sender_group_status"] == "None" and "sender_group" not in esa
    assert esa["sbrs"] == {"status": "not enabled"}
    real = parse(parser, "Tue Mar 01 10:00:00 2022 Info: ICID 824108 ACCEPT SG ACCEPTLIST match sbrs[0.0:10.0] "
                         "SBRS 3.4 country United States")
    assert real["cisco"]["esa"]["country"] == "United States"
    assert "country_status" not in real["cisco"]["esa"]


def test_empty_hat_match_is_left_out(parser: LineParser) -> None:
    ev = parse(parser, "Tue Jan 10 10:00:00 2006 Info: ICID 2 REJECT SG None match  SBRS None")
    esa = ev["cisco"]["esa"]
    assert "hat_match" not in esa and esa["sbrs"] == {"status": "None"}
    assert ev["event"]["action"] == "sender-group-rejected"
    # AsyncOS 7.5 Configuration Guide p. 8-41 prints a doubled space after the match: not part of it
    ev = parse(parser, "Fri Apr 28 17:07:29 2006 Info: ICID 210158 ACCEPT SG UNKNOWNLIST match nx.domain  SBRS rfc1918")
    assert ev["cisco"]["esa"]["hat_match"] == "nx.domain"


def test_sdr_not_present_is_a_status(parser: LineParser) -> None:
    ev = parse(parser, "Wed Sep  6 13:13:16 2023 Info: MID 14 SDR: Domains for which SDR is requested: reverse DNS "
                       "host: Not Present, helo: smtp.spam.test, env-from: cisco.com, header-from: Not Present, "
                       "reply-to: Not Present")
    domains = ev["cisco"]["esa"]["sdr"]["domains"]
    assert domains == {"rdns_status": "Not Present", "helo": "smtp.spam.test", "env_from": "cisco.com",
                       "header_from_status": "Not Present", "reply_to_status": "Not Present"}
    assert "reply_to" not in ev.get("email", {})


def test_sdr_na_is_a_status(parser: LineParser) -> None:
    """SDR writes N/A where it has no threat category or suspected domain (public 2022 capture, sekoia CEF)."""
    ev = parse(parser, "Wed Sep 14 09:48:20 2022 Info: MID 26983 SDR: Consolidated Sender Threat Level: Neutral, "
                       "Threat Category: N/A, Suspected Domain(s) : N/A (other reasons for verdict). Sender Maturity: "
                       "30 days (or greater) for domain: sender4-of-o59.zoho.com")
    sdr = ev["cisco"]["esa"]["sdr"]
    assert sdr["threat_category_status"] == "N/A" and "threat_category" not in sdr
    assert sdr["suspected_domains_status"] == "N/A" and "suspected_domains" not in sdr
    assert sdr["threat_level"] == "Neutral" and sdr["domain"] == "sender4-of-o59.zoho.com"
    assert ev["cisco"]["esa"]["verdict"]["details"] == "other reasons for verdict"
    old = parse(parser, "Tue Jun 11 10:00:00 2019 Info: MID 3001 SDR: Consolidated Sender Reputation: Weak, "
                        "Threat Category: N/A. Youngest Domain Age: 2 days for domain: new.example.com")
    assert old["cisco"]["esa"]["sdr"] == {"threat_level": "Weak", "threat_category_status": "N/A"}
    cef = parse(parser, CEF + "act=DELIVERED cs3Label=SDRThreatCategory cs3=N/A cs6Label=SDRRepScore cs6=Neutral",
                name="consolidated_event.current")
    assert cef["cisco"]["esa"]["sdr"] == {"threat_category_status": "N/A", "threat_level": "Neutral"}


def test_cef_placeholders(parser: LineParser) -> None:
    ev = parse(parser, CEF + "act=DELIVERED cs2Label=SenderCountry cs2=not enabled cfp1Label=SBRSScore "
                             "cfp1=not enabled sourceHostName=unknown ESASenderGroup=None sourceAddress=1.2.3.4 "
                             "ESAReplyTo=Not Present msg='x'", name="consolidated_event.current")
    esa = ev["cisco"]["esa"]
    assert esa["rdns_status"] == "unknown" and "domain" not in ev["source"]
    assert esa["country_status"] == "not enabled" and "country" not in esa
    assert esa["sender_group_status"] == "None" and "sender_group" not in esa
    assert esa["reply_to_status"] == "Not Present" and "reply_to" not in ev["email"]
    assert esa["sbrs"] == {"status": "not enabled"}
    geo = parse(parser, CEF + "act=DELIVERED cs2Label=GeoLocation cs2=not applicable", name="consolidated_event.current")
    assert geo["cisco"]["esa"]["country_status"] == "not applicable"


# ------------------------------------------------------------------------------------------ part 5


def test_subject_hex_escapes_are_utf8_bytes(parser: LineParser) -> None:
    """The bundled example's subject: an en dash, not mojibake."""
    ev = parse(parser, r"Mon Nov  2 08:00:03 2026 Info: MID 900200 Subject 'Order 4711 \xe2\x80\x93 confirmation'")
    assert ev["email"]["subject"] == "Order 4711 \u2013 confirmation"
    assert "\u00e2" not in ev["email"]["subject"]


def test_hex_escapes_fall_back_to_latin1() -> None:
    assert decode_escapes(r"It's \xe9t\xe9") == "It's été"  # not valid UTF-8 -> one character per byte
    assert decode_escapes(r"caf\xc3\xa9 \xff") == "café ÿ"  # runs decoded separately
    assert decode_escapes(r"a\r\nb\tc \u00e9") == "a\r\nb\tc é"


def test_rfc2047_subjects_are_decoded_and_the_raw_line_kept(parser: LineParser) -> None:
    line = "Mon Nov  2 08:00:03 2026 Info: MID 900201 Subject '=?ISO-8859-15?Q?Caf=E9_cr=E8me?='"
    ev = parse(parser, line)
    assert ev["email"]["subject"] == "Café crème"
    assert ev["event"]["original"] == line
    b64 = parse(parser, 'Mon Nov  2 08:00:03 2026 Info: MID 900202 Subject "=?UTF-8?B?w6l0w6k=?= 2026"')
    assert b64["email"]["subject"] == "été 2026"
    assert decode_rfc2047("=?bogus-charset?Q?x?=") == "=?bogus-charset?Q?x?="  # unreadable: kept as is


def test_cef_subject_rfc2047_with_cef_escapes(parser: LineParser) -> None:
    ev = parse(parser, CEF + "act=DELIVERED msg='\\\\=?UTF-8?Q?Nice to Meet you?\\\\='",
               name="consolidated_event.current")
    assert ev["email"]["subject"] == "Nice to Meet you"


def test_cef_duser_with_several_addresses_is_a_list(parser: LineParser) -> None:
    ev = parse(parser, CEF + "act=DELIVERED duser=dest1@reception.com;dest2@reception.com msg='Subject'",
               name="consolidated_event.current")
    assert ev["email"]["to"]["address"] == ["dest1@reception.com", "dest2@reception.com"]


def test_tls_peer_cn_without_angle_brackets(parser: LineParser) -> None:
    ev = parse(parser, "Tue Jan 10 10:00:00 2006 Info: DCID 33 TLS success CN: <eq-c601.ironport.com>")
    assert ev["tls"]["server"]["subject"] == "eq-c601.ironport.com"


@pytest.mark.parametrize(("line", "name", "location"), [
    ("Wed Feb 14 12:11:44 2007 Info: RPC Delivery start RCID 756814 MID 2317877 to local IronPort Spam Quarantine",
     "IronPort Spam Quarantine", "local"),
    ("Wed Nov 19 09:16:40 2014 Info: Delivery start DCID 6565554 MID 24611424 to RID [0] to offbox IronPort Spam "
     "Quarantine", "IronPort Spam Quarantine", "offbox"),
    ('Tue Jan 10 10:00:00 2006 Info: MID 9736 released from quarantine local "Policy" (manual)', "Policy", None),
])
def test_quarantine_names_do_not_carry_local(parser: LineParser, line: str, name: str, location: str | None) -> None:
    ev = parse(parser, line)
    assert get_field(ev, "cisco.esa.quarantine.name") == name
    assert get_field(ev, "cisco.esa.quarantine.location") == location
