"""The built-in packs: examples pass through the CLI, the tracker contract holds, routing is right."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from esalog.encode import decode
from esalog.parsers.fields import get_field
from esalog.parsers.parser import LineParser
from esalog.schemas import validator
from esalog.testing import parse_event
from tests.conftest import run_cli

TODAY = date(2026, 11, 27)


@pytest.fixture(scope="module")
def parser() -> LineParser:
    return LineParser.from_options()


def parse(parser: LineParser, line: str, name: str = "test") -> dict[str, Any]:
    return parse_event(parser, line, parser.new_stream(name, today=TODAY))


def test_patterns_test_command_passes_every_example() -> None:
    """``esalog patterns test`` runs every example of the three packs and exits 0."""
    proc = run_cli("patterns", "test")
    assert proc.returncode == 0, proc.stderr.decode()
    passed = int(proc.stdout.decode().split()[0])
    assert passed >= 180


def test_every_rule_has_an_example(parser: LineParser) -> None:
    """No rule ships without a real-looking example line."""
    missing = [rule.id for pack in parser.packs.values() for rule in pack.rules if not rule.source.examples]
    assert not missing
    assert set(parser.packs) == {"mail_logs", "bounce_logs", "consolidated_event", "authentication", "system",
                                 "gui_logs", "amp", "antivirus", "antispam", "error_logs", "status",
                                 "content_scanner", "updater_logs", "ftpd_logs", "slbld_logs", "cli_logs", "reportd_logs"}


def test_every_example_event_validates(parser: LineParser) -> None:
    """The event of every pack example is valid under the published schema."""
    check = validator()
    problems = []
    for log_type, pack in parser.packs.items():
        for rule in pack.rules:
            for example in rule.source.examples:
                stream = parser.new_stream("example", today=TODAY)
                stream.log_type = log_type
                event = parse_event(parser, example.line, stream)
                problems += [f"{rule.id}: {err.message}" for err in check.iter_errors(event)]
    assert not problems, "\n".join(problems)


F = "Wed Nov 19 09:16:38 2014 Info: "
CONTRACT = [
    (F + "MID 10 was split creating MID 11 due to a per-recipient policy sales", "message-split",
     {"cisco.esa.mid": 10, "cisco.esa.child_mid": 11, "event.reason": "a per-recipient policy sales"}),
    (F + "MID 10 rewritten to MID 12 by LDAP rewrite", "message-rewritten",
     {"cisco.esa.mid": 10, "cisco.esa.child_mid": 12, "cisco.esa.rewritten_by": "LDAP rewrite"}),
    (F + "MID 2 rewritten to 3 by antispam", "message-rewritten", {"cisco.esa.child_mid": 3}),
    (F + "MID 13 was generated based on MID 10 by notify filter 'tell_admin'", "message-generated",
     {"cisco.esa.mid": 13, "cisco.esa.parent_mid": 10, "cisco.esa.filter.type": "notify",
      "cisco.esa.filter.name": "tell_admin"}),
    (F + "MID 14 was generated for bounce of MID 10", "bounce-generated",
     {"cisco.esa.mid": 14, "cisco.esa.parent_mid": 10}),
    (F + "EUQ: Reinjected MID 15 as MID 16", "message-reinjected",
     {"cisco.esa.mid": 15, "cisco.esa.child_mid": 16}),
    (F + "EUQ: Quarantined MID 15", "spam-quarantined", {"cisco.esa.mid": 15}),
    (F + 'MID 17 quarantined to "Policy" (content filter pdf)', "message-quarantined",
     {"cisco.esa.quarantine.name": "Policy", "cisco.esa.quarantine.reason": "content filter pdf"}),
    (F + 'MID 17 released from quarantine "Policy"', "message-released",
     {"cisco.esa.quarantine.name": "Policy"}),
    (F + 'MID 17 deleted from quarantine "Policy" (expired)', "quarantine-deleted", {"cisco.esa.mid": 17}),
    (F + "ISQ: Tagging MID 18 for quarantine", "spam-quarantine-tagged", {"cisco.esa.mid": 18}),
    (F + "RPC Delivery start RCID 7 MID 18 to local IronPort Spam Quarantine", "rpc-delivery-started",
     {"cisco.esa.rcid": 7, "cisco.esa.mid": 18}),
    (F + "RPC Message done RCID 7 MID 18", "rpc-delivered", {"cisco.esa.rcid": 7}),
    (F + "Delayed: DCID: 4370 Message 10800 to 0 - 4.4.0 - Other network problem ('000', ['timeout']) []",
     "delivery-deferred", {"cisco.esa.dcid": 4370, "cisco.esa.mid": 10800}),
    (F + "Message 548799 to RID [712290] pending till Mon Aug 10 09:56:56 2020", "delivery-deferred",
     {"cisco.esa.mid": 548799}),
    (F + "Connection Error: DCID 63 domain: a.example IP: 10.1.1.1 port: 25 details: [Errno 0] Error "
         "interface: 10.2.2.2 reason: network error", "delivery-connection-error", {"cisco.esa.dcid": 63}),
    (F + "Double bounce: Message 8963393 to 0 - 5.1.1 - Bad destination email address", "double-bounce",
     {"cisco.esa.mid": 8963393}),
    (F + "Deleted: MID 3 to [0]", "message-deleted", {"cisco.esa.mid": 3}),
    (F + "Message aborted MID 19 Injection aborted", "message-aborted",
     {"cisco.esa.abort.reason": "Injection aborted"}),
    (F + "MID 20 attachment 'caf=C3=A9.pdf'", "message-attachment",
     {"email.attachments": [{"file": {"name": "café.pdf"}}]}),
    (F + "MID 21 using engine: CASE spam suspect", "antispam-verdict",
     {"cisco.esa.verdict.category": "antispam", "cisco.esa.verdict.engine": "CASE",
      "cisco.esa.verdict.result": "suspect"}),
    (F + "MID 21 antivirus positive 'W32/Sober-P'", "antivirus-verdict",
     {"cisco.esa.verdict.threat_name": "W32/Sober-P", "cisco.esa.verdict.result": "positive"}),
    (F + "MID 21 DMARC: Message from domain ex.com, DMARC fail (SPF aligned False, DKIM aligned True)",
     "dmarc-verdict", {"cisco.esa.verdict.result": "fail", "cisco.esa.dmarc.spf_aligned": False}),
]


@pytest.mark.parametrize(("line", "action", "fields"), CONTRACT)
def test_session_tracker_contract(parser: LineParser, line: str, action: str, fields: dict[str, Any]) -> None:
    """Lifecycle, delivery and verdict lines carry the event.action and fields the tracker relies on."""
    event = parse(parser, line)
    assert event["event"]["action"] == action
    for name, value in fields.items():
        assert get_field(event, name) == value, name
    if "cisco.esa.mid" in fields:
        assert event["email"]["local_id"] == str(fields["cisco.esa.mid"])


@pytest.mark.parametrize("line", [
    F + "ICID 5 REJECT SG BLOCKED match sbrs[-10.0:-3.0] SBRS -9.5 country Russia",
    F + "ICID 4 TLS failed: [Errno 54] Connection reset by peer",
    F + "ICID 16399 Receiving Failed: Connection limit exceeded",
    F + "SMTP Auth: (ICID 451) failed for user: bob using AUTH mechanism: LOGIN with profile: In",
])
def test_rejections_and_failures_are_failures(parser: LineParser, line: str) -> None:
    """A REJECT, a TLS failure, a receive failure and an AUTH failure all say outcome failure."""
    assert parse(parser, line)["event"]["outcome"] == "failure"


def test_status_line_has_no_mid(parser: LineParser) -> None:
    """``CrtMID`` inside a Status line is not a MID."""
    event = parse(parser, F + "Status: CPULd 0 DskIO 0 CrtMID 414695 CrtICID 2 CrtDCID 1 InjMsg 0")
    assert event["event"]["action"] == "status"
    assert get_field(event, "cisco.esa.mid") is None and "email" not in event


@pytest.mark.parametrize(("line", "dataset"), [
    ("<166>Jun 17 10:00:00 sntpd_logs: Info: The system time was changed from Sun, 16 Jun 2024 21:00:52 to"
     " Sun, 16 Jun 2024 21:00:53 using information from 207.54.66.52.", "cisco_esa.sntpd_logs"),
    ("<166>Jun 17 10:00:00 smartlicense: Info: Hostname is successfully changed to cisco_esa for the product.",
     "cisco_esa.smartlicense"),
    ("<166>Jun 17 10:00:00 euq_logs: Info: ISQ: out of limit action changed to 'DELETE OLDEST' MID 5",
     "cisco_esa.euq_logs"),
])
def test_other_log_types_are_kept_and_tagged(parser: LineParser, line: str, dataset: str) -> None:
    """Lines of ESA log types without a pack get their own dataset and a tag, not an error."""
    event = parse(parser, line)
    assert event["event"]["kind"] == "event"
    assert event["event"]["dataset"] == dataset
    assert event["event"]["action"] == "unknown"
    assert "esalog_unsupported_log_type" in event["tags"]
    assert get_field(event, "cisco.esa.mid") is None


@pytest.mark.parametrize(("name", "line", "dataset"), [
    ("bounces.@20260101T000000.s", "Wed Jan 29 00:06:30 2003 Info: Bounced: 123:0 From:<a@b> To:<c@d>",
     "cisco_esa.bounce_logs"),
    ("authentication.mail1.example.com.@1.s", "Wed Jan 29 00:06:30 2003 Info: logged in",
     "cisco_esa.authentication"),
    ("mail.current", "Wed Jan 29 00:06:30 2003 Info: ICID 5 close", "cisco_esa.mail_logs"),
    ("-", "Wed Jan 29 00:06:30 2003 Info: Delayed: 44451135:0 From:<a@b> To:<c@d>", "cisco_esa.bounce_logs"),
])
def test_routing_by_file_name_and_content(parser: LineParser, name: str, line: str, dataset: str) -> None:
    """The file name picks the pack; without one, bounce-log content is recognised."""
    assert parse(parser, line, name)["event"]["dataset"] == dataset


def test_log_type_option_forces_the_pack() -> None:
    """``--log-type bounce_logs`` reads a bounce line from stdin with the bounce pack."""
    line = b"Wed Jan 29 00:06:30 2003 Info: Bounced: 45346670:0 From:<a@example.com> To:<b@example.org>\n"
    proc = run_cli("parse", "-q", "--log-type", "bounce_logs", input=line)
    event = decode(proc.stdout.splitlines()[0])
    assert event["event"]["dataset"] == "cisco_esa.bounce_logs"
    assert event["cisco"]["esa"]["mid"] == 45346670
