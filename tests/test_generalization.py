"""Generalization: every known line kind, varied the way real ESA logs vary, must still be read by the
same rule with the right fields.

The known kinds are the examples of every built-in pack (real lines from the reference catalog, the
fixtures and public sources). They are varied in the ways real logs differ from them:

* the header: the file form with a one-digit day (``Tue Dec  1``), syslog with PRI and host, syslog from
  a relay without PRI, RFC 5424, a bare level word; and every level word;
* the ids (MID, ICID, DCID, RID ...): any value from 0 to the largest a 64-bit event field holds, lists of
  many RIDs; a 20-digit id still gives the right action (its field cannot be kept, the event says so);
* envelope addresses (``<>``, quoted local parts, ``+tags``, UTF-8 and IDN domains, upper case, long ones),
  IP addresses (IPv4, IPv6 full and compressed, IPv4-mapped ``::ffff:a.b.c.d``), host, interface and
  listener names (digits, hyphens, dots, spaces);
* subjects and Message-IDs as ESA writes them (a Python ``repr``: ``'`` or ``"`` quotes, backslash
  escapes, ``\\xNN`` bytes of UTF-8 text), with quotes, backslashes, any Unicode, very long ones;
* wording seen in other releases (table ``VARIANTS``).

Each check also asserts the rule, so a loosened rule that reads a line as another kind fails here too.
"""

from __future__ import annotations

import ipaddress
import re
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from esalog.encode import to_event
from esalog.parsers.fields import get_field
from esalog.parsers.header import HeaderParser
from esalog.parsers.parser import LineParser
from esalog.testing import EXAMPLE_TODAY
from esalog.testing.examples import check_fields

_MISSING = object()
INT64_MAX = (1 << 63) - 1


@cache
def parser() -> LineParser:
    return LineParser.from_options()


def parse(line: str, log_type: str | None = None) -> tuple[str | None, dict[str, Any]]:
    """The id of the rule that read *line* (None: no rule) and its event."""
    stream = parser().new_stream("generalization", today=EXAMPLE_TODAY)
    if log_type is not None:
        stream.log_type = log_type
    record = parser().parse(line, stream)
    return (record.rule.id if record.rule else None), to_event(record)


def assert_read(line: str, rule_id: str, fields: dict[str, Any], log_type: str | None = None) -> dict[str, Any]:
    got, event = parse(line, log_type)
    assert got == rule_id, f"{line!r}: read by {got!r}, expected {rule_id!r} (tags {event.get('tags')})"
    assert "esalog_unmatched" not in event.get("tags", ()), line
    problem = check_fields(event, fields)
    assert problem is None, f"{line!r}: {problem}"
    return event


# ---------------------------------------------------------------------------------------------- headers

#: The shapes a line's header takes, around the body; ``{app}`` is the subscription (syslog program) name.
HEADER_FORMS = {
    "file, one-digit day": "Tue Dec  1 10:00:00 2026 {level}: {body}",
    "file, collapsed space": "Tue Dec 1 10:00:00 2026 {level}: {body}",
    "syslog PRI and host": "<22>Dec  1 10:00:00 esa-01.mail2.example.com {app}: {level}: {body}",
    "syslog PRI, no host": "<166>Dec  1 10:00:00 {app}: {level}: {body}",
    "relay, no PRI, IP host": "Dec  1 10:00:00 10.0.0.1 {app}: {level}: {body}",
    "relay, no PRI, IPv6 host": "Dec  1 10:00:00 2001:db8::25 {app}: {level}: {body}",
    "RFC 5424": "<22>1 2026-12-01T10:00:00.000Z esa1.example.com {app} - - - {level}: {body}",
    "bare level word": "{level}: {body}",
}
LEVELS = {"Info": "info", "Warning": "warning", "Debug": "debug", "Critical": "critical", "Trace": "trace"}
#: The subscription name a pack's lines carry in syslog (the appliance's default names).
APP_NAMES = {"system": "system_logs"}
#: Fields that come from the header, not the body: left out of an example's expectations.
HEADER_FIELDS = {"log.level", "observer.hostname", "log.syslog.appname", "log.syslog.priority", "@timestamp"}


@cache
def examples() -> list[tuple[str, str, str, str, dict[str, Any]]]:
    """(log type, rule id, example line, its body, the body's fields) of every pack example with a level."""
    split = HeaderParser(today=EXAMPLE_TODAY).split
    out = []
    for log_type, pack in sorted(parser().packs.items()):
        for rule in pack.rules:
            for sample in rule.source.examples:
                parts = split(sample.line)
                if parts is None or parts[0][1] is None:  # CEF lines carry no level word
                    continue
                fields = {k: v for k, v in dict(sample.fields).items() if k not in HEADER_FIELDS}
                out.append((log_type, rule.id, sample.line, parts[1], fields))
    return out


def _rules() -> list[tuple[str, str]]:
    return sorted({(log_type, rule_id) for log_type, rule_id, *_ in examples()})


@pytest.mark.parametrize(("log_type", "rule_id"), _rules())
def test_every_example_under_every_header_form_and_level(log_type: str, rule_id: str) -> None:
    """The body of each example, behind every header form and level word: the same rule, the same fields,
    the level from the level word and, for stamped forms, 1 December 10:00:00 (a one-digit day)."""
    app = APP_NAMES.get(log_type, log_type)
    for _, rid, _line, body, fields in (e for e in examples() if e[:2] == (log_type, rule_id)):
        for form, template in HEADER_FORMS.items():
            for level in LEVELS if form == "file, one-digit day" else ("Info",):
                line = template.format(level=level, body=body, app=app)
                # a syslog line names its subscription; the others are read as the pack's file would be
                forced = None if "{app}" in template else log_type
                event = assert_read(line, rid, fields, forced)
                assert event["log"]["level"] == LEVELS[level], (form, line)
                if "{level}: {body}" != template and "Time offset from UTC" not in body:  # (that applies at once)
                    assert event["@timestamp"] == "2026-12-01T10:00:00.000Z", (form, line, event["@timestamp"])


@pytest.mark.parametrize("host", ["esa1", "esa-01.mail2.example.com", "ESA_01", "10.0.0.1", "2001:db8::25",
                                  "2001::1", "::ffff:10.1.2.3", "2001:DB8:0:0:0:0:0:1", "fe80::1"])
@pytest.mark.parametrize("pri", ["", "<22>", "<166>"])
def test_syslog_host_names(host: str, pri: str) -> None:
    """The host a relay writes (a name with digits, hyphens or underscores; an IPv4 or IPv6 address) is the
    host, not a year: an IPv6 host starting ``2001:`` once gave the stamp the year 2001."""
    event = assert_read(f"{pri}Dec  1 10:00:00 {host} mail_logs: Info: MID 1 queued for delivery", "message-queued",
                        {"cisco.esa.mid": 1})
    assert event["@timestamp"] == "2026-12-01T10:00:00.000Z"
    assert event["log"]["syslog"]["hostname"] == host and event["observer"]["hostname"] == host


# ---------------------------------------------------------------------------------------------- ids

#: id fields and the word before their value in a line
ID_WORDS = {"cisco.esa.mid": r"MID:? ", "cisco.esa.icid": r"ICID:? \(?", "cisco.esa.dcid": r"DCID:? ",
            "cisco.esa.rcid": r"RCID:? "}


@cache
def id_examples() -> list[tuple[str, str, str, dict[str, Any], str]]:
    """(log type, rule id, line, fields, id field) for each example that names an id field and its value."""
    out = []
    for log_type, rule_id, line, _body, fields in examples():
        for name, word in ID_WORDS.items():
            value = fields.get(name)
            if isinstance(value, int) and re.search(rf"(?<!\w){word}{value}(?!\d)", line):
                out.append((log_type, rule_id, line, fields, name))
    return out


def test_there_are_id_examples() -> None:
    assert len(id_examples()) > 100


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), value=st.one_of(st.integers(0, 9), st.integers(0, INT64_MAX),
                                       st.sampled_from([0, 4294967295, 4294967296, INT64_MAX])))
def test_ids_of_any_size(data: st.DataObject, value: int) -> None:
    """An id of any value up to 19 digits (the largest a 64-bit field holds) is read into its field."""
    log_type, rule_id, line, fields, name = data.draw(st.sampled_from(id_examples()))
    word = ID_WORDS[name]
    line = re.sub(rf"(?<!\w)({word}){fields[name]}(?!\d)", lambda m: m.group(1) + str(value), line, count=1)
    expected = {**fields, name: value}
    if name == "cisco.esa.mid" and "email.local_id" in expected:
        expected["email.local_id"] = str(value)
    if name == "cisco.esa.mid" and expected.get("cisco.esa.child_mid") == fields[name]:
        del expected["cisco.esa.child_mid"]
    assert_read(line, rule_id, expected, log_type)


@pytest.mark.parametrize("body,rule_id,action", [
    ("Start MID 12345678901234567890 ICID 1", "message-start", "message-started"),
    ("MID 99999999999999999999 ICID 1 From: <a@example.com>", "envelope-from", "envelope-from"),
    ("Message finished MID 18446744073709551616 done", "message-finished-done", "message-finished"),
])
def test_a_twenty_digit_id_keeps_the_action_and_says_the_field_was_not_kept(body: str, rule_id: str,
                                                                           action: str) -> None:
    """Beyond 64 bits an id cannot go into its (long) field: the line is still read by its rule, with its
    action, and tagged as a conversion error naming the field, never unmatched."""
    got, event = parse(f"Tue Dec  1 10:00:00 2026 Info: {body}")
    assert got == rule_id and event["event"]["action"] == action
    assert "esalog_conversion_error" in event["tags"] and "cisco.esa.mid" in event["error"]["message"]


@given(rids=st.lists(st.integers(0, 10_000), min_size=1, max_size=40))
@settings(max_examples=150, deadline=None)
def test_many_rids(rids: list[int]) -> None:
    """Delivery lines name one or many recipients: ``RID [0, 1, 2]``."""
    listed = "[" + ", ".join(map(str, rids)) + "]"
    head = "Tue Dec  1 10:00:00 2026 Info: "
    assert_read(f"{head}Delivery start DCID 7 MID 8 to RID {listed}", "delivery-start", {"cisco.esa.rid": rids})
    assert_read(f"{head}Message done DCID 7 MID 8 to RID {listed}", "message-delivered", {"cisco.esa.rid": rids})
    assert_read(f"{head}MID 8 RID {listed} Response '250 2.0.0 OK'", "delivery-response",
                {"cisco.esa.rid": rids, "cisco.esa.response": "250 2.0.0 OK"})
    assert_read(f"{head}Bounced: DCID 7 MID 8 to RID {listed} - 5.1.1 - Bad destination email address "
                "('550', ['5.1.1 User unknown'])", "delivery-bounced",
                {"cisco.esa.rid": rids, "cisco.esa.bounce.smtp_code": "550"})
    assert_read(f"{head}Message 8 to RID {listed} pending till Mon Aug 10 09:56:56 2020", "delivery-pending",
                {"cisco.esa.rid": rids})


# ---------------------------------------------------------------------------------------------- addresses

_ATOM = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*/=?^_`{|}~-",
                min_size=1, max_size=20)
_LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
_UNICODE_LABEL = st.text(alphabet=st.characters(whitelist_categories=("Ll", "Lo")), min_size=1, max_size=12)


@st.composite
def addresses(draw: st.DrawFn) -> str:
    """Envelope addresses as real senders use them."""
    kind = draw(st.sampled_from(["atoms", "tagged", "quoted", "utf8", "upper", "long", "srs"]))
    if kind == "quoted":
        local = '"' + draw(st.text(alphabet="abc xyz.@,;:()[]0123456789", min_size=1, max_size=20)) + '"'
    elif kind == "utf8":
        local = draw(_UNICODE_LABEL)
    elif kind == "long":
        local = draw(st.from_regex(r"[a-z0-9._-]{60,64}", fullmatch=True)).strip(".") or "x"
    elif kind == "srs":
        local = "SRS0=" + draw(st.from_regex(r"[A-Za-z0-9]{4}=[A-Z0-9]{2}=example\.org=[a-z]{1,8}", fullmatch=True))
    else:
        local = ".".join(draw(st.lists(_ATOM, min_size=1, max_size=3)))
        if kind == "tagged":
            local += "+" + draw(_ATOM)
    labels = draw(st.lists(st.one_of(_LABEL, _UNICODE_LABEL, _LABEL.map(lambda s: "xn--" + s)),
                           min_size=1, max_size=6 if kind != "long" else 12))
    address = f"{local}@{'.'.join(labels)}.{draw(st.sampled_from(['com', 'co.uk', 'рф', 'museum', 'io']))}"
    return address.upper() if kind == "upper" else address


ENVELOPE_LINES = [
    ("MID 4 ICID 3 From: <{a}>", "envelope-from", "email.from.address"),
    ("MID 4 ICID 3 From:<{a}>", "envelope-from", "email.from.address"),
    ("MID 4 ICID 3 RID 0 To: <{a}>", "envelope-to", "email.to.address"),
    ("MID 4 ICID 3 To: <{a}>", "envelope-to", "email.to.address"),
    ("MID 4 ready 2048 bytes from <{a}>", "message-ready", "email.from.address"),
    ("MID 4 ICID 3 To: <{a}> Rejected by Receiving Control", "recipient-rejected", "email.to.address"),
    ("MID 4 ICID 3 RID 1 To: <{a}> Rejected by LDAPACCEPT", "recipient-rejected", "email.to.address"),
    ("MID 4 ICID 3 invalid bounce, rcpt address <{a}> rejected by bounce verification.", "invalid-bounce",
     "email.to.address"),
    ("Bounced: DCID 5 MID 4 From:<{a}> To:<b@example.com> RID 0 - 5.1.0 - Unknown address error "
     "('550', ['5.1.0 no such user']) []", "delivery-bounced-addresses", "email.from.address"),
    ("Bounced: DCID 5 MID 4 From:<a@example.com> To:<{a}> RID 0 - 5.1.0 - Unknown address error "
     "('550', ['5.1.0 no such user']) []", "delivery-bounced-addresses", "email.to.address"),
]


@given(address=addresses(), which=st.sampled_from(ENVELOPE_LINES))
@example(address='"john doe"@example.com', which=ENVELOPE_LINES[0])
@example(address="Ünïcode.Üser+tag@bücher.example", which=ENVELOPE_LINES[4])
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_envelope_addresses(address: str, which: tuple[str, str, str]) -> None:
    template, rule_id, field = which
    assert_read("Tue Dec  1 10:00:00 2026 Info: " + template.format(a=address), rule_id, {field: [address]},
                "mail_logs")


@pytest.mark.parametrize(("template", "rule_id", "field"), ENVELOPE_LINES)
def test_null_sender_and_empty_address(template: str, rule_id: str, field: str) -> None:
    """``<>`` (the null sender of bounces, an empty recipient) keeps the rule and adds no address."""
    _, event = parse("Tue Dec  1 10:00:00 2026 Info: " + template.format(a=""), "mail_logs")
    assert _ == rule_id, template
    assert get_field(event, field, _MISSING) is _MISSING


@given(address=addresses())
@example(address='"john doe"@example.com')
@example(address="user+tag@xn--bcher-kva.example")
@settings(max_examples=150, deadline=None)
def test_spf_identity(address: str) -> None:
    """The SPF identity is the envelope sender as given, a quoted local part with spaces too."""
    assert_read(f"Tue Dec  1 10:00:00 2026 Info: MID 9 SPF: mailfrom identity {address} SoftFail (v=spf1)",
                "spf-verdict", {"cisco.esa.spf.identity": address, "cisco.esa.verdict.result": "softfail"})


# ---------------------------------------------------------------------------------------------- network

@st.composite
def ips(draw: st.DrawFn) -> str:
    """IPv4, IPv6 (compressed, full, upper case) and IPv4-mapped IPv6, written as ESA writes them."""
    kind = draw(st.sampled_from(["v4", "v6", "v6-full", "v6-upper", "mapped", "nat64"]))
    if kind == "v4":
        return str(draw(st.ip_addresses(v=4)))
    v4 = str(draw(st.ip_addresses(v=4)))
    if kind == "mapped":
        return "::ffff:" + v4
    if kind == "nat64":
        return "64:ff9b::" + v4
    v6 = ipaddress.IPv6Address(int(draw(st.ip_addresses(v=6))))
    if v6.ipv4_mapped is not None:  # str() writes those as ::ffff:a.b.c.d, covered above
        v6 = ipaddress.IPv6Address(int(v6) ^ (1 << 100))
    if kind == "v6-full":
        return v6.exploded
    return str(v6).upper() if kind == "v6-upper" else str(v6)


_NAME = st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,15}(?: [A-Za-z0-9][A-Za-z0-9_.-]{0,8}){0,2}", fullmatch=True)
_HOST = st.lists(_LABEL, min_size=2, max_size=6).map(".".join)


@given(src=ips(), dst=ips(), host=_HOST, interface=_NAME, verified=st.sampled_from(["yes", "no"]))
@example(src="::ffff:198.51.100.7", dst="2001:db8::1", host="mx-01.a1.example.com", interface="Data 1",
         verified="yes")
@settings(max_examples=300, deadline=None)
def test_connection_lines(src: str, dst: str, host: str, interface: str, verified: str) -> None:
    head = "Tue Dec  1 10:00:00 2026 Info: "
    assert_read(f"{head}New SMTP ICID 5 interface {interface} ({dst}) address {src} reverse dns host {host} "
                f"verified {verified}", "connection-opened",
                {"cisco.esa.interface": interface, "destination.ip": dst, "source.ip": src,
                 "source.domain": host, "cisco.esa.rdns_verified": verified == "yes"})
    assert_read(f"{head}New SMTP ICID 5 interface {interface} ({dst}) address {src} reverse dns host unknown "
                f"verified no", "connection-opened",
                {"source.ip": src, "cisco.esa.rdns_status": "unknown", "cisco.esa.interface": interface})
    assert_read(f"{head}New SMTP DCID 6 interface {dst} address {src} port 25", "delivery-connection-opened",
                {"source.ip": dst, "destination.ip": src, "destination.port": 25})
    assert_read(f"{head}New SMTP DCID 6 interface {interface} address {src}", "delivery-connection-opened",
                {"cisco.esa.interface": interface, "destination.ip": src})
    assert_read(f"{head}ICID 5 Delayed HAT REJECT continuing session for recipient logging ({src})",
                "sender-group-delayed-reject", {"source.ip": src})
    assert_read(f"{head}MID 7 IncomingRelay(relay-1): Header Received found, IP {src} being used, SBRS -1.2",
                "incoming-relay", {"cisco.esa.incoming_relay.ip": src, "cisco.esa.sbrs.score": -1.2})


_V4 = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}")


def _swap(value: Any, old: str, new: str) -> Any:
    if isinstance(value, list):
        return [_swap(item, old, new) for item in value]
    return new if value == old else value


@cache
def ip_examples() -> list[tuple[str, str, str, dict[str, Any], str]]:
    """(log type, rule id, line, fields, an IPv4 address the fields hold and the line writes once)."""
    out: list[tuple[str, str, str, dict[str, Any], str]] = []
    for log_type, rule_id, line, _body, fields in examples():
        values = {v for v in fields.values() if isinstance(v, str) and _V4.fullmatch(v)}
        out.extend((log_type, rule_id, line, fields, v) for v in sorted(values) if line.count(v) == 1)
    return out


@given(data=st.data(), new=ips())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_example_with_another_ip(data: st.DataObject, new: str) -> None:
    """Any IP (v6, v4-mapped ...) where an example of any pack has an IPv4 address: the same rule, the field
    holding the new address."""
    log_type, rule_id, line, fields, old = data.draw(st.sampled_from(ip_examples()))
    expected = {k: _swap(v, old, new) for k, v in fields.items() if k != "related.ip"}
    assert_read(line.replace(old, new), rule_id, expected, log_type)


@cache
def address_examples() -> list[tuple[str, str, str, dict[str, Any], str]]:
    """(log type, rule id, line, fields, an envelope address the fields hold and the line writes once in <>)."""
    out = []
    for log_type, rule_id, line, _body, fields in examples():
        for name in ("email.from.address", "email.to.address"):
            for value in fields.get(name) or ():
                if line.count(f"<{value}>") == 1 and "@" in value:
                    out.append((log_type, rule_id, line, fields, value))
    return out


@given(data=st.data(), new=addresses())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_example_with_another_envelope_address(data: st.DataObject, new: str) -> None:
    log_type, rule_id, line, fields, old = data.draw(st.sampled_from(address_examples()))
    expected = {k: _swap(v, old, new) for k, v in fields.items()}
    assert_read(line.replace(f"<{old}>", f"<{new}>"), rule_id, expected, log_type)



@pytest.mark.parametrize("quoted", ['","@a.com', '";"@a.com', '"a,b;c"@a.com', '"q\\",x"@a.com'])
def test_a_listed_address_keeps_the_separators_of_its_quoted_local_part(quoted: str) -> None:
    """The old ``From: <a> To: <b>, <c>, ... N total recipients`` line lists its recipients with commas: one
    inside a quoted local part does not cut the address (a case Hypothesis found)."""
    line = f"Tue Jan 10 10:00:00 2006 Info: MID 4422 From: <me@ironport.com> To: <{quoted}>, <x@b.com>, ... 2 total recipients"
    assert_read(line, "envelope-summary-old", {"email.to.address": [quoted, "x@b.com"]})

# ---------------------------------------------------------------------------------------------- text

def esa_repr(text: str, as_bytes: bool) -> str:
    """*text* quoted as ESA logs it: the repr of its UTF-8 bytes (older releases: ``'caf\\xc3\\xa9'``) or
    of the text itself (``'café'``); single quotes unless the text holds one and no double quote."""
    return repr(text.encode("utf-8"))[1:] if as_bytes else repr(text)


_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cn")), max_size=300).filter(lambda t: "=?" not in t)


@given(text=st.one_of(_TEXT, st.text(alphabet="'\"\\ ab", max_size=30), st.text(min_size=900, max_size=2000)
                      .filter(lambda t: "=?" not in t)), as_bytes=st.booleans())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_subjects(text: str, as_bytes: bool) -> None:
    line = f"Tue Dec  1 10:00:00 2026 Info: MID 3 Subject {esa_repr(text, as_bytes)}"
    assert_read(line, "message-subject", {"email.subject": text, "cisco.esa.mid": 3})


@given(local=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs")), min_size=1, max_size=80),
       domain=_HOST, as_bytes=st.booleans())
@settings(max_examples=300, deadline=None)
def test_message_ids(local: str, domain: str, as_bytes: bool) -> None:
    message_id = f"<{local}@{domain}>"
    line = f"Tue Dec  1 10:00:00 2026 Info: MID 3 Message-ID {esa_repr(message_id, as_bytes)}"
    assert_read(line, "message-id", {"email.message_id": message_id, "email.local_id": "3"})


@given(name=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60)
       .filter(lambda t: t.strip() == t), as_bytes=st.booleans())
@settings(max_examples=200, deadline=None)
def test_attachment_names(name: str, as_bytes: bool) -> None:
    """An attachment name as logged (quoted; quoted-printable ``=XX`` is the converter's, so no ``=`` here)."""
    if "=" in name:
        name = name.replace("=", "-")
    line = f"Tue Dec  1 10:00:00 2026 Info: MID 3 attachment {esa_repr(name, as_bytes)}"
    assert_read(line, "message-attachment", {"email.attachments": [{"file": {"name": name}}]})


# ---------------------------------------------------------------------------------------------- wording

#: Lines that differ from the pack examples in ways real logs do (other releases, other values); each is
#: read as the file form with a one-digit day and as syslog with PRI and host.
VARIANTS: list[tuple[str, str, dict[str, Any]]] = [
    # connections
    ("New SMTP ICID 5 interface Data 1.2 (10.0.0.1) address 10.0.0.2 reverse dns host mx-1.e-x.com verified yes",
     "connection-opened", {"cisco.esa.interface": "Data 1.2", "source.domain": "mx-1.e-x.com"}),
    ("New SMTP ICID 5 interface Public Listener (2001:db8::1) address 2001:db8:0:0:0:0:0:2 reverse dns host "
     "unknown verified no", "connection-opened",
     {"cisco.esa.interface": "Public Listener", "destination.ip": "2001:db8::1", "source.ip": "2001:db8:0:0:0:0:0:2"}),
    ("New SMTP ICID 5 interface Data 1 (::ffff:192.0.2.1) address ::ffff:198.51.100.7 reverse dns host "
     "a1-b2.example.net verified yes", "connection-opened",
     {"destination.ip": "::ffff:192.0.2.1", "source.ip": "::ffff:198.51.100.7"}),
    ("ICID 5 ACCEPT SG SUSPECTLIST match sbrs[-3.0:-1.0] SBRS -1.5 country Korea, Republic of",
     "sender-group-accept", {"cisco.esa.country": "Korea, Republic of", "cisco.esa.sbrs.score": -1.5}),
    ("ICID 5 ACCEPT SG ALLOWED_LIST match 2001:db8::/32 SBRS None country not applicable",
     "sender-group-accept", {"cisco.esa.hat_match": "2001:db8::/32", "cisco.esa.country_status": "not applicable"}),
    ("ICID 5 REJECT SG BLOCKED_LIST match dnslist[zen.spamhaus.org] SBRS -10.0 country Russian Federation",
     "sender-group-reject", {"cisco.esa.hat_match": "dnslist[zen.spamhaus.org]", "cisco.esa.sbrs.score": -10.0}),
    ("ICID 0 TCPREFUSE SG BLOCKED_LIST match sbrs[-10.0:-3.0] SBRS -9.7", "sender-group-reject",
     {"cisco.esa.hat_action": "TCPREFUSE", "cisco.esa.icid": 0}),
    ("ICID 5 TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384", "tls-inbound-success",
     {"tls.version": "1.3", "tls.cipher": "TLS_AES_256_GCM_SHA384"}),
    ("DCID 5 TLS success protocol TLSv1.2 cipher ECDHE-RSA-AES128-GCM-SHA256 for mx-1.example.com",
     "tls-outbound-success", {"tls.version": "1.2", "cisco.esa.dcid": 5}),
    ("Connection Error: DCID 63 domain: sub-1.example.com IP: 2001:db8::25 port: 25 details: [Errno 0] Error "
     "interface: 2001:db8::1 reason: network error", "delivery-connection-error",
     {"cisco.esa.dcid": 63, "destination.ip": "2001:db8::25"}),
    # messages
    ("MID 1 ICID 2 From: <\"john \\\"jr\\\" doe\"@example.com>", "envelope-from",
     {"email.from.address": ['"john \\"jr\\" doe"@example.com']}),
    ("MID 1 Subject \"He said \\\"hi\\\" and 'bye'\"", "message-subject", {"email.subject": "He said \"hi\" and 'bye'"}),
    ("MID 1 Subject 'C:\\\\path\\\\file'", "message-subject", {"email.subject": "C:\\path\\file"}),
    ("MID 1 Subject '=?UTF-8?B?0J/RgNC40LLQtdGC?='", "message-subject", {"email.subject": "Привет"}),
    ("MID 1 Message-ID <no-quotes@example.com>", "message-id", {"email.message_id": "<no-quotes@example.com>"}),
    ("MID 1 Message-ID ''", "message-id", {"email.message_id": ""}),
    ("Delivery start DCID 12345678901 MID 98765432109 to RID [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", "delivery-start",
     {"cisco.esa.dcid": 12345678901, "cisco.esa.mid": 98765432109, "cisco.esa.rid": list(range(11))}),
    ("MID 2 RID [0, 1] Response '2.6.0 <abc@x.com> [InternalId=123, Hostname=DM6PR.prod.outlook.com] Queued mail "
     "for delivery'", "delivery-response",
     {"cisco.esa.response": "2.6.0 <abc@x.com> [InternalId=123, Hostname=DM6PR.prod.outlook.com] Queued mail for "
                            "delivery"}),
    ("Bounced: DCID 0 MID 8 to RID [0, 1] - 5.1.2 - Bad destination host ('000', ['DNS Hard Error looking up "
     "xn--bcher-kva.example (MX): NXDomain'])", "delivery-bounced",
     {"cisco.esa.rid": [0, 1], "cisco.esa.bounce.status_code": "5.1.2"}),
    # verdicts of newer releases
    ("MID 1 using engine: CASE spam suspect", "antispam-verdict", {"cisco.esa.verdict.result": "suspect"}),
    ("MID 1 using engine: GRAYMAIL social", "graymail-verdict", {"cisco.esa.verdict.result": "social"}),
    ("MID 1 using engine: GRAYMAIL bulk", "graymail-verdict", {"cisco.esa.verdict.result": "bulk"}),
    ("MID 1 AMP file reputation verdict : CLEAN", "amp-verdict", {"cisco.esa.verdict.result": "clean"}),
    ("MID 1 AMP file reputation verdict : UNSCANNABLE", "amp-verdict", {"cisco.esa.verdict.result": "unscannable"}),
    ("MID 1 AMP file reputation verdict : LOWRISK", "amp-verdict", {"cisco.esa.verdict.result": "lowrisk"}),
    ("MID 1 Outbreak Filters: verdict positive Threat Level: 5 Category: Phish Type: Phish", "outbreak-verdict",
     {"cisco.esa.verdict.result": "positive", "cisco.esa.verdict.details": "Threat Level: 5 Category: Phish Type: Phish"}),
    ("MID 1 interim AV verdict using Sophos VIRAL", "antivirus-interim", {"cisco.esa.verdict.result": "viral"}),
    ("MID 1 SPF: helo identity postmaster@mx-1.example.com Pass (v=spf1)", "spf-verdict",
     {"cisco.esa.spf.identity": "postmaster@mx-1.example.com", "cisco.esa.verdict.result": "pass"}),
    ("MID 1 SPF: mailfrom identity \"j d\"@example.com Fail (v=spf1)", "spf-verdict",
     {"cisco.esa.spf.identity": "\"j d\"@example.com", "cisco.esa.verdict.result": "fail"}),
    ("MID 1 SPF: mailfrom identity user@example.com PermError (v=spf1)", "spf-verdict",
     {"cisco.esa.verdict.result": "permerror"}),
    ("MID 1 DKIM: pass signature verified (d=example.com s=selector-1 i=@example.com)", "dkim-verdict",
     {"cisco.esa.verdict.result": "pass"}),
    ("MID 1 DKIM: tempfail key retrieval failed (d=example.com s=s1 i=@example.com)", "dkim-verdict",
     {"cisco.esa.verdict.result": "tempfail"}),
    ("MID 1 DMARC: Verification skipped (No record found for the sender domain)", "dmarc-verification",
     {"cisco.esa.verdict.engine": "DMARC"}),
    ("MID 1 DMARC: Message from domain sub-1.example.com, DMARC pass (SPF aligned True, DKIM aligned False)",
     "dmarc-result", {"cisco.esa.dmarc.domain": "sub-1.example.com", "cisco.esa.dmarc.dkim_aligned": False}),
    ("MID 1 URL https://example.com/a?b=c&d='e' has reputation -9.5 matched Condition: URL Reputation Rule",
     "url-reputation", {"url.original": "https://example.com/a?b=c&d='e'", "cisco.esa.url.score": -9.5}),
    ("MID 1 SDR: Consolidated Sender Threat Level: Untrusted, Threat Category: Spam, Suspected Domain(s) : "
     "evil.example.com. Sender Maturity: 2 days for domain: evil.example.com", "sdr-verdict",
     {"cisco.esa.verdict.result": "untrusted", "cisco.esa.sdr.suspected_domains": "evil.example.com"}),
    ("MID 1 quarantined to \"File Analysis\" (AMP file reputation verdict: Unknown)", "message-quarantined",
     {"cisco.esa.quarantine.name": "File Analysis"}),
]


@pytest.mark.parametrize(("body", "rule_id", "fields"), VARIANTS, ids=[v[1] + ":" + v[0][:40] for v in VARIANTS])
def test_variants(body: str, rule_id: str, fields: dict[str, Any]) -> None:
    for line in (f"Tue Dec  1 10:00:00 2026 Info: {body}",
                 f"<22>Dec  1 10:00:00 esa-01.example.com mail_logs: Info: {body}"):
        assert_read(line, rule_id, fields)
