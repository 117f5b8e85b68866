"""Issue 10, point 6: ``esalog filter`` under each host's real record shape. Every output validates
against the schema and keeps every key of the input object: the line's key becomes the event, every
other key goes, unchanged, under ``passthrough``."""

from __future__ import annotations

import json
from typing import Any

from esalog.schemas import validator
from esalog.testing import read_ndjson
from tests.conftest import run_cli

LINE = "Thu Aug 14 11:04:51 2014 Info: MID 1404 ICID 10293 From: <user@domain.com>"
SYSLOG_LINE = "<22>Aug 14 11:04:51 esa1 mail_logs: Info: MID 1404 ICID 10293 From: <user@domain.com>"

LOGSTASH = {  # Logstash 8 (ECS compatibility on), file or pipe input: the raw line in message
    "@timestamp": "2024-05-01T10:00:00.123Z", "@version": "1", "host": {"name": "logstash-1"},
    "message": LINE, "event": {"original": LINE}, "log": {"file": {"path": "/var/log/esa/mail.current"}},
}
FLUENT_BIT_TAIL = {"date": 1714557600.123456, "log": LINE}  # tail input, json output: the line in log
FLUENT_BIT_SYSLOG = {"date": 1714557600.5, "message": LINE, "host": "esa1", "pri": "22"}
RSYSLOG_FULLJSON = {  # mmexternal interface.input="fulljson": the message's properties
    "msg": " Info: MID 1404 ICID 10293 From: <user@domain.com>", "rawmsg": SYSLOG_LINE,
    "timereported": "2014-08-14T11:04:51.000000+00:00", "hostname": "esa1", "syslogtag": "mail_logs:",
    "inputname": "imudp", "fromhost": "esa1.example.com", "fromhost-ip": "192.0.2.10", "pri": "22",
    "syslogfacility": "2", "syslogseverity": "6", "timegenerated": "2024-05-01T10:00:00.123456+00:00",
    "programname": "mail_logs", "protocol-version": "0", "structured-data": "-", "app-name": "mail_logs",
    "procid": "-", "msgid": "-", "uuid": None, "$!": {"site": "paris"},
}


def _valid(event: dict[str, Any]) -> None:
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(event)]
    assert problems == []


def _filter(obj: dict[str, Any], *options: str) -> dict[str, Any]:
    proc = run_cli("filter", *options, input=(json.dumps(obj) + "\n").encode())
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    (event,) = read_ndjson(proc.stdout)
    return event


def _keeps_every_key(obj: dict[str, Any], event: dict[str, Any], line_key: str) -> None:
    assert event["passthrough"] == {k: v for k, v in obj.items() if k != line_key}
    assert event["event"]["original"] == obj[line_key]


def test_logstash_record() -> None:
    """Logstash: @timestamp, @version, host, event.original, log.file.path kept under passthrough (they
    would collide with the event's own ECS fields); the event is read from message."""
    event = _filter(LOGSTASH)
    _valid(event)
    _keeps_every_key(LOGSTASH, event, "message")
    assert event["@timestamp"] == "2014-08-14T11:04:51.000Z" and event["cisco"]["esa"]["mid"] == 1404


def test_fluent_bit_tail_record_with_field_log() -> None:
    event = _filter(FLUENT_BIT_TAIL, "--field", "log")
    _valid(event)
    _keeps_every_key(FLUENT_BIT_TAIL, event, "log")
    assert event["email"]["from"]["address"] == ["user@domain.com"]


def test_fluent_bit_syslog_record_in_message() -> None:
    event = _filter(FLUENT_BIT_SYSLOG)
    _valid(event)
    _keeps_every_key(FLUENT_BIT_SYSLOG, event, "message")


def test_fluent_bit_record_without_field_log_says_which_key_to_give() -> None:
    """The default key is message; a Fluent Bit tail record has log: the event keeps the whole object,
    validates, and its error says to give --field (naming the keys there are)."""
    event = _filter(FLUENT_BIT_TAIL)
    _valid(event)
    assert event["event"]["kind"] == "pipeline_error" and event["error"]["type"] == "no_line_field"
    assert "--field" in event["error"]["message"] and "date, log" in event["error"]["message"]
    assert event["passthrough"] == FLUENT_BIT_TAIL


def test_rsyslog_mmexternal_fulljson_record() -> None:
    """rsyslog mmexternal fulljson: the reply carries the event under $!esa; msg is read, every other
    property (hostname, fromhost-ip, programname, $! ...) is under passthrough; the event validates."""
    proc = run_cli("filter", "--protocol", "rsyslog-mmexternal", input=(json.dumps(RSYSLOG_FULLJSON) + "\n").encode())
    assert proc.returncode == 0 and proc.stderr == b""
    (reply,) = read_ndjson(proc.stdout)
    assert set(reply) == {"$!"}
    event = reply["$!"]["esa"]
    _valid(event)
    _keeps_every_key(RSYSLOG_FULLJSON, event, "msg")
    assert event["cisco"]["esa"]["mid"] == 1404


def test_rsyslog_record_through_lines_protocol_with_rawmsg() -> None:
    """The same record through the lines protocol with --field rawmsg: the syslog header is read (host)."""
    event = _filter(RSYSLOG_FULLJSON, "--field", "rawmsg")
    _valid(event)
    _keeps_every_key(RSYSLOG_FULLJSON, event, "rawmsg")
    assert event["observer"]["hostname"] == "esa1"


def test_every_shape_in_one_stream_validates() -> None:
    """A mixed stream (raw lines, each host's object, broken JSON): one valid event per line, in order."""
    data = "".join(x + "\n" for x in (
        LINE, json.dumps(LOGSTASH), json.dumps(FLUENT_BIT_SYSLOG), json.dumps(RSYSLOG_FULLJSON), "{broken",
        json.dumps([1, 2]), json.dumps({"message": 42}))).encode()
    proc = run_cli("filter", input=data)
    assert proc.returncode == 0
    events = read_ndjson(proc.stdout)
    assert len(events) == 7
    for event in events:
        _valid(event)
    assert events[6]["passthrough"] == {"message": 42}  # not a string: kept, and the event says why
    assert events[6]["error"]["type"] == "no_line_field"


def test_readme_documents_passthrough_per_host() -> None:
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## rsyslog / Logstash / Fluent Bit"):readme.index("## Syslog listener")]
    for words in ("passthrough", "@version", "--field log", "fromhost-ip", "no_line_field"):
        assert words in section, words
