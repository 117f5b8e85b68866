"""Tracker state saved and loaded: a run cut anywhere and resumed from its saved state gives byte-for-byte
the events of an uninterrupted run (abort categories, enrichment, summaries, retrospective verdicts)."""

from __future__ import annotations

import json
import random

import pytest

from esalog.encode import encode_lines
from esalog.errors import ConfigError
from esalog.parsers.config import ParseConfig
from esalog.parsers.parser import Stream
from esalog.pipeline import Pipeline, PipelineConfig, build_pipeline
from esalog.testing.generate import write_corpus
from esalog.tracking.config import TrackingConfig
from esalog.tracking.persist import STATE_VERSION, dump_state, load_state
from esalog.tracking.tracker import Tracker

CONFIG = PipelineConfig(ParseConfig(year=2026), TrackingConfig(summaries=True, max_open=500))


def _lines(tmp_path) -> list[str]:  # type: ignore[no-untyped-def]
    path = tmp_path / "mail.current"
    write_corpus(path, 6000, "file", 5)
    return path.read_text().splitlines()


def _run(pipeline: Pipeline, stream: Stream, lines: list[str]) -> bytes:
    return encode_lines(pipeline.process_lines(lines, stream))


@pytest.mark.parametrize("cut", random.Random(3).sample(range(1, 6000), 8))
def test_resumed_tracker_gives_the_same_events(cut: int, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Cut at random points: state dumped (through JSON), loaded into a new tracker, the rest read."""
    lines = _lines(tmp_path)
    whole = build_pipeline(CONFIG)
    stream = whole.open_stream("mail.current")
    _run(whole, stream, lines[:cut])
    tail_uncut = _run(whole, stream, lines[cut:]) + encode_lines(whole.flush())

    first = build_pipeline(CONFIG)
    _run(first, first.open_stream("mail.current"), lines[:cut])
    tracker = first.stages[0]
    assert isinstance(tracker, Tracker)
    saved = json.loads(json.dumps(dump_state(tracker)))  # through JSON, as in the checkpoint file

    resumed = build_pipeline(CONFIG)
    resumed_tracker = resumed.stages[0]
    assert isinstance(resumed_tracker, Tracker)
    load_state(resumed_tracker, saved)
    # the header lines are replayed by the source on resume; here the stream starts fresh, as the
    # generated log has its header lines at the top only
    stream = resumed.open_stream("mail.current")
    for line in lines[:cut][:3]:
        resumed.parser.parse(line, stream)
    tail_resumed = encode_lines(resumed.process_lines(lines[cut:], stream)) + encode_lines(resumed.flush())
    assert tail_resumed == tail_uncut


def test_a_state_of_another_version_is_refused() -> None:
    tracker = Tracker()
    with pytest.raises(ConfigError, match="version"):
        load_state(tracker, {"version": STATE_VERSION + 1})
    with pytest.raises(ConfigError, match="not readable"):
        load_state(tracker, {"version": STATE_VERSION, "appliances": {}})


def test_retrospective_verdict_index_survives_a_restart() -> None:
    """A message delivered before the restart is still named by a verdict read after it."""
    from tests.tracking.test_verdicts import HEAD, message, reputation, retrospective

    before = build_pipeline(CONFIG)
    stream = before.open_stream("mixed.log")
    before.process_lines((HEAD + message(7781) + reputation(7781)).splitlines(), stream)
    tracker = before.stages[0]
    assert isinstance(tracker, Tracker)
    after = build_pipeline(CONFIG)
    after_tracker = after.stages[0]
    assert isinstance(after_tracker, Tracker)
    load_state(after_tracker, json.loads(json.dumps(dump_state(tracker))))
    events = after.process_lines(retrospective().splitlines(), after.open_stream("mixed.log"))
    assert [r.get("cisco.esa.mid") for r in events if r.action == "retrospective-verdict-message"] == [7781]
