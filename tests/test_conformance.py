"""Conformance over the reference corpus: every ESA mail-log, bounce-log and Consolidated Event Log
line is recognised, every event validates, and our facts agree with Elastic's expected outputs.

Deliberate differences from Elastic are listed in docs/compatibility.md; the mapping below only
compares facts both sides extract.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from esalog.encode import decode
from esalog.parsers.converters import is_placeholder, unquote
from esalog.parsers.fields import get_field
from esalog.schemas import validator
from tests.conftest import ROOT, run_cli

ELASTIC = "peers/elastic"
#: In Elastic's mixed syslog sample the subscriptions that have a pack (mail, bounce, CEF and, since
#: issue 15, the other log types); any other one must be kept as an unsupported log type.
_PACKED_APP = re.compile(r" (?:mail_logs|consolidated_event|bounces?|amp|antispam|antivirus|authentication"
                         r"|content_scanner|error_logs|gui_logs|status|system): ")
#: (file, line number, line text, event)
Rows = list[tuple[Path, int, str, dict[str, Any]]]


def conformance_files(corpus: Path) -> list[Path]:
    """Every mail-log, bounce-log and consolidated-event file of the corpus."""
    sample = corpus / ELASTIC / "sample_logs"
    files = [
        *sorted((corpus / "seed").glob("*.log")),
        *sorted((corpus / "peers" / "splunk").glob("*.log")),
        *sorted(sample.glob("mail_logs.*")),
        *sorted(sample.glob("bounces.*")),
        *sorted(sample.glob("consolidated_event.*")),
        sample / "log.log",
        corpus / ELASTIC / "test_pipeline" / "test-common-text-mail.log",
        corpus / ELASTIC / "test_pipeline" / "test-common-consolidated-event.log",
    ]
    return [f for f in files if f.is_file()]


def parse_files(paths: list[Path]) -> Rows:
    """Run ``esalog parse`` on *paths* in a subprocess; pair each event with its file, line number, line."""
    proc = run_cli("parse", "-q", *map(str, paths))
    assert proc.returncode == 0, proc.stderr.decode()
    events = [decode(line) for line in proc.stdout.splitlines()]
    rows = []
    for path in paths:
        lines = path.read_bytes().split(b"\n")
        if lines[-1] == b"":
            lines.pop()  # the empty text after the final newline is not a line
        for number, raw in enumerate(lines, start=1):
            rows.append((path, number, raw.decode("utf-8", "replace").rstrip("\r")))
    assert len(rows) == len(events), "esalog must emit exactly one event per input line"
    return [(p, n, text, ev) for (p, n, text), ev in zip(rows, events, strict=True)]


@pytest.fixture(scope="module")
def parsed(corpus: Path) -> Rows:
    return parse_files(conformance_files(corpus))


def test_every_corpus_line_is_recognised(parsed: Rows) -> None:
    """No mail-log, bounce-log or CEF line of the corpus comes out unknown or as a pipeline error."""
    failures = []
    checked = 0
    for path, number, text, event in parsed:
        if not text.strip():
            continue  # blank lines carry nothing (they are reported as pipeline errors, by design)
        if path.name == "log.log" and not _PACKED_APP.search(text):
            assert "esalog_unsupported_log_type" in event.get("tags", ()), f"{path.name}:{number} {text}"
            continue
        checked += 1
        if event["event"].get("kind") == "pipeline_error" or event["event"].get("action") == "unknown":
            failures.append(f"{path.name}:{number}: {text[:160]}")
    assert checked > 1100
    assert not failures, "unrecognised lines:\n" + "\n".join(failures)


def test_every_event_validates_against_the_schema(parsed: Rows) -> None:
    """Each event of the conformance files is valid under the published JSON Schema."""
    check = validator()
    problems = [f"{path.name}:{number}: {err.message}"
                for path, number, _text, event in parsed for err in check.iter_errors(event)]
    assert not problems, "\n".join(problems[:20])


def test_status_lines_yield_no_mid(parsed: Rows) -> None:
    """``Status: ... CrtMID n`` is never read as a message id."""
    status = [event for _p, _n, text, event in parsed if " Status: " in text]
    assert status
    for event in status:
        assert get_field(event, "cisco.esa.mid") is None
        assert get_field(event, "email.local_id") is None


# ------------------------------------------------------------------------ comparison with Elastic

def _as_str(value: Any) -> str:
    return str(value)


def _strip_quotes(value: Any) -> str:
    return unquote(str(value))


def _bare_id(value: Any) -> str:
    return str(value).strip("'").strip("<>")


def _lower(value: Any) -> str:
    return str(value).lower()


Norm = Callable[[Any], Any]
#: (Elastic field, our field, normaliser applied to both sides). Only facts both extract.
TEXT_MAIL: list[tuple[str, str, Norm]] = [
    ("email.message_id", "email.local_id", _as_str),  # Elastic files the MID as message_id
    ("email.from.address", "email.from.address", list),
    ("email.to.address", "email.to.address", list),
    ("email.subject", "email.subject", _strip_quotes),
    ("email.direction", "email.direction", _as_str),
    ("destination.ip", "destination.ip", _as_str),
    ("destination.port", "destination.port", int),
    ("log.level", "log.level", _as_str),
    ("log.syslog.priority", "log.syslog.priority", int),
    ("cisco_secure_email_gateway.log.host", "log.syslog.hostname", _as_str),
    ("cisco_secure_email_gateway.log.injection_connection_id", "cisco.esa.icid", _as_str),
    ("cisco_secure_email_gateway.log.delivery_connection_id", "cisco.esa.dcid", _as_str),
    ("cisco_secure_email_gateway.log.address", "source.ip", _as_str),
    ("cisco_secure_email_gateway.log.interface", "destination.ip", _as_str),
    ("cisco_secure_email_gateway.log.read_bytes", "cisco.esa.size_bytes", int),
    ("cisco_secure_email_gateway.log.policy", "cisco.esa.policy", _as_str),
    ("cisco_secure_email_gateway.log.response", "cisco.esa.response", _strip_quotes),
    ("cisco_secure_email_gateway.log.severity", "cisco.esa.dlp.severity", _as_str),
    ("cisco_secure_email_gateway.log.risk_factor", "cisco.esa.dlp.risk_factor", int),
    ("cisco_secure_email_gateway.log.threat_level", "cisco.esa.sdr.threat_level", _as_str),
    ("cisco_secure_email_gateway.log.threat_category", "cisco.esa.sdr.threat_category", _as_str),
    ("cisco_secure_email_gateway.log.suspected_domains", "cisco.esa.sdr.suspected_domains", _as_str),
    ("cisco_secure_email_gateway.log.maturity", "cisco.esa.sdr.maturity", _as_str),
    ("cisco_secure_email_gateway.log.helo", "cisco.esa.sdr.domains.helo", _as_str),
    ("cisco_secure_email_gateway.log.env", "cisco.esa.sdr.domains.env_from", _as_str),
    ("cisco_secure_email_gateway.log.email_tracker_header", "cisco.esa.sdr.tracker_header", _as_str),
    ("cisco_secure_email_gateway.log.spf_aligned", "cisco.esa.dmarc.spf_aligned", bool),
    ("cisco_secure_email_gateway.log.dkim_aligned", "cisco.esa.dmarc.dkim_aligned", bool),
    ("cisco_secure_email_gateway.log.verified", "cisco.esa.rdns_verified", lambda v: v in (True, "yes")),
]
CONSOLIDATED: list[tuple[str, str, Norm]] = [
    ("email.message_id", "email.local_id", _as_str),  # ESAMID; our email.message_id is the header
    ("cisco_secure_email_gateway.log.cs4", "email.message_id", _bare_id),
    ("email.from.address", "email.from.address", list),
    ("email.to.address", "email.to.address", list),
    ("email.subject", "email.subject", _as_str),
    ("email.direction", "email.direction", _as_str),
    ("source.ip", "source.ip", _as_str),
    ("source.domain", "source.domain", _as_str),
    ("host.id", "host.id", _as_str),
    ("event.start", "event.start", _as_str),
    ("event.end", "event.end", _as_str),
    ("event.severity", "event.severity", int),
    ("log.syslog.priority", "log.syslog.priority", int),
    ("cisco_secure_email_gateway.log.appliance.version", "observer.version", _as_str),
    ("cisco_secure_email_gateway.log.act", "cisco.esa.final_action", _as_str),
    ("cisco_secure_email_gateway.log.esa.final_action_details", "cisco.esa.final_action_details", _as_str),
    ("cisco_secure_email_gateway.log.esa.injection_connection_id", "cisco.esa.icid", _as_str),
    ("cisco_secure_email_gateway.log.esa.delivery_connection_id", "cisco.esa.dcid", _as_str),
    ("cisco_secure_email_gateway.log.esa.msg_size", "cisco.esa.size_bytes", int),
    ("cisco_secure_email_gateway.log.esa.sender_group", "cisco.esa.sender_group", _as_str),
    ("cisco_secure_email_gateway.log.esa.mail_flow_policy", "cisco.esa.mail_flow_policy", _as_str),
    ("cisco_secure_email_gateway.log.esa.helo.domain", "cisco.esa.helo.domain", _as_str),
    ("cisco_secure_email_gateway.log.esa.helo.ip", "cisco.esa.helo.ip", _as_str),
    ("cisco_secure_email_gateway.log.esa.friendly_from", "cisco.esa.friendly_from", _as_str),
    ("cisco_secure_email_gateway.log.cs1", "cisco.esa.policy", _as_str),
    ("cisco_secure_email_gateway.log.cs2", "cisco.esa.country", _as_str),
    ("cisco_secure_email_gateway.log.cs3", "cisco.esa.sdr.threat_category", _as_str),
    ("cisco_secure_email_gateway.log.cs6", "cisco.esa.sdr.threat_level", _as_str),
    ("cisco_secure_email_gateway.log.esa.sdr_consolidated_domain_age", "cisco.esa.sdr.maturity", _as_str),
    ("cisco_secure_email_gateway.log.listener.name", "cisco.esa.interface", _as_str),
    ("cisco_secure_email_gateway.log.esa.as_verdict", "cisco.esa.verdicts.antispam", _lower),
    ("cisco_secure_email_gateway.log.esa.av_verdict", "cisco.esa.verdicts.antivirus", _lower),
    ("cisco_secure_email_gateway.log.esa.amp_verdict", "cisco.esa.verdicts.amp", _lower),
    ("cisco_secure_email_gateway.log.esa.outbreak_filter_verdict", "cisco.esa.verdicts.outbreak", _lower),
    ("cisco_secure_email_gateway.log.esa.graymail_verdict", "cisco.esa.verdicts.graymail", _lower),
    ("cisco_secure_email_gateway.log.esa.content_filter_verdict", "cisco.esa.verdicts.content_filter",
     _lower),
    ("cisco_secure_email_gateway.log.esa.mf_verdict", "cisco.esa.verdicts.message_filter", _lower),
    ("cisco_secure_email_gateway.log.esa.dlp_verdict", "cisco.esa.verdicts.dlp", _lower),
    ("cisco_secure_email_gateway.log.esa.dkim_verdict", "cisco.esa.verdicts.dkim", _lower),
    ("cisco_secure_email_gateway.log.esa.tls.in.connection_status", "cisco.esa.tls.in.status", _lower),
    ("cisco_secure_email_gateway.log.esa.tls.in.protocol", "cisco.esa.tls.in.protocol", _as_str),
    ("cisco_secure_email_gateway.log.esa.tls.in.cipher", "cisco.esa.tls.in.cipher", _as_str),
    ("cisco_secure_email_gateway.log.esa.tls.out.connection_status", "cisco.esa.tls.out.status", _lower),
    ("cisco_secure_email_gateway.log.esa.tls.out.protocol", "cisco.esa.tls.out.protocol", _as_str),
]

#: Fields where ESA may log a placeholder word; esalog keeps the word in the status field instead.
PLACEHOLDER_STATUS = {"source.domain": "cisco.esa.rdns_status", "cisco.esa.country": "cisco.esa.country_status"}

#: Lines where Elastic's value is wrong and ours differs on purpose (also in docs/compatibility.md).
DELIBERATE: dict[tuple[str, int, str], str] = {
    ("test-common-text-mail.log", 20, "email.subject"):
        "Internal SMTP giving up ... with subject '...': Unrecoverable error -- Elastic keeps the reason "
        "in the subject; esalog puts it in event.reason",
    **{("test-common-consolidated-event.log", number, field): "CEF escapes: esalog decodes \\\\ to \\, "
       "Elastic keeps the raw value" for number, field in (
           (11, "cisco_secure_email_gateway.log.cs4"), (14, "email.from.address"),
           (15, "email.from.address"))},
}


@pytest.mark.parametrize(("log_name", "mapping"), [
    ("test-common-text-mail.log", TEXT_MAIL),
    ("test-common-consolidated-event.log", CONSOLIDATED),
])
def test_facts_agree_with_elastic_expected_output(corpus: Path, log_name: str,
                                                  mapping: list[tuple[str, str, Norm]]) -> None:
    """Line by line, every fact Elastic and esalog both extract has the same value (and the same time)."""
    log = corpus / ELASTIC / "test_pipeline" / log_name
    expected = json.loads(log.with_name(log_name + "-expected.json").read_text())["expected"]
    rows = parse_files([log])
    assert len(rows) == len(expected)
    compared, mismatches = 0, []
    for (_p, number, text, ours), theirs in zip(rows, expected, strict=True):
        if not text.strip():
            continue
        # Elastic's test harness pins the year; the month, day and time must agree.
        assert ours["@timestamp"][5:19] == theirs["@timestamp"][5:19], f"line {number}"
        for their_field, our_field, norm in mapping:
            their_value = get_field(theirs, their_field)
            our_value = get_field(ours, our_field)
            if our_field in PLACEHOLDER_STATUS and isinstance(their_value, str) and is_placeholder(their_value):
                # Elastic stores the placeholder word as the value; esalog keeps it in a status field
                compared += 1
                if our_value is not None or get_field(ours, PLACEHOLDER_STATUS[our_field]) != their_value:
                    mismatches.append(f"line {number}: {their_field}={their_value!r} (placeholder) vs "
                                      f"{our_field}={our_value!r}, {PLACEHOLDER_STATUS[our_field]}="
                                      f"{get_field(ours, PLACEHOLDER_STATUS[our_field])!r}")
                continue
            if their_value is None or our_value is None or (log_name, number, their_field) in DELIBERATE:
                continue
            compared += 1
            if norm(their_value) != norm(our_value):
                mismatches.append(f"line {number}: {their_field}={their_value!r} "
                                  f"vs {our_field}={our_value!r}")
    assert compared > 150
    assert not mismatches, "\n".join(mismatches)


def test_compatibility_document_lists_the_deliberate_differences() -> None:
    """docs/compatibility.md names the fields we place differently from Elastic."""
    text = (ROOT / "docs" / "compatibility.md").read_text(encoding="utf-8")
    for needle in ("email.local_id", "email.message_id", "cisco.esa.verdict", "email.subject", "@timestamp"):
        assert needle in text
    for (log_name, number, _field), _why in DELIBERATE.items():
        assert f"{log_name} line {number}" in text
