"""The tracker on crafted multi-line sequences: categories, enrichment, families, bounds, summaries."""

from __future__ import annotations

from typing import Any

from esalog.parsers.fields import get_field
from esalog.schemas import validator
from esalog.tracking.tracker import Tracker

from .helpers import Run, by_action, catalog_event

P = "Thu Aug 14 {} 2014 Info: "


def lines(*rows: tuple[str, str]) -> list[str]:
    """(hh:mm:ss, body) pairs -> file-form lines."""
    return [P.format(t) + body for t, body in rows]


def conn(icid: int, t: str = "11:00:00", ip: str = "203.0.113.5") -> list[str]:
    return lines(
        (
            t,
            f"New SMTP ICID {icid} interface Data 1 (192.0.2.1) address {ip} reverse dns host "
            f"mx.sender.example verified yes",
        ),
        (t, f"ICID {icid} ACCEPT SG SUSPECTLIST match sbrs[-3.0:-1.0] SBRS -2.1"),
    )


def start(mid: int, icid: int, t: str = "11:00:01") -> list[str]:
    return lines(
        (t, f"Start MID {mid} ICID {icid}"),
        (t, f"MID {mid} ICID {icid} From: <a@sender.example>"),
        (t, f"MID {mid} ICID {icid} RID 0 To: <b@example.com>"),
    )


def abort_of(events: list[dict[str, Any]], mid: int) -> dict[str, Any]:
    found = [e for e in by_action(events, "message-aborted") if e["cisco"]["esa"]["mid"] == mid]
    assert len(found) == 1
    return found[0]["cisco"]["esa"]["abort"]


def summary_of(events: list[dict[str, Any]], mid: int) -> dict[str, Any]:
    found = [e for e in by_action(events, "message-summary") if e["cisco"]["esa"]["mid"] == mid]
    assert len(found) == 1, found
    return found[0]


def test_connection_lost_logged_and_copied_to_finish_and_summary(run: Run) -> None:
    """ICID lost before the abort: connection_lost/logged on the abort, the finish and the summary."""
    events = run.feed(
        conn(5)
        + start(50, 5)
        + lines(
            ("11:00:20", "ICID 5 lost"),
            ("11:00:20", "Message aborted MID 50 Receiving aborted"),
            ("11:00:20", "Message finished MID 50 aborted"),
            ("11:00:20", "ICID 5 close"),
        )
    )
    abort = abort_of(events, 50)
    assert (abort["category"], abort["confidence"]) == ("connection_lost", "logged")
    assert "ICID 5" in abort["evidence"] and "11:00:20" in abort["evidence"]  # names the connection and when
    finished = by_action(events, "message-finished")[0]
    assert finished["cisco"]["esa"]["abort"]["category"] == "connection_lost"
    assert finished["event"]["outcome"] == "failure"
    summary = summary_of(events, 50)
    assert summary["cisco"]["esa"]["abort"]["category"] == "connection_lost"
    assert summary["cisco"]["esa"]["disposition"] == "aborted"
    assert summary["cisco"]["esa"]["recipients"] == [{"rid": 0, "fate": "aborted", "address": "b@example.com"}]
    assert summary["cisco"]["esa"]["summary"]["complete"] is True


def test_close_after_abort_is_no_evidence(run: Run) -> None:
    """Without 'lost', a later 'ICID close' does not make it a lost connection: idle 300 s -> timeout."""
    events = run.feed(
        conn(6)
        + start(60, 6)
        + lines(
            ("11:06:01", "Message aborted MID 60 Receiving aborted"),
            ("11:06:01", "Message finished MID 60 aborted"),
            ("11:06:01", "ICID 6 close"),
        )
    )
    assert abort_of(events, 60)["category"] == "inbound_timeout"


def test_timeout_just_under_and_over_threshold(run: Run) -> None:
    """Idle 298 s is a lost connection (inferred); idle 300 s is the listener timeout."""
    events = run.feed(
        conn(7) + start(70, 7, "11:00:00") + lines(("11:04:58", "Message aborted MID 70 Receiving aborted"))
    )
    events += run.feed(
        conn(8) + start(80, 8, "11:00:00") + lines(("11:05:00", "Message aborted MID 80 Receiving aborted"))
    )
    under, over = abort_of(events, 70), abort_of(events, 80)
    assert (under["category"], under["confidence"], under["idle_seconds"]) == (
        "connection_lost",
        "inferred",
        298,
    )
    assert (over["category"], over["confidence"], over["idle_seconds"]) == (
        "inbound_timeout",
        "inferred",
        300,
    )


def test_inbound_timeout_option() -> None:
    """A tracker built with a 60 s listener timeout calls a 90 s idle abort a timeout."""
    run = Run(inbound_timeout=60.0)
    events = run.feed(start(71, 7, "11:00:00") + lines(("11:01:30", "Message aborted MID 71 Receiving aborted")))
    assert abort_of(events, 71)["category"] == "inbound_timeout"


def test_sender_quit_and_policy_drop_done_is_not_delivery(run: Run) -> None:
    """'by sender' is sender_quit; a drop then 'finished done' is dropped, not delivered."""
    events = run.feed(
        conn(9)
        + start(90, 9)
        + lines(
            ("11:00:03", "Message aborted MID 90 Receiving aborted by sender"),
            ("11:00:03", "Message finished MID 90 aborted"),
        )
    )
    events += run.feed(
        start(91, 9)
        + lines(
            ("11:00:04", "MID 91 ready 500 bytes from <a@sender.example>"),
            ("11:00:05", "Message aborted MID 91 Dropped by content filter 'no_exe' in the inbound table"),
            ("11:00:05", "Message finished MID 91 done"),
        )
    )
    quit_ = abort_of(events, 90)
    assert quit_["category"] == "sender_quit"
    assert quit_["idle_seconds"] == 2.0 and "11:00:03" in quit_["evidence"]
    drop = abort_of(events, 91)
    assert (drop["category"], drop["filter"], drop["direction"]) == ("policy_drop", "no_exe", "inbound")
    finished = next(e for e in by_action(events, "message-finished") if e["cisco"]["esa"]["mid"] == 91)
    assert finished["event"]["outcome"] == "failure"
    assert finished["cisco"]["esa"]["disposition"] == "dropped"
    assert summary_of(events, 91)["cisco"]["esa"]["recipients"][0]["fate"] == "dropped"


def test_policy_bounce_and_other(run: Run) -> None:
    """Bounced by content filter -> policy_bounce/bounced; unknown text -> other, kept verbatim."""
    events = run.feed(
        start(92, 9)
        + lines(
            ("11:00:05", "Message aborted MID 92 Bounced by content filter 'bounceme' in the outbound table"),
            ("11:00:05", "Message finished MID 92 done"),
        )
    )
    events += run.feed(
        start(93, 9)
        + lines(
            ("11:00:05", "Message aborted MID 93 Injection aborted"),
            ("11:00:05", "Message finished MID 93 aborted"),
        )
    )
    assert summary_of(events, 92)["cisco"]["esa"]["disposition"] == "bounced"
    other = abort_of(events, 93)
    assert (other["category"], other["reason"]) == ("other", "Injection aborted")


def test_abort_without_earlier_lines_is_receiving_aborted(run: Run) -> None:
    """Missing lines: an abort with no earlier line of its MID cannot be told apart."""
    events = run.feed(
        lines(
            ("11:00:00", "ICID 3 lost"),
            ("11:00:00", "Message aborted MID 30 Receiving aborted"),
            ("11:00:00", "Message finished MID 30 aborted"),
        )
    )
    assert abort_of(events, 30)["category"] == "receiving_aborted"
    assert summary_of(events, 30)["cisco"]["esa"]["summary"]["complete"] is False


def test_missing_message_done_line_with_2xx_response(run: Run) -> None:
    """Missing lines: a 2xx Response without its 'Message done' still counts as delivered; 4xx does not."""
    events = run.feed(
        start(32, 3)
        + lines(("11:00:02", "MID 32 RID [0] Response '2.0.0 Ok'"), ("11:00:03", "Message finished MID 32 done"))
    )
    events += run.feed(
        start(33, 3)
        + lines(
            ("11:00:02", "MID 33 RID [0] Response '4.2.1 try later'"),
            ("11:00:03", "Message finished MID 33 done"),
        )
    )
    assert summary_of(events, 32)["cisco"]["esa"]["disposition"] == "delivered"
    assert summary_of(events, 33)["cisco"]["esa"]["disposition"] == "unknown"


def test_missing_abort_line_still_aborted(run: Run) -> None:
    """Missing lines: 'finished ... aborted' without its abort line is a receive abort of unknown cause."""
    events = run.feed(start(31, 3) + lines(("11:00:09", "Message finished MID 31 aborted")))
    esa = summary_of(events, 31)["cisco"]["esa"]
    assert (esa["disposition"], esa["abort"]["category"]) == ("aborted", "receiving_aborted")


def test_interleaved_connections(run: Run) -> None:
    """Two connections interleaved: each abort uses its own ICID's lost line and idle time."""
    events = run.feed(
        conn(1, ip="198.51.100.1")
        + conn(2, ip="198.51.100.2")
        + lines(
            ("11:00:01", "Start MID 10 ICID 1"),
            ("11:00:01", "Start MID 20 ICID 2"),
            ("11:00:02", "MID 10 ICID 1 From: <x@a.example>"),
            ("11:00:02", "MID 20 ICID 2 From: <y@b.example>"),
            ("11:00:10", "ICID 1 lost"),
            ("11:00:10", "Message aborted MID 20 Receiving aborted"),
            ("11:00:10", "Message aborted MID 10 Receiving aborted"),
        )
    )
    lost = abort_of(events, 10)
    other = abort_of(events, 20)
    assert (lost["category"], lost["confidence"]) == ("connection_lost", "logged")
    assert (other["category"], other["confidence"]) == ("connection_lost", "inferred")
    froms = {e["cisco"]["esa"]["mid"]: e["source"]["ip"] for e in by_action(events, "envelope-from")}
    assert froms == {10: "198.51.100.1", 20: "198.51.100.2"}


def test_two_appliances_same_icid() -> None:
    """Lines of two appliances in one stream with the same ICID/MID numbers do not mix."""
    run = Run()
    rows = [
        (
            "esa1",
            "New SMTP ICID 5 interface Data 1 (192.0.2.1) address 198.51.100.1 "
            "reverse dns host one.example verified no",
        ),
        (
            "esa2",
            "New SMTP ICID 5 interface Data 1 (192.0.2.2) address 198.51.100.2 "
            "reverse dns host two.example verified no",
        ),
        ("esa1", "Start MID 50 ICID 5"),
        ("esa2", "Start MID 50 ICID 5"),
        ("esa1", "MID 50 ICID 5 From: <a@one.example>"),
        ("esa2", "MID 50 ICID 5 From: <a@two.example>"),
        ("esa2", "ICID 5 lost"),
        ("esa1", "Message aborted MID 50 Receiving aborted"),
        ("esa2", "Message aborted MID 50 Receiving aborted"),
    ]
    events = run.feed([f"<22>Aug 14 11:00:0{i} {host} mail_logs: Info: {body}" for i, (host, body) in enumerate(rows)])
    aborts = {e["observer"]["hostname"]: e["cisco"]["esa"]["abort"] for e in by_action(events, "message-aborted")}
    assert aborts["esa2"]["confidence"] == "logged"
    assert aborts["esa1"]["confidence"] == "inferred"
    froms = {e["observer"]["hostname"]: e["source"]["domain"] for e in by_action(events, "envelope-from")}
    assert froms == {"esa1": "one.example", "esa2": "two.example"}


def test_enrichment_and_delivery_facts(run: Run) -> None:
    """MID lines gain ICID, source, sender group, SBRS, TLS; delivery lines gain recipients, destination."""
    events = run.feed(
        conn(4)
        + lines(("11:00:00", "ICID 4 TLS success protocol TLSv1.2 cipher AES256-SHA"))
        + lines(
            ("11:00:01", "Start MID 40 ICID 4"),
            ("11:00:01", "MID 40 ICID 4 From: <a@sender.example>"),
            ("11:00:01", "MID 40 ICID 4 RID 0 To: <b@example.com>"),
            ("11:00:01", "MID 40 ICID 4 RID 1 To: <c@example.com>"),
            ("11:00:02", "MID 40 Message-ID '<m@x>'"),
            ("11:00:02", "MID 40 Subject 'hi'"),
            ("11:00:02", "MID 40 ready 900 bytes from <a@sender.example>"),
            (
                "11:00:02",
                "MID 40 matched all recipients for per-recipient policy DEFAULT in the inbound table",
            ),
            ("11:00:03", "MID 40 queued for delivery"),
            ("11:00:03", "New SMTP DCID 400 interface 192.0.2.1 address 203.0.113.99 port 25"),
            ("11:00:03", "Delivery start DCID 400 MID 40 to RID [0, 1]"),
            ("11:00:04", "Message done DCID 400 MID 40 to RID [0]"),
            ("11:00:04", "MID 40 RID [0] Response '2.0.0 Ok'"),
            (
                "11:00:04",
                "Bounced: DCID 400 MID 40 to RID 1 - 5.1.1 - Bad destination email address "
                "('550', ['no such user']) []",
            ),
            ("11:00:05", "Message finished MID 40 done"),
            ("11:00:05", "DCID 400 close"),
            ("11:00:06", "ICID 4 close"),
        )
    )
    subject = by_action(events, "message-subject")[0]
    assert subject["cisco"]["esa"]["icid"] == 4
    assert subject["source"] == {"ip": "203.0.113.5", "domain": "mx.sender.example"}
    assert subject["cisco"]["esa"]["sender_group"] == "SUSPECTLIST"
    assert subject["cisco"]["esa"]["sbrs"] == {"score": -2.1}
    assert subject["tls"]["cipher"] == "AES256-SHA"
    done = by_action(events, "message-delivered")[0]
    assert done["email"]["to"]["address"] == ["b@example.com"]
    assert done["destination"]["ip"] == "203.0.113.99"
    assert done["cisco"]["esa"]["icid"] == 4
    assert "source" not in done and "tls" not in done  # the inbound client is not the delivery's source
    response = by_action(events, "delivery-response")[0]
    assert response["destination"]["ip"] == "203.0.113.99"
    esa = summary_of(events, 40)["cisco"]["esa"]
    assert esa["disposition"] == "partially_delivered"
    fates = {r["address"]: r for r in esa["recipients"]}
    assert fates["b@example.com"]["fate"] == "delivered"
    assert fates["b@example.com"]["response"] == "2.0.0 Ok"
    assert fates["c@example.com"]["fate"] == "bounced"
    assert fates["c@example.com"]["status_code"] == "5.1.1"
    assert fates["c@example.com"]["destination_ip"] == "203.0.113.99"
    assert run.tracker.open_counts() | {"finished_memory": 0} == {
        "icids": 0,
        "mids": 0,
        "dcids": 0,
        "finished_memory": 0,
        "table": 0,
    }


def test_no_enrich_keeps_events_as_parsed() -> None:
    """--no-enrich: categories still derived, but MID lines get no connection facts."""
    run = Run(enrich=False)
    events = run.feed(
        conn(4)
        + start(41, 4)
        + lines(("11:00:09", "ICID 4 lost"), ("11:00:09", "Message aborted MID 41 Receiving aborted"))
    )
    assert "source" not in by_action(events, "envelope-from")[0]
    assert abort_of(events, 41)["category"] == "connection_lost"


def test_shared_objects_are_not_mutated(run: Run) -> None:
    """Enrichment replaces, never mutates, the shared observer and the rules' static values."""
    import copy

    rules = [r for pack in run.pipeline.parser.packs.values() for r in pack.rules]
    statics = copy.deepcopy([(r.event_static, r.statics, r.plan) for r in rules])
    observer = run.stream.observer(None)
    before = dict(observer)
    run.feed(
        conn(4)
        + start(42, 4)
        + lines(
            ("11:00:02", "Delivery start DCID 3 MID 42 to RID [0]"),
            ("11:00:02", "Message done DCID 3 MID 42 to RID [0]"),
            ("11:00:09", "Message aborted MID 42 Dropped by CASE"),
            ("11:00:09", "Message finished MID 42 done"),
        )
    )
    assert run.stream.observer(None) is observer and observer == before
    assert [(r.event_static, r.statics, r.plan) for r in rules] == statics


def test_rewritten_mid_logged_before_the_rewrite_line(run: Run) -> None:
    """Rewritten MID: new-MID lines before the 'rewritten' line; the child carries the envelope on."""
    events = run.feed(conn(4) + start(43, 4) + lines(("11:00:02", "MID 43 Subject 'orig'")))
    events += run.feed(lines(("11:00:03", "MID 44 queued for delivery")))
    events += run.inject(catalog_event(run, "2014-08-14T11:00:03", "message-rewritten", mid=43, child_mid=44))
    events += run.feed(
        lines(
            ("11:00:03", "Message finished MID 43 done"),
            ("11:00:04", "Delivery start DCID 7 MID 44 to RID [0]"),
            ("11:00:04", "Message done DCID 7 MID 44 to RID [0]"),
            ("11:00:05", "Message finished MID 44 done"),
        )
    )
    parent, child = summary_of(events, 43), summary_of(events, 44)
    assert parent["cisco"]["esa"]["summary"]["continued_in"] == [44]
    assert parent["cisco"]["esa"]["related_mids"] == [44]
    assert child["cisco"]["esa"]["related_mids"] == [43]
    assert child["cisco"]["esa"]["disposition"] == "delivered"
    assert child["email"]["subject"] == "orig"
    assert child["email"]["to"]["address"] == ["b@example.com"]
    assert child["source"]["ip"] == "203.0.113.5"
    assert by_action(events, "message-delivered")[0]["email"]["to"]["address"] == ["b@example.com"]


def test_split_moves_recipients(run: Run) -> None:
    """Split MID (real 2014 shape): named recipients move to the child, which numbers its RIDs from 0."""
    events = run.feed(conn(4) + start(45, 4) + lines(("11:00:01", "MID 45 ICID 4 RID 1 To: <c@example.com>")))
    events += run.inject(
        catalog_event(run, "2014-08-14T11:00:02", "message-split", mid=45, child_mid=46)
        | {
            "event": {
                "action": "message-split",
                "dataset": "cisco_esa.mail_logs",
                "reason": "a SL/BL configuration for following recipients: c@example.com",
            }
        }
    )
    events += run.feed(
        lines(
            ("11:00:02", "MID 46 ICID 0 From: <a@sender.example>"),
            ("11:00:02", "MID 46 ICID 0 RID 0 To: <c@example.com>"),
            ("11:00:03", "Message done DCID 8 MID 45 to RID [0]"),
            ("11:00:03", "Message done DCID 8 MID 46 to RID [0]"),
            ("11:00:04", "Message finished MID 45 done"),
            ("11:00:04", "Message finished MID 46 done"),
        )
    )
    assert by_action(events, "message-split")[0]["cisco"]["esa"]["related_mids"] == [45, 46]
    parent, child = summary_of(events, 45)["cisco"]["esa"], summary_of(events, 46)["cisco"]["esa"]
    assert [r["address"] for r in parent["recipients"]] == ["b@example.com"]
    assert [(r["rid"], r["address"]) for r in child["recipients"]] == [(0, "c@example.com")]
    assert (parent["disposition"], child["disposition"]) == ("delivered", "delivered")
    assert parent["summary"]["continued_in"] == [46]
    assert child["icid"] == 4 and child["related_mids"] == [45]


def test_generated_copy_and_quarantine_and_verdicts(run: Run) -> None:
    """Generated copies link to the parent; quarantine and verdicts reach the summary."""
    events = run.feed(conn(4) + start(47, 4))
    events += run.inject(
        catalog_event(
            run,
            "2014-08-14T11:00:02",
            "antispam-verdict",
            mid=47,
            verdict={"category": "antispam", "engine": "CASE", "result": "suspect", "interim": True},
        )
    )
    events += run.inject(
        catalog_event(
            run,
            "2014-08-14T11:00:02",
            "antispam-verdict",
            mid=47,
            verdict={"category": "antispam", "engine": "CASE", "result": "positive"},
        )
    )
    events += run.inject(catalog_event(run, "2014-08-14T11:00:02", "message-generated", mid=48, parent_mid=47))
    events += run.inject(
        catalog_event(run, "2014-08-14T11:00:03", "message-quarantined", mid=47, quarantine={"name": "Policy"})
    )
    events += run.feed(lines(("11:00:04", "Message finished MID 47 done")))
    events += run.flush()
    parent = summary_of(events, 47)
    esa = parent["cisco"]["esa"]
    assert esa["disposition"] == "quarantined"
    assert esa["summary"]["quarantine"] == "Policy"
    assert esa["verdicts"] == {"antispam": "positive"}
    assert esa["related_mids"] == [48]
    copy = summary_of(events, 48)["cisco"]["esa"]
    assert copy["related_mids"] == [47]
    assert copy["summary"]["end_reason"] == "end_of_input"


def test_eviction_by_max_open_gives_incomplete_summaries() -> None:
    """With --max-open 3, older open messages are evicted with an incomplete summary each."""
    run = Run(max_open=3)
    events = run.feed([P.format(f"11:00:{i:02d}") + f"Start MID {i} ICID 0" for i in range(10)])
    evicted = by_action(events, "message-summary")
    assert [e["cisco"]["esa"]["mid"] for e in evicted] == list(range(7))
    assert all(
        e["cisco"]["esa"]["summary"] == {"complete": False, "end_reason": "max_open", "lines": 1} for e in evicted
    )
    assert run.tracker.open_counts()["mids"] == 3
    rest = run.flush()
    assert [e["cisco"]["esa"]["summary"]["end_reason"] for e in rest] == ["end_of_input"] * 3


def test_eviction_by_ttl_uses_log_time() -> None:
    """A message not seen for longer than --session-ttl of log time is evicted; a busy one is kept."""
    run = Run(session_ttl=600.0)
    events = run.feed(
        lines(
            ("10:00:00", "Start MID 1 ICID 0"),
            ("10:00:00", "Start MID 2 ICID 0"),
            ("10:09:00", "MID 2 queued for delivery"),
            ("10:15:00", "Start MID 3 ICID 0"),
        )
    )
    assert [e["cisco"]["esa"]["mid"] for e in by_action(events, "message-summary")] == [1]
    assert by_action(events, "message-summary")[0]["cisco"]["esa"]["summary"]["end_reason"] == "ttl"
    assert sorted(run.tracker.store.appliances["stream:test.log"].mids) == [2, 3]


def test_finished_messages_leave_no_state() -> None:
    """After many finished messages only the bounded finished-MID memory remains."""
    run = Run(summaries=False)
    for n in range(1, 5001):
        run.feed(
            conn(n)
            + start(n, n)
            + lines(("11:00:02", f"Message finished MID {n} done"), ("11:00:02", f"ICID {n} close"))
        )
    counts = run.tracker.open_counts()
    assert (counts["icids"], counts["mids"], counts["dcids"], counts["table"]) == (0, 0, 0, 0)
    assert counts["finished_memory"] <= 4096
    late = run.feed(lines(("11:00:03", "MID 5000 RID [0] Response 'late'")))
    assert len(late) == 1 and run.tracker.open_counts()["mids"] == 0


def test_summaries_validate_against_schema(run: Run) -> None:
    """Every summary (and every enriched line event) validates against the event schema."""
    events = run.feed(
        conn(4)
        + start(49, 4)
        + lines(
            ("11:00:02", "MID 49 ready 10 bytes from <a@sender.example>"),
            ("11:00:03", "Delivery start DCID 9 MID 49 to RID [0]"),
            ("11:00:03", "Message done DCID 9 MID 49 to RID [0]"),
            ("11:00:04", "Message finished MID 49 done"),
            ("11:00:05", "Message aborted MID 51 Dropped by CASE"),
            ("11:00:05", "Message finished MID 51 done"),
        )
    )
    events += run.feed(start(52, 4)) + run.flush()
    assert len(by_action(events, "message-summary")) == 3
    check = validator()
    for event in events:
        errors = [e.message for e in check.iter_errors(event)]
        assert not errors, (get_field(event, "event.action"), errors)


def test_stateless_stage_classifies_from_one_line() -> None:
    """The one-line classifier never refines 'Receiving aborted'."""
    from esalog.parsers.record import Record
    from esalog.tracking.tracker import StatelessAborts

    event = {
        "event": {"action": "message-aborted", "dataset": "cisco_esa.mail_logs"},
        "cisco": {"esa": {"abort": {"reason": "Receiving aborted"}}},
    }
    StatelessAborts()(Record.of_document(event))
    assert event["cisco"]["esa"]["abort"]["category"] == "receiving_aborted"
    assert list(Tracker().flush()) == []


def test_deferral_release_rpc_and_deleted_fates(run: Run) -> None:
    """Catalog kinds: deferred, released then delivered, spam quarantine by RPC, deleted, attachments."""
    events = run.feed(start(60, 0) + start(61, 0) + start(62, 0) + start(63, 0))
    inject = run.inject
    events += inject(
        catalog_event(
            run,
            "2014-08-14T11:00:02",
            "message-attachment",
            mid=60,
            email={"attachments": [{"file": {"name": "a.pdf"}}]},
        )
    )
    events += inject(catalog_event(run, "2014-08-14T11:00:03", "delivery-deferred", mid=60, rid=[0]))
    events += inject(
        catalog_event(run, "2014-08-14T11:00:03", "message-quarantined", mid=61, quarantine={"name": "Outbreak"})
    )
    events += inject(catalog_event(run, "2014-08-14T11:00:04", "message-released", mid=61))
    events += run.feed(lines(("11:00:05", "Message done DCID 2 MID 61 to RID [0]")))
    events += inject(catalog_event(run, "2014-08-14T11:00:05", "rpc-delivery-started", mid=62, rcid=5))
    events += inject(catalog_event(run, "2014-08-14T11:00:05", "rpc-delivered", mid=62, rcid=5))
    events += inject(catalog_event(run, "2014-08-14T11:00:05", "message-deleted", mid=63, rid=0))
    events += run.feed([P.format("11:00:06") + f"Message finished MID {m} done" for m in (61, 62, 63)])
    events += run.flush()
    deferred = summary_of(events, 60)
    assert deferred["cisco"]["esa"]["disposition"] == "deferred"
    assert deferred["cisco"]["esa"]["summary"]["complete"] is False
    assert deferred["email"]["attachments"] == [{"file": {"name": "a.pdf"}}]
    assert summary_of(events, 61)["cisco"]["esa"]["disposition"] == "delivered"
    assert summary_of(events, 62)["cisco"]["esa"]["disposition"] == "quarantined"
    assert summary_of(events, 63)["cisco"]["esa"]["disposition"] == "dropped"


def test_odd_field_shapes_never_crash(run: Run) -> None:
    """A field of an unexpected shape (a user pack) is not a fact: skipped, never fatal; the next lines
    are tracked as usual."""
    odd = catalog_event(run, "2014-08-14T11:00:02", "envelope-to", mid="64", rid=["x"])
    odd["email"]["to"] = "not-a-dict"
    events = run.inject(odd)
    assert events == [odd] and odd["email"]["to"] == "not-a-dict"
    assert 64 not in run.tracker.store.appliances["stream:test.log"].mids
    events = run.feed(start(65, 0) + lines(("11:00:03", "Message finished MID 65 done")))
    assert summary_of(events, 65)["cisco"]["esa"]["summary"]["complete"] is True


def test_lost_counts_after_the_connection_was_evicted() -> None:
    """Under --max-open pressure the connection record may go first; a later 'lost' still decides."""
    run = Run(max_open=3)
    events = run.feed(conn(5) + start(50, 5) + start(51, 9) + start(52, 9))  # conn 5 evicted here
    assert 5 not in run.tracker.store.appliances["stream:test.log"].icids
    events += run.feed(
        lines(
            ("11:00:02", "MID 50 ICID 5 RID 1 To: <c@example.com>"),
            ("11:00:05", "ICID 5 lost"),
            ("11:00:05", "Message aborted MID 50 Receiving aborted"),
        )
    )
    abort = abort_of(events, 50)
    assert (abort["category"], abort["confidence"]) == ("connection_lost", "logged")


def test_message_outlives_its_connection(run: Run) -> None:
    """After 'ICID n close' the connection record is gone, but the message's later lines keep its facts."""
    events = run.feed(
        conn(4) + start(66, 4) + lines(("11:00:02", "ICID 4 close"), ("11:30:00", "MID 66 queued for delivery"))
    )
    assert 4 not in run.tracker.store.appliances["stream:test.log"].icids
    queued = by_action(events, "message-queued")[0]
    assert queued["source"]["ip"] == "203.0.113.5"
    assert queued["cisco"]["esa"]["sender_group"] == "SUSPECTLIST"


def test_per_message_lists_are_bounded(run: Run) -> None:
    """A log naming thousands of attachments or copies for one MID cannot grow its state without bound."""
    from esalog.tracking.context import MAX_LIST

    run.feed(start(67, 0))
    for n in range(MAX_LIST + 50):
        run.inject(
            catalog_event(
                run,
                "2014-08-14T11:00:02",
                "message-attachment",
                mid=67,
                email={"attachments": [{"file": {"name": f"{n}.pdf"}}]},
            )
        )
        run.inject(catalog_event(run, "2014-08-14T11:00:02", "message-generated", mid=10_000 + n, parent_mid=67))
    msg = run.tracker.store.appliances["stream:test.log"].mids[67]
    assert len(msg.attachments or ()) == MAX_LIST and len(msg.children or ()) == MAX_LIST
