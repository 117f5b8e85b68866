"""``esalog ship`` in a subprocess against the fakes: zero loss under every fault, honest exit codes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from esalog.testing import FakeElasticsearch, FakeHEC, Faults, read_ndjson
from tests.conftest import run_cli
from tests.connectors.conftest import write_log

TOKEN = "5b2d7c1e-0f4a-4e8b-9c3d-a1b2c3d4e5f6"
FAST_RETRY = ("--retry-initial", "0.05", "--retry-max", "0.5", "--stats")


def stats_of(stderr: bytes) -> dict[str, Any]:
    """The --stats JSON line."""
    line = [x for x in stderr.decode().splitlines() if x.startswith('{"sink"')][-1]
    return orjson.loads(line)


def input_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def originals(events: list[dict[str, Any]]) -> list[str]:
    """The raw line of every line event (summaries added by stages carry none)."""
    return [e["event"]["original"] for e in events if "original" in e.get("event", {})]


# ------------------------------------------------------------------------------------- stdout / file


def test_stdout_sink_one_line_per_event(small_log: Path) -> None:
    """Every input line comes out once, in order; the stats agree."""
    result = run_cli("ship", "--to", "stdout", "--stats", str(small_log))
    assert 0 == result.returncode, result.stderr
    events = read_ndjson(result.stdout)
    assert input_lines(small_log) == originals(events)
    stats = stats_of(result.stderr)
    assert (len(events), len(events), 0) == (stats["received"], stats["acknowledged"], stats["failed"])


def test_file_sink_rotates_by_size(small_log: Path, tmp_path: Path) -> None:
    """--rotate-bytes keeps each file near the limit; together the files hold every line once."""
    out = tmp_path / "out" / "events.ndjson"
    out.parent.mkdir()
    result = run_cli(
        "ship",
        "--to",
        "file",
        "--out",
        str(out),
        "--rotate-bytes",
        "40000",
        "--batch-events",
        "20",
        str(small_log),
    )
    assert 0 == result.returncode, result.stderr
    files = sorted(out.parent.iterdir())
    assert len(files) > 3
    assert all(f.stat().st_size <= 40000 + 20 * 1500 for f in files)
    events = [e for f in files for e in read_ndjson(f)]
    assert sorted(input_lines(small_log)) == sorted(originals(events))


def test_file_sink_needs_out() -> None:
    """A missing --out is a usage error (exit 2)."""
    assert 2 == run_cli("ship", "--to", "file", input=b"").returncode


# ---------------------------------------------------------------------------------------------- HEC

HEC_FAULTS: dict[str, Callable[[Faults], Any]] = {
    "burst_of_503": lambda f: f.status(503, times=4, after=1),
    "429_retry_after": lambda f: f.status(429, times=2, retry_after=1),
    "connection_reset": lambda f: f.reset(times=2, after=1),
    "down_then_back": lambda f: f.down(1.5, after=1),
    "slow_replies": lambda f: f.slow(0.3, times=3),
    "slower_than_timeout": lambda f: f.slow(1.5, times=1, after=1),
}


#: how ship reads: the records the stages enrich, or (--stateless) the compiled core's encoded events,
#: which the HEC sink frames a block at a time
READINGS = pytest.mark.parametrize("reading", [(), ("--stateless",)], ids=["tracked", "stateless"])


@READINGS
@pytest.mark.parametrize("fault", sorted(HEC_FAULTS))
def test_hec_zero_loss_under_fault(fault: str, reading: tuple[str, ...], small_log: Path) -> None:
    """N lines in, every line indexed at least once (duplicates only from a reply lost to a timeout)."""
    with FakeHEC(token=TOKEN) as hec:
        HEC_FAULTS[fault](hec.faults)
        result = run_cli(
            "ship",
            *reading,
            "--to",
            "hec",
            "--hec-url",
            hec.url,
            "--batch-events",
            "50",
            "--timeout",
            "1",
            *FAST_RETRY,
            str(small_log),
            env={"ESALOG_HEC_TOKEN": TOKEN},
        )
        assert 0 == result.returncode, result.stderr
        assert hec.faults.applied, "the fault was not triggered"
        got = Counter(originals(hec.event_payloads()))
    lines = input_lines(small_log)
    assert set(lines) == set(got)
    duplicates = sum(got.values()) - len(lines)
    print(f"{fault}: {len(lines)} lines, {sum(got.values())} events indexed, {duplicates} duplicates")
    if fault in ("slower_than_timeout", "down_then_back"):
        # a reply lost after the server indexed the batch (timeout, or a concurrent request cut when the
        # server went down): that batch comes again; at most one per request in flight (--concurrency 2)
        assert duplicates <= 2 * 50
    else:
        assert 0 == duplicates
    stats = stats_of(result.stderr)
    assert (len(lines), 0, 0) == (stats["acknowledged"], stats["failed"], stats["dead_lettered"])


@READINGS
def test_hec_bad_event_is_dead_lettered_the_rest_indexed(reading: tuple[str, ...], small_log: Path,
                                                         tmp_path: Path) -> None:
    """One bad event: dead letter with HEC's reason, every other line indexed exactly once, exit 1; the
    checkpoint moves past the dead-lettered line (it is done with) to the end of the file."""
    dead = tmp_path / "dead.ndjson"
    checkpoint = tmp_path / "ship.ckpt"
    bad_line = input_lines(small_log)[10]
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.bad_event(orjson.dumps(bad_line)[1:-1])
        result = run_cli(
            "ship",
            *reading,
            "--checkpoint",
            str(checkpoint),
            "--to",
            "hec",
            "--hec-url",
            hec.url,
            "--dead-letter",
            str(dead),
            *FAST_RETRY,
            str(small_log),
            env={"ESALOG_HEC_TOKEN": TOKEN},
        )
        got = Counter(originals(hec.event_payloads()))
    assert 1 == result.returncode
    assert sorted(set(input_lines(small_log)) - {bad_line}) == sorted(got) and max(got.values()) == 1
    letters = [orjson.loads(x) for x in dead.read_bytes().splitlines()]
    assert [bad_line] == [x["event"]["event"]["event"]["original"] for x in letters]  # the HEC envelope
    assert '"invalid-event-number":' in letters[0]["reason"] and "rejected" == letters[0]["outcome"]
    assert [small_log.stat().st_size] == [f["offset"] for f in orjson.loads(checkpoint.read_bytes())["files"]]


def test_hec_token_never_printed_and_bad_token_stops(small_log: Path, tmp_path: Path) -> None:
    """A refused token stops at once with a message about the token; the token appears nowhere."""
    secret = "deadbeef-dead-beef-dead-beefdeadbeef"
    with FakeHEC(token=TOKEN) as hec:
        result = run_cli(
            "ship",
            "--to",
            "hec",
            "--hec-url",
            hec.url,
            *FAST_RETRY,
            str(small_log),
            env={"ESALOG_HEC_TOKEN": secret},
        )
        token_file = tmp_path / "token"
        token_file.write_text(secret + "\n")
        from_file = run_cli(
            "ship",
            "--to",
            "hec",
            "--hec-url",
            hec.url,
            "--hec-token-file",
            str(token_file),
            "--dead-letter",
            str(tmp_path / "dead"),
            str(small_log),
        )
    for run in (result, from_file):
        assert 1 == run.returncode
        assert b"ESALOG_HEC_TOKEN" in run.stderr and b"403" in run.stderr
        assert secret.encode() not in run.stdout + run.stderr
    assert secret.encode() not in (tmp_path / "dead").read_bytes()
    stats = stats_of(result.stderr)
    assert (0, 400, 0) == (stats["retried"], stats["failed"], stats["acknowledged"])  # refused at once
    assert [] == hec.events


def test_hec_token_cannot_be_given_on_the_command_line() -> None:
    """There is no option carrying the token itself; without one the run is a usage error."""
    help_text = run_cli("ship", "--help").stdout.decode()
    assert "--hec-token-file" in help_text and "--hec-token " not in help_text
    result = run_cli(
        "ship", "--to", "hec", "--hec-url", "http://127.0.0.1:9", input=b"", env={"ESALOG_HEC_TOKEN": ""}
    )
    assert 2 == result.returncode and b"ESALOG_HEC_TOKEN" in result.stderr


def test_hec_round_robin_and_failover(small_log: Path) -> None:
    """Two healthy endpoints share the batches; with one down, the other takes everything."""
    with FakeHEC(token=TOKEN) as first, FakeHEC(token=TOKEN) as second:
        result = run_cli(
            "ship",
            "--to",
            "hec",
            "--hec-url",
            first.url,
            "--hec-url",
            second.url,
            "--batch-events",
            "40",
            *FAST_RETRY,
            str(small_log),
            env={"ESALOG_HEC_TOKEN": TOKEN},
        )
        assert 0 == result.returncode, result.stderr
        assert first.events and second.events
        assert sorted(input_lines(small_log)) == sorted(
            originals(first.event_payloads() + second.event_payloads())
        )
    with FakeHEC(token=TOKEN) as alive:
        dead = FakeHEC(token=TOKEN).start()
        dead_url = dead.url
        dead.stop()
        result = run_cli(
            "ship",
            "--to",
            "hec",
            "--hec-url",
            dead_url,
            "--hec-url",
            alive.url,
            "--batch-events",
            "40",
            *FAST_RETRY,
            str(small_log),
            env={"ESALOG_HEC_TOKEN": TOKEN},
        )
        assert 0 == result.returncode, result.stderr
        assert b"not healthy" in result.stderr
        assert sorted(input_lines(small_log)) == sorted(originals(alive.event_payloads()))


def test_hec_ack_resends_what_is_never_acknowledged(small_log: Path) -> None:
    """--hec-ack: a batch whose ack never comes is resent after the ack timeout; nothing is missing."""
    with FakeHEC(token=TOKEN, ack=True) as hec:
        hec.faults.lose_acks(times=1, after=1)
        result = run_cli(
            "ship",
            "--to",
            "hec",
            "--hec-url",
            hec.url,
            "--hec-ack",
            "--hec-ack-interval",
            "0.1",
            "--hec-ack-timeout",
            "1",
            "--batch-events",
            "100",
            *FAST_RETRY,
            str(small_log),
            env={"ESALOG_HEC_TOKEN": TOKEN},
        )
        assert 0 == result.returncode, result.stderr
        got = Counter(originals(hec.event_payloads()))
    assert ["lose_acks"] == hec.faults.applied
    assert set(input_lines(small_log)) == set(got)
    stats = stats_of(result.stderr)
    assert 100 == stats["retried"] and len(got) == stats["acknowledged"]


def test_hec_raw_fields_mode(small_log: Path) -> None:
    """raw-fields: the original line as event, sourcetype cisco:esa:textmail, our fields as indexed fields."""
    with FakeHEC(token=TOKEN) as hec:
        result = run_cli(
            "ship",
            "--to",
            "hec",
            "--hec-url",
            hec.url,
            "--hec-mode",
            "raw-fields",
            "--index",
            "email",
            str(small_log),
            env={"ESALOG_HEC_TOKEN": TOKEN},
        )
        assert 0 == result.returncode, result.stderr
        envelopes = list(hec.events)
    line_envelopes = [e for e in envelopes if "event.original" not in e["fields"]]
    assert input_lines(small_log) == [e["event"] for e in line_envelopes][: len(input_lines(small_log))]
    assert {"cisco:esa:textmail"} == {e["sourcetype"] for e in envelopes}
    assert "4" == line_envelopes[18]["fields"]["cisco.esa.mid"]


# ----------------------------------------------------------------------------------------------- ES

ES_FAULTS: dict[str, Callable[[Faults], Any]] = {
    "burst_of_503": lambda f: f.status(503, times=4, after=1),
    "429_retry_after": lambda f: f.status(429, times=2, retry_after=1),
    "item_429": lambda f: f.item_status(429, times=3, every=3),
    "connection_reset": lambda f: f.reset(times=2, after=1),
    "down_then_back": lambda f: f.down(1.5, after=1),
    "slower_than_timeout": lambda f: f.slow(1.5, times=1, after=1),
}


@pytest.mark.parametrize("fault", sorted(ES_FAULTS))
def test_es_zero_loss_under_fault(fault: str, small_log: Path) -> None:
    """N lines in, N distinct _id stored, each line once (deterministic ids absorb resends)."""
    with FakeElasticsearch() as es:
        ES_FAULTS[fault](es.faults)
        result = run_cli(
            "ship",
            "--to",
            "es",
            "--es-url",
            es.url,
            "--es-index",
            "esa",
            "--batch-events",
            "50",
            "--timeout",
            "1",
            *FAST_RETRY,
            str(small_log),
        )
        assert 0 == result.returncode, result.stderr
        assert es.faults.applied, "the fault was not triggered"
        docs = list(es.docs["esa"].values())
    lines = input_lines(small_log)
    assert sorted(lines) == sorted(originals(docs))
    assert len(lines) == len(docs)


def test_es_data_stream_setup_auth_and_dead_letter(small_log: Path, tmp_path: Path) -> None:
    """--es-setup installs the template and data stream; basic auth from the environment; a mapping error
    goes to the dead letter with ES's reason while every other line is stored."""
    dead = tmp_path / "dead.ndjson"
    bad_line = input_lines(small_log)[7]
    with FakeElasticsearch(user="shipper", password="s3cret-pw") as es:
        es.faults.bad_event(orjson.dumps(bad_line)[1:-1])
        result = run_cli(
            "ship",
            "--to",
            "es",
            "--es-url",
            es.url,
            "--es-data-stream",
            "logs-esa-default",
            "--es-setup",
            "--dead-letter",
            str(dead),
            *FAST_RETRY,
            str(small_log),
            env={"ESALOG_ES_USER": "shipper", "ESALOG_ES_PASSWORD": "s3cret-pw"},
        )
        assert "esalog" in es.templates and "logs-esa-default" in es.data_streams
        stored = originals(list(es.docs["logs-esa-default"].values()))
    assert 1 == result.returncode
    assert b"s3cret-pw" not in result.stdout + result.stderr
    assert sorted(set(input_lines(small_log)) - {bad_line}) == sorted(stored)
    letters = [orjson.loads(x) for x in dead.read_bytes().splitlines()]
    assert [bad_line] == [x["event"]["event"]["original"] for x in letters]
    assert "mapper_parsing_exception" in letters[0]["reason"]


def test_es_wrong_credentials_stop(small_log: Path) -> None:
    """401 stops the run with a hint about the credential variables (exit 1, nothing stored)."""
    with FakeElasticsearch(api_key="right") as es:
        result = run_cli(
            "ship", "--to", "es", "--es-url", es.url, str(small_log), env={"ESALOG_ES_API_KEY": "wrong"}
        )
        assert 1 == result.returncode
        assert b"ESALOG_ES_API_KEY" in result.stderr
        assert {} == es.docs


def test_es_template_command() -> None:
    """es-template prints a template with a data_stream when asked, mapping the MID as long."""
    result = run_cli("es-template", "--es-data-stream", "logs-esa-default")
    assert 0 == result.returncode
    template = orjson.loads(result.stdout)
    assert {} == template["data_stream"]
    esa = template["template"]["mappings"]["properties"]["cisco"]["properties"]["esa"]["properties"]
    assert "long" == esa["mid"]["type"]


def test_stdin_input_gets_pipe_ids() -> None:
    """Reading a pipe works too; ids come from a hash of the line (same line text + number -> same id)."""
    data = "".join(f"Mon Nov  2 08:00:01 2026 Info: Start MID {n} ICID 1\n" for n in range(30)).encode()
    with FakeElasticsearch() as es:
        first = run_cli("ship", "--to", "es", "--es-url", es.url, "-", input=data)
        again = run_cli("ship", "--to", "es", "--es-url", es.url, "-", input=data)
        assert (0, 0) == (first.returncode, again.returncode)
        assert 30 == es.count("esalog")


def test_insecure_warns(small_log: Path) -> None:
    """--insecure is allowed but says loudly that certificates are not verified."""
    with FakeHEC(token=TOKEN) as hec:
        result = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--insecure", str(small_log),
                         env={"ESALOG_HEC_TOKEN": TOKEN})
    assert 0 == result.returncode
    assert b"warning: --insecure: TLS certificates are NOT verified" in result.stderr


def test_sigterm_flushes_what_was_read(tmp_path: Path) -> None:
    """SIGTERM mid-run: reading stops, every event already read is delivered, the exit code says the
    input was not finished (1), and the counters add up."""
    log = write_log(tmp_path / "big.log", 20_000)
    with FakeElasticsearch() as es:
        es.faults.slow(0.2, times=10_000)
        process = subprocess.Popen([sys.executable, "-m", "esalog", "ship", "--to", "es", "--es-url", es.url,
                                    "--batch-events", "200", "--stats", str(log)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while es.count("esalog") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        stored = es.count("esalog")
    stats = stats_of(stderr)
    assert 1 == process.returncode and b"interrupted before the end of the input" in stderr
    assert stats["interrupted"] and 0 < stats["received"] < 20_000
    assert (stats["received"], 0) == (stats["acknowledged"], stats["failed"])
    assert stats["received"] == stored


TLS = Path(__file__).parent / "tls"


def test_tls_is_verified_by_default(small_log: Path) -> None:
    """HTTPS with an unknown CA stops with a hint; --ca-bundle makes it work; --insecure warns."""
    with FakeHEC(token=TOKEN, tls=(str(TLS / "cert.pem"), str(TLS / "key.pem"))) as hec:
        assert hec.url.startswith("https://")
        refused = run_cli("ship", "--to", "hec", "--hec-url", hec.url, str(small_log),
                          env={"ESALOG_HEC_TOKEN": TOKEN})
        assert 1 == refused.returncode and b"--ca-bundle" in refused.stderr
        assert [] == hec.events
        trusted = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--ca-bundle", str(TLS / "cert.pem"),
                          str(small_log), env={"ESALOG_HEC_TOKEN": TOKEN})
        assert 0 == trusted.returncode, trusted.stderr
        assert b"warning" not in trusted.stderr
        insecure = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--insecure", str(small_log),
                           env={"ESALOG_HEC_TOKEN": TOKEN})
        assert 0 == insecure.returncode and b"NOT verified" in insecure.stderr
        assert 2 * len(input_lines(small_log)) == len(hec.events)


@pytest.mark.parametrize("to", ["hec", "es"])
def test_certificate_for_another_host_is_refused_and_said_so(small_log: Path, to: str) -> None:
    """A trusted certificate (its CA given) that names another host: verification stays on, nothing is
    sent, and the message names the host the certificate is not valid for and what to change; the
    advice to give the CA (already given) would send the user the wrong way."""
    tls = (str(TLS / "other-cert.pem"), str(TLS / "other-key.pem"))
    hec, es = FakeHEC(token=TOKEN, tls=tls), FakeElasticsearch(tls=tls)
    with hec if to == "hec" else es as server:
        result = run_cli("ship", "--to", to, f"--{to}-url", server.url, "--ca-bundle", str(TLS / "other-cert.pem"),
                         str(small_log), env={"ESALOG_HEC_TOKEN": TOKEN})
        assert 1 == result.returncode, result.stderr
        assert hec.events == [] and not any(es.docs.values())
    assert b"certificate is not valid for '127.0.0.1'" in result.stderr
    assert b"the certificate names another host" in result.stderr
    assert b"give the CA with --ca-bundle" not in result.stderr and b"Traceback" not in result.stderr
