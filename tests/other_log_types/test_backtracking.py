"""Long near-miss lines of the other log types are read in (about) linear time.

Each body repeats the separators a rule's lazy parts stop at, the input that makes a pattern with
several unbounded parts backtrack for seconds (the AMP answer rule once took 2 s on the second
line below); every one must be read in well under a second.
"""

from __future__ import annotations

import time

import pytest

from esalog.testing import parse_event
from tests.other_log_types.helpers import TODAY, parser

SHA = "a" * 64
CASES = [
    ("amp", "File reputation query initiating. File Name = " + "a, MID = x" * 3000),
    ("amp", "Response received for file reputation query from Cloud. File Name = "
            + "'a', MID = 1, Disposition = x, " * 2000),
    ("amp", "Response received for file reputation query from Cache. File Name = "
            + "a, MID = 1, Disposition = x, Malware = y, " * 2000),
    ("amp", "  Response received for file reputation query from Cloud. File Name = 'x', MID = 1, Disposition = "
            + "A," * 5000 + " Malware"),
    ("amp", "File reputation query initiating. File Name = " + "'a', MID = 1, File Size = 1 bytes, " * 2000),
    ("amp", "Retrospective verdict received. SHA256: " + SHA + ", Timestamp: 1, Verdict: "
            + "X, Reputation Score: 1, " * 2000),
    ("amp", "File analysis upload skipped. SHA256: " + SHA + ",Timestamp[1] details[" + "[x] " * 5000),
    ("amp", "SHA256: " + SHA + ",Timestamp[1] details[" + "]" * 5000 + "x"),
    ("antivirus", "sophos  antivirus - MID 1 0 - Virus 'x' '" + "a/" * 10000 + "b 1 0"),
    ("gui_logs", "req:192.0.2.1 user:admin id:abc 200 GET " + "/a?b" * 10000 + " HTTP/1.1 x"),
    ("gui_logs", "SourceIP:192.0.2.1 Destination:/x Username:admin Privilege:" + "a " * 10000 + "session:x Action: y"),
    ("gui_logs", "Could not fetch current Virus Threat Level: " + "x 'y' " * 5000),
    ("authentication", "User " + "a" * 20000 + " was authenticated successfully with privilege " + "p " * 5000
                       + " by x"),
    ("authentication", "The user x successfully logged on from 192.0.2.1 with privilege "
                       + "a using an HTTPS connection " * 2000),
    ("status", "Status: CPULd 0" + " DskIO 0" * 5000),
    ("system", "DNS query network error '" + "x" * 5000 + "' to '" + "y" * 5000),
    ("error_logs", "Error while sending alert: Unable to send System/Info alert to " + "a with subject 'b' " * 3000),
    ("antispam", "case antispam - engine (1) : fuzzy: " + "a plugin b " * 3000),
]


@pytest.mark.parametrize(("log_type", "body"), CASES, ids=lambda v: v if len(v) < 20 else v[:30])
def test_long_near_miss_lines_are_fast(log_type: str, body: str) -> None:
    p = parser()
    stream = p.new_stream("x", today=TODAY)
    stream.log_type = log_type
    line = "Tue Mar 14 10:00:00 2023 Info: " + body
    start = time.perf_counter()
    event = parse_event(p, line, stream)
    elapsed = time.perf_counter() - start
    assert event["event"]["dataset"] == f"cisco_esa.{log_type}"
    assert elapsed < 0.5, f"{elapsed:.2f} s"
