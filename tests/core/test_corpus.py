"""Every line of every mail-log file in the shared corpus is read as an ESA line."""

from __future__ import annotations

import orjson

from tests.conftest import run_cli

MAIL_LOG_FILES = [
    "seed/connection_lost.log", "seed/inbound_timeout.log", "seed/sender_quit.log",
    "peers/splunk/cribl_esa_mailtext_sample_2014.log", "peers/splunk/sc4s_test_cisco_esa_textmail.log",
    "peers/elastic/sample_logs/mail_logs.@123456789.s", "peers/elastic/test_pipeline/test-common-text-mail.log",
]


def test_no_pipeline_error_in_corpus_mail_logs(corpus):
    """No mail-log line of the corpus is a pipeline_error; each line gives one event."""
    for name in MAIL_LOG_FILES:
        path = corpus / name
        lines = path.read_bytes().splitlines()
        proc = run_cli("parse", "--quiet", str(path))
        events = [orjson.loads(x) for x in proc.stdout.splitlines()]
        assert len(events) == len(lines), name
        # a blank line is not a log line: it still gets its (pipeline_error "empty") event, counted above
        errors = [e["event"]["original"] for e in events
                  if e["event"]["kind"] == "pipeline_error" and e["error"]["type"] != "empty"]
        assert errors == [], name


def test_seed_sequences_keep_ids(corpus):
    """The seed abort sequences carry the MID/ICID on every line that names them."""
    proc = run_cli("parse", "--quiet", str(corpus / "seed/connection_lost.log"))
    events = [orjson.loads(x) for x in proc.stdout.splitlines()]
    actions = [e["event"]["action"] for e in events]
    assert actions == ["connection-opened", "sender-group-matched", "message-started", "envelope-from",
                       "envelope-to", "connection-lost", "message-aborted", "message-finished", "connection-closed"]
    assert {e["cisco"]["esa"].get("mid") for e in events[2:5]} == {1404}
