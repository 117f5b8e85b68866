"""Pure abort classification: the line alone, then refined with session facts."""

from __future__ import annotations

import pytest

from esalog.parsers.parser import LineParser
from esalog.tracking.aborts import ADVICE, CATEGORIES, abort_facts, classify_line, classify_receive_abort

PARSER = LineParser.from_options()


@pytest.mark.parametrize(
    ("reason", "category", "extra"),
    [
        ("Receiving aborted by sender", "sender_quit", {"confidence": "logged", "initiated_by": "sender"}),
        ("Receiving aborted", "receiving_aborted", {"confidence": "unknown"}),
        ("Dropped by CASE", "policy_drop", {"engine": "CASE", "initiated_by": "policy"}),
        ("Dropped by amp", "policy_drop", {"engine": "amp"}),
        ("Dropped by filter 'FileType'", "policy_drop", {"filter": "FileType", "filter_type": "message"}),
        (
            "Dropped by content filter 'no_exe' in the inbound table",
            "policy_drop",
            {"filter": "no_exe", "filter_type": "content", "direction": "inbound"},
        ),
        (
            "Bounced by content filter 'bounceme' in the outbound table",
            "policy_bounce",
            {"filter": "bounceme", "direction": "outbound"},
        ),
        ("Injection aborted", "other", {"reason": "Injection aborted"}),
    ],
)
def test_classify_line(reason: str, category: str, extra: dict[str, str]) -> None:
    """Each abort line gives its category and the facts named on it (read by the pack, once)."""
    record = PARSER.parse(f"Thu Aug 14 11:05:36 2014 Info: Message aborted MID 7 {reason}", PARSER.new_stream("t"))
    abort = abort_facts(record)
    assert abort["category"] == category
    for key, value in extra.items():
        assert abort[key] == value
    assert abort["evidence"]


def _refine(idle: float, lost_at: float | None = None, timeout: float = 300) -> dict[str, object]:
    return classify_receive_abort(
        classify_line("Receiving aborted"),
        mid=7,
        icid=9,
        abort_at=1000.0,
        last_activity=1000.0 - idle,
        lost_at=lost_at,
        received=False,
        timeout=timeout,
    )


def test_lost_logged_wins_over_idle_time() -> None:
    """A logged 'ICID lost' makes it connection_lost, logged, whatever the idle time."""
    abort = _refine(400, lost_at=1000.0)
    assert (abort["category"], abort["confidence"], abort["initiated_by"]) == (
        "connection_lost",
        "logged",
        "network",
    )
    assert "ICID 9" in abort["evidence"] and "00:16:40" in abort["evidence"]  # names the connection and when


@pytest.mark.parametrize(
    ("idle", "category"),
    [
        (298, "connection_lost"),
        (299, "inbound_timeout"),
        (300, "inbound_timeout"),
        (301, "inbound_timeout"),
        (5, "connection_lost"),
    ],
)
def test_timeout_threshold(idle: float, category: str) -> None:
    """Idle at least the timeout (1 s tolerance: whole-second stamps) is a timeout; clearly below, a loss."""
    abort = _refine(idle)
    assert abort["category"] == category
    assert abort["confidence"] == "inferred"
    assert abort["idle_seconds"] == idle
    assert abort["smtp_phase"] == "before_data"


def test_timeout_is_configurable() -> None:
    """--inbound-timeout moves the threshold."""
    assert _refine(100, timeout=60)["category"] == "inbound_timeout"
    assert _refine(100, timeout=600)["category"] == "connection_lost"


def test_advice_for_every_category() -> None:
    """The report has Cisco's advice for each category."""
    assert set(ADVICE) == set(CATEGORIES)
