"""The listener's worker parses the messages it takes from the queue together, those of one sender in a row
at once: the events keep the order the messages came in, and each sender keeps its own parser state."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from esalog.connectors.config import DeliveryConfig, FileConfig, SinkChoice
from esalog.integrations.listener import DriverSink, ListenConfig, Listener
from esalog.pipeline import PipelineConfig, build_pipeline
from esalog.testing import read_ndjson
from esalog.tracking.config import TrackingConfig

# sender A says its clock is 6 h behind UTC; sender B never does, so its stamps stay as logged
A_LINES = [
    b"<22>Aug 14 11:04:31 esa1 mail_logs: Info: Time offset from UTC: -21600 seconds",
    b"<22>Aug 14 11:04:32 esa1 mail_logs: Info: Start MID 1 ICID 10",
    b"<22>Aug 14 11:04:33 esa1 mail_logs: Info: MID 1 ready 120 bytes from <a@one.example>",
    b"<22>Aug 14 11:04:34 esa1 mail_logs: Info: MID 1 ICID 10 RID 0 To: <b@two.example>",
]
B_LINES = [
    b"<22>Aug 14 11:04:31 esa2 mail_logs: Info: Start MID 1 ICID 20",
    b"<22>Aug 14 11:04:32 esa2 mail_logs: Info: MID 1 ready 130 bytes from <c@three.example>",
]


@pytest.mark.parametrize("stateless", [False, True], ids=["stateful", "stateless"])
def test_interleaved_senders_keep_their_order_and_their_own_state(tmp_path: Path, stateless: bool) -> None:
    out = tmp_path / "events.ndjson"
    pipeline = build_pipeline(PipelineConfig(tracking=TrackingConfig(stateless=stateless)))
    sink = DriverSink(SinkChoice(to="file", file=FileConfig(out=str(out))), DeliveryConfig())
    loop = asyncio.new_event_loop()
    try:
        listener = Listener(pipeline, sink, ListenConfig(tcp=("127.0.0.1:0",)), loop)
        a, b = A_LINES, B_LINES
        order = [("10.0.0.1", a[0]), ("10.0.0.1", a[1]), ("10.0.0.2", b[0]), ("10.0.0.1", a[2]),
                 ("10.0.0.2", b[1]), ("10.0.0.1", a[3])]
        listener.handle([(peer, line + b"\n", ()) for peer, line in order[:3]])
        listener.handle([(peer, line, ()) for peer, line in order[3:]])
        sink.close()
    finally:
        loop.close()
    events = read_ndjson(out.read_bytes())
    assert [e["event"]["original"].encode() for e in events] == [line for _, line in order]
    stamps = {e["event"]["original"].encode(): e["@timestamp"] for e in events}
    assert stamps[a[1]].endswith("T17:04:32.000Z")  # A's offset applies to A's lines only
    assert stamps[b[0]].endswith("T11:04:31.000Z")
    if not stateless:  # one tracker for both: each appliance's MID 1 is its own message, enriched with its own ICID
        from_a, from_b = events[3], events[4]
        assert from_a["cisco"]["esa"]["icid"] == 10 and from_b["cisco"]["esa"]["icid"] == 20
