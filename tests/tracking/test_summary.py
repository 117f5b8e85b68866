"""Dispositions and recipient fates from message state."""

from __future__ import annotations

import pytest

from esalog.tracking.store import Appliance, Msg
from esalog.tracking.summary import build_summary, disposition


def _msg(fates: dict[int, str], abort: str | None = None, quarantine: str | None = None) -> Msg:
    msg = Msg(Appliance("t"), {}, 9, 0.0, "2014-08-14T11:00:00.000Z")
    for rid, fate in fates.items():
        msg.set_recipient(rid, f"r{rid}@example.com")
        msg.fate(rid).fate = fate
    if abort:
        msg.abort = {"category": abort, "reason": "x", "evidence": "y"}
    msg.quarantine = quarantine
    return msg


@pytest.mark.parametrize(
    ("fates", "abort", "quarantine", "expected"),
    [
        ({0: "delivered", 1: "delivered"}, None, None, "delivered"),
        ({0: "delivered", 1: "bounced"}, None, None, "partially_delivered"),
        ({0: "bounced", 1: "bounced"}, None, None, "bounced"),
        ({0: "deferred", 1: "bounced"}, None, None, "deferred"),
        ({0: "unknown"}, None, "Policy", "quarantined"),
        ({0: "unknown"}, "policy_drop", None, "dropped"),
        ({0: "unknown"}, "policy_bounce", None, "bounced"),
        ({0: "unknown"}, "connection_lost", None, "aborted"),
        ({}, None, None, "unknown"),
    ],
)
def test_disposition(fates: dict[int, str], abort: str | None, quarantine: str | None, expected: str) -> None:
    """Each mix of recipient fates, abort and quarantine gives its disposition."""
    assert disposition(_msg(fates, abort, quarantine)) == expected


def test_summary_shape() -> None:
    """A summary carries the recipients, the disposition, timing and completeness."""
    msg = _msg({0: "delivered", 1: "bounced"})
    msg.last, msg.last_ts, msg.started = 2.5, "2014-08-14T11:00:02.500Z", True
    event = build_summary(msg, {"vendor": "Cisco"}, "cisco_esa.mail_logs", "finished")
    esa = event["cisco"]["esa"]
    assert esa["disposition"] == "partially_delivered"
    assert [(r["rid"], r["fate"]) for r in esa["recipients"]] == [(0, "delivered"), (1, "bounced")]
    assert event["email"]["to"]["address"] == ["r0@example.com", "r1@example.com"]
    assert event["event"]["duration"] == 2_500_000_000
    assert esa["summary"] == {"complete": True, "end_reason": "finished", "lines": 0}
    assert event["event"]["outcome"] == "success"
