"""Issue 13's time, routing and enrichment cases, through `esalog parse` as a user runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from esalog.testing import read_ndjson
from tests.conftest import run_cli


def _parse(path: Path) -> list[dict]:
    done = run_cli("parse", "-q", str(path))
    assert done.returncode == 0, done.stderr.decode()
    return read_ndjson(done.stdout)


def test_header_lines_take_the_offset_that_follows_them(tmp_path: Path) -> None:
    """Begin Logfile, Version and the offset line itself are stamped with the offset (time never runs back)."""
    log = tmp_path / "mail.@20141119T091646.s"
    log.write_text("Wed Nov 19 09:16:46 2014 Info: Begin Logfile\n"
                   "Wed Nov 19 09:16:46 2014 Info: Version: 7.6.3-019 SN: 420D4FEA709365BFB3E3-0AF2EE5E700E\n"
                   "Wed Nov 19 09:16:46 2014 Info: Time offset from UTC: -21600 seconds\n"
                   "Wed Nov 19 09:16:47 2014 Info: ICID 1 close\n")
    stamps = [e["@timestamp"] for e in _parse(log)]
    assert stamps == ["2014-11-19T15:16:46.000Z"] * 3 + ["2014-11-19T15:16:47.000Z"]


def test_cef_line_without_syslog_header_takes_its_own_time(tmp_path: Path) -> None:
    """A bare CEF line: @timestamp from endTime (else startTime), not the parse time."""
    log = tmp_path / "consolidated_event.@1.s"
    log.write_text("CEF:0|Cisco|C300V Email Security Virtual Appliance|13.0.0-392|ESA_CONSOLIDATED_LOG_EVENT|"
                   "Consolidated Log Event|5|ESAMID=1 startTime=Mon May 11 16:56:56 2020 endTime=Mon May 11 "
                   "16:57:01 2020 act=DELIVERED\n"
                   "CEF:0|Cisco|C300V Email Security Virtual Appliance|13.0.0-392|ESA_CONSOLIDATED_LOG_EVENT|"
                   "Consolidated Log Event|5|ESAMID=2 startTime=Mon May 11 16:58:00 2020 act=DELIVERED\n")
    first, second = _parse(log)
    assert first["@timestamp"] == "2020-05-11T16:57:01.000Z"
    assert second["@timestamp"] == "2020-05-11T16:58:00.000Z"
    assert "created" in first["event"]  # when esalog read it stays known


def test_connection_lines_carry_the_client_address(tmp_path: Path) -> None:
    """ICID lines after New SMTP ICID (reject, TLS, lost, close) carry its source.ip: no join needed."""
    log = tmp_path / "mail.current"
    log.write_text(
        "Thu Aug 14 11:04:31 2014 Info: New SMTP ICID 7 interface Data 1 (10.0.0.1) address 192.0.2.9 "
        "reverse dns host mx.example.net verified yes\n"
        "Thu Aug 14 11:04:31 2014 Info: ICID 7 REJECT SG BLOCKED match sbrs[-10.0:-3.0] SBRS -5.0\n"
        "Thu Aug 14 11:04:31 2014 Info: ICID 7 TLS success protocol TLSv1.2 cipher AES128-SHA\n"
        "Thu Aug 14 11:04:32 2014 Info: ICID 7 lost\n"
        "Thu Aug 14 11:04:32 2014 Info: ICID 7 close\n")
    events = _parse(log)
    assert [e["source"]["ip"] for e in events[1:]] == ["192.0.2.9"] * 4
    assert all(e["related"]["ip"] == ["192.0.2.9"] for e in events[1:])


def test_a_misleading_file_name_falls_back_per_line(tmp_path: Path) -> None:
    """A file named like the bounce log holding mail log lines: each line read by the pack that knows it."""
    log = tmp_path / "bounces-and-delivery.log"
    log.write_text("Thu Aug 14 11:04:31 2014 Info: DCID 2386069 close\n"
                   "Thu Aug 14 11:04:31 2014 Info: Delivery start DCID 3 MID 4 to RID [0, 1]\n")
    events = _parse(log)
    assert [e["cisco"]["esa"]["kind"] for e in events] == ["delivery-connection-closed", "delivery-start"]
    assert all(e["event"]["dataset"] == "cisco_esa.mail_logs" for e in events)


@pytest.mark.parametrize("argv", [["parse", "-q"], ["parse", "-q", "--stateless"], ["filter"]])
def test_an_offset_of_a_day_or_more_is_refused_and_the_zone_kept(tmp_path: Path, argv: list[str]) -> None:
    """``Time offset from UTC: 90000 seconds`` (or 19 digits) is no zone: the line is a conversion error, the
    zone in use is kept and a later good offset still applies. Before, every later line raised ValueError or
    OverflowError from datetime.timezone, and the command died with a traceback."""
    lines = ["Thu Aug 14 11:05:36 2014 Info: Time offset from UTC: 90000 seconds",
             "Thu Aug 14 11:05:36 2014 Info: ICID 1 close",
             "Thu Aug 14 11:05:36 2014 Info: Time offset from UTC: -9223372036854775807 seconds",
             "Thu Aug 14 11:05:37 2014 Info: ICID 2 close",
             "Thu Aug 14 11:05:38 2014 Info: Time offset from UTC: -3600 seconds",
             "Thu Aug 14 11:05:38 2014 Info: ICID 3 close"]
    log = tmp_path / "mail.@20140814T110536.s"
    log.write_text("\n".join(lines) + "\n")
    done = run_cli(*argv, str(log)) if argv[0] == "parse" else run_cli(*argv, input=log.read_bytes())
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr.decode()
    events = read_ndjson(done.stdout)
    assert [e["@timestamp"] for e in events] == [
        "2014-08-14T11:05:36.000Z", "2014-08-14T11:05:36.000Z", "2014-08-14T11:05:36.000Z",
        "2014-08-14T11:05:37.000Z", "2014-08-14T12:05:38.000Z", "2014-08-14T12:05:38.000Z"]
    for event in (events[0], events[2]):
        assert event["error"]["type"] == "conversion" and "not within a day" in event["error"]["message"]
