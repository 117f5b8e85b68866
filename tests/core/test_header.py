"""Header stage: every line shape ESA logs reach a SIEM in."""

from __future__ import annotations

from datetime import date

import pytest

from esalog.errors import ConfigError
from esalog.parsers.header import HeaderParser, parse_tz

TODAY = date(2026, 11, 27)


def parse(line: str, **kw):
    return HeaderParser(today=TODAY, **kw).parse(line)


@pytest.mark.parametrize("line", [
    "Thu Aug 14 11:04:31 2014 Info: ICID 10293 close",
    "Thu Aug 14 11:04:31 2014 Info: ICID 10293 close   ",
])
def test_file_form(line):
    """The file form yields UTC time (no zone given), the level and the body without trailing blanks."""
    h = parse(line)
    assert (h.timestamp, h.level, h.body) == ("2014-08-14T11:04:31.000Z", "info", "ICID 10293 close")
    assert h.priority is None and h.hostname is None


@pytest.mark.parametrize("line", ["Wed May  4 00:24:31 2005 Info: x", "Wed May 4 00:24:31 2005 Info: x"])
def test_file_form_one_or_two_spaces_before_day(line):
    """A one-digit day may be padded with one or two spaces."""
    assert parse(line).timestamp == "2005-05-04T00:24:31.000Z"


@pytest.mark.parametrize("word,level", [("Critical", "critical"), ("Warning", "warning"), ("Info", "info"),
                                        ("Debug", "debug"), ("Trace", "trace")])
def test_levels(word, level):
    """All five ESA levels are read, lower-cased."""
    assert parse(f"Thu Aug 14 11:04:31 2014 {word}: hello").level == level


def test_syslog_with_pri_no_host():
    """``<PRI>Mmm dd hh:mm:ss subscription: Level: body``; the year comes from today."""
    h = parse("<166>Mar 17 18:24:37 mail_logs: Info: Start MID 6 ICID 5")
    assert h.timestamp == "2026-03-17T18:24:37.000Z"
    assert (h.priority, h.hostname, h.appname, h.body) == (166, None, "mail_logs", "Start MID 6 ICID 5")


def test_syslog_with_host_and_custom_subscription():
    """Host and any subscription name, no PRI."""
    h = parse("Aug  2 23:59:52 10.0.1.1 MAIL_SecurityAudit: Info: MID 308049623 queued for delivery")
    assert (h.hostname, h.appname, h.priority) == ("10.0.1.1", "MAIL_SecurityAudit", None)
    assert h.body == "MID 308049623 queued for delivery"


def test_syslog_with_year_inside():
    """SC4S-style inner header with a year after the time."""
    h = parse("Jul 16 10:46:46 2013 dummy_source_Domain2 mail_logs: Info: Version: 8.7.2-001 SN: X")
    assert h.timestamp == "2013-07-16T10:46:46.000Z"
    assert (h.hostname, h.appname) == ("dummy_source_Domain2", "mail_logs")


def test_rfc5424():
    """RFC 5424 framing: the ISO stamp with its offset is used as given."""
    h = parse("<166>1 2026-11-02T08:10:07.120+01:00 esa2 mail_logs - - - Info: Message finished MID 12 done")
    assert h.timestamp == "2026-11-02T07:10:07.120Z"
    assert (h.priority, h.hostname, h.appname, h.body) == (166, "esa2", "mail_logs", "Message finished MID 12 done")


def test_relay_with_iso_stamp_in_front():
    """A relay that puts an ISO stamp before the ESA message."""
    h = parse("2026-11-02T08:10:07Z esa3 mail_logs: Info: ICID 1 close")
    assert (h.timestamp, h.hostname, h.appname) == ("2026-11-02T08:10:07.000Z", "esa3", "mail_logs")
    # receivers that write the date and the time with a space between them (RFC 3339 allows it)
    h = parse("<166>2026-11-02 08:10:07 esa3 mail_logs: Info: ICID 1 close")
    assert (h.timestamp, h.priority, h.hostname, h.appname) == ("2026-11-02T08:10:07.000Z", 166, "esa3", "mail_logs")
    h = parse("2026-11-02 08:10:07.250+01:00 esa3 mail_logs: Info: ICID 1 close")
    assert (h.timestamp, h.hostname) == ("2026-11-02T07:10:07.250Z", "esa3")


def test_relay_rewritten_header():
    """``2019 Sep 28 16:13:51 host mail [info] splunk_maillogs:nopid Info: ...``."""
    h = parse("2019 Sep 28 16:13:51 ironport_server mail [info] splunk_maillogs:nopid Info: MID 6509657 queued for delivery")
    assert h.timestamp == "2019-09-28T16:13:51.000Z"
    assert (h.hostname, h.appname, h.body) == ("ironport_server", "splunk_maillogs", "MID 6509657 queued for delivery")


@pytest.mark.parametrize("line", ["Info: ICID 1 close", " Info: ICID 1 close"])
def test_bare_message(line):
    """A bare ``Info: ...`` (as rsyslog passes the MSG, leading space included) has no time of its own."""
    h = parse(line)
    assert (h.timestamp, h.level, h.body) == (None, "info", "ICID 1 close")


@pytest.mark.parametrize("line", ["", "hello world", "random text Info: not an esa line",
                                  "\x00\x01\x02", "Thu Aug 14 11:04:31 2014 nothing here"])
def test_not_an_esa_line(line):
    """Lines without the level anchor (or with words before it that are not ``host app:``) are refused."""
    assert parse(line) is None


def test_cef_line_has_no_level():
    """Consolidated Event Log lines carry CEF and no level word."""
    h = parse("Fri Mar 25 20:50:10 2022 CEF:0|Cisco|C100V|14.0.0-657|ESA_CONSOLIDATED_LOG_EVENT|x|5|ESAMID=1")
    assert h.level is None and h.body.startswith("CEF:0|")
    h = parse("<14>Jul 24 09:41:35 myHostname consolidated_event: CEF:0|Cisco|C390|15.0.0-068|X|y|5|a=b")
    assert (h.hostname, h.appname) == ("myHostname", "consolidated_event")


def test_tz_option_and_header_offset():
    """``--tz`` applies until a ``Time offset from UTC`` is set; then the offset wins."""
    hp = HeaderParser(tz=parse_tz("Europe/Paris"), today=TODAY)
    assert hp.parse("Thu Aug 14 11:04:31 2014 Info: x").timestamp == "2014-08-14T09:04:31.000Z"
    hp.set_utc_offset(-21600)
    assert hp.parse("Thu Aug 14 11:04:31 2014 Info: x").timestamp == "2014-08-14T17:04:31.000Z"


@pytest.mark.parametrize("text,stamp", [("+02:00", "2014-08-14T09:04:31.000Z"), ("-0600", "2014-08-14T17:04:31.000Z"),
                                        ("UTC", "2014-08-14T11:04:31.000Z")])
def test_fixed_offsets(text, stamp):
    """Fixed offsets in +HH:MM or +HHMM form."""
    assert HeaderParser(tz=parse_tz(text), today=TODAY).parse("Thu Aug 14 11:04:31 2014 Info: x").timestamp == stamp


def test_unknown_zone_is_a_config_error():
    """A zone that does not exist is refused with a clear message."""
    with pytest.raises(ConfigError, match="unknown time zone"):
        parse_tz("Mars/Olympus")


def test_year_rollover_december_read_in_january():
    """A December syslog line read in January belongs to last year; --year overrides."""
    hp = HeaderParser(today=date(2027, 1, 2))
    assert hp.parse("<22>Dec 31 23:59:59 mail_logs: Info: x").timestamp == "2026-12-31T23:59:59.000Z"
    assert hp.parse("<22>Jan  2 00:00:01 mail_logs: Info: x").timestamp == "2027-01-02T00:00:01.000Z"
    fixed = HeaderParser(year=2020, today=date(2027, 1, 2))
    assert fixed.parse("<22>Dec 31 23:59:59 mail_logs: Info: x").timestamp == "2020-12-31T23:59:59.000Z"


def test_impossible_date_does_not_raise():
    """Feb 30 keeps the line (stamped at ingest) instead of crashing."""
    h = parse("Mon Feb 30 10:00:00 2026 Info: ICID 1 close")
    assert h is not None and h.body == "ICID 1 close" and h.timestamp.endswith("Z")
