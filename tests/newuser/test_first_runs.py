"""A new user's mistyped command line: argparse's own refusals (an option the command does not have, a
value not among the choices, a missing argument) are one line naming the command and pointing at its
``--help``, exit 2, not a usage dump above the error, and never the top-level usage for a command's option.
And ``splunk-app build`` says where the app goes next; ``--hec-ack`` on a token without acknowledgement says
that nothing is confirmed as indexed; a refused connection is said in the operating system's words."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from esalog import __version__
from esalog.schemas import validator
from esalog.testing import FakeElasticsearch, FakeHEC
from tests.conftest import run_cli
from tests.connectors.conftest import write_log


@pytest.mark.parametrize(("args", "line"), [
    (["report", "--workers", "2", "mail.log"],
     "esalog report: error: unrecognized arguments: --workers (see 'esalog report --help')"),
    (["parse", "--bogus"], "esalog parse: error: unrecognized arguments: --bogus (see 'esalog parse --help')"),
    (["patterns", "coverage", "--nope", "x"],
     "esalog patterns coverage: error: unrecognized arguments: --nope (see 'esalog patterns coverage --help')"),
    (["ship", "--to", "foo"],
     "esalog ship: error: argument --to: invalid choice: 'foo' (choose from 'stdout', 'file', 'hec', 'es') "
     "(see 'esalog ship --help')"),
    (["report"], "esalog report: error: the following arguments are required: PATH (see 'esalog report --help')"),
    (["splunk-app"],
     "esalog splunk-app: error: the following arguments are required: ACTION (see 'esalog splunk-app --help')"),
])
def test_a_usage_error_is_one_line_naming_the_command(args: list[str], line: str) -> None:
    proc = run_cli(*args, input=b"")
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines() == [line]
    assert proc.stdout == b""


def test_esalog_alone_lists_the_commands() -> None:
    """A first try, ``esalog`` with nothing: the list of commands (on stderr, exit 2), not one line about a
    missing COMMAND."""
    proc = run_cli()
    assert proc.returncode == 2 and proc.stdout == b""
    text = proc.stderr.decode()
    assert text.startswith("usage: esalog ")
    for command in ("parse", "filter", "listen", "ship", "es-template", "report", "patterns", "schema",
                    "splunk-app"):
        assert re.search(rf"^    {command}\b", text, re.M), command


def test_help_still_prints_the_usage() -> None:
    proc = run_cli("report", "--help")
    assert proc.returncode == 0 and proc.stdout.decode().startswith("usage: esalog report ")


def test_splunk_app_build_says_what_to_do_with_the_app(tmp_path: Path) -> None:
    """stdout: the three paths (for scripts); stderr: one line on where the .spl goes and how, as the README's
    Splunk steps 5 and 6 say."""
    out = tmp_path / "dist"
    proc = run_cli("splunk-app", "build", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    spl = out / f"TA-esalog-{__version__}.spl"
    assert proc.stdout.decode().splitlines() == [str(out / "TA-esalog"), str(out / f"TA-esalog-{__version__}.tgz"),
                                                 str(spl)]
    (hint,) = proc.stderr.decode().splitlines()
    assert f"$SPLUNK_HOME/bin/splunk install app {spl}" in hint and "heavy forwarder" in hint
    assert "esalog://" in hint and spl.is_file()
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert f"`$SPLUNK_HOME/bin/splunk install app dist/TA-esalog-{__version__}.spl`" in readme


@pytest.mark.parametrize("server_acks", [False, True])
def test_hec_ack_on_a_token_without_acknowledgement_is_said(tmp_path: Path, server_acks: bool) -> None:
    """``--hec-ack`` against a token with indexer acknowledgement off: HEC answers success without an
    ``ackId``, so nothing is confirmed as indexed; one warning says so (once), the events still count as
    delivered. With acknowledgement on, no such warning."""
    log = write_log(tmp_path / "mail.@20261102T080000.s", 30)
    with FakeHEC(token="t0k3n-abc", ack=server_acks) as hec:
        proc = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--hec-ack", "--hec-ack-interval", "0.2",
                       "--batch-events", "10", "--stats", str(log), env={"ESALOG_HEC_TOKEN": "t0k3n-abc"})
        assert hec.count == 30
    assert proc.returncode == 0, proc.stderr
    stderr = proc.stderr.decode()
    assert "t0k3n-abc" not in stderr
    warnings = [line for line in stderr.splitlines() if "answered without an ackId" in line]
    if server_acks:
        assert warnings == []
    else:
        assert warnings == [f"esalog: warning: --hec-ack: HEC at {hec.url} answered without an ackId: indexer "
                            "acknowledgement is off for this token, so events count as delivered once HEC "
                            "accepts them; enable indexer acknowledgement on the token, or drop --hec-ack"]
    assert json.loads(stderr.splitlines()[-1])["acknowledged"] == 30


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("setup", [True, False])
def test_a_refused_connection_is_said_plainly(tmp_path: Path, setup: bool) -> None:
    """A wrong port: the reason is the operating system's (``[Errno 111] Connection refused``), not
    requests' nested ``HTTPConnectionPool(...): Max retries exceeded ... NewConnectionError(...)`` reprs."""
    log = write_log(tmp_path / "mail.@20261102T080000.s", 10)
    url = f"http://127.0.0.1:{closed_port()}"
    proc = run_cli("ship", "--to", "es", "--es-url", url, *(["--es-setup"] if setup else []), "--retry-budget", "1",
                   "--retry-initial", "0.1", "-q", str(log))
    assert proc.returncode == 1
    stderr = proc.stderr.decode()
    reason = f"{url}: cannot connect: [Errno 111] Connection refused"
    if setup:
        assert stderr.splitlines()[-1] == f"esalog: error: --es-setup failed: {reason}"
    else:
        assert "  reason: gave up after " in stderr and stderr.rstrip().endswith(reason), stderr
    assert "Max retries" not in stderr and "NewConnectionError" not in stderr


SERIAL = "Mon Nov  2 08:00:00 2026 Info: Version: 15.5.1-055 SN: 4229C1A2B3C4D5E6F7A8-0B1C\n"
DAY_ONE = SERIAL + """\
Mon Nov  2 08:00:00 2026 Info: New SMTP ICID 31 interface Data 1 (10.0.0.1) address 192.0.2.31 reverse dns host a.example.com verified yes
Mon Nov  2 08:00:01 2026 Info: Start MID 18 ICID 31
Mon Nov  2 08:00:01 2026 Info: MID 18 ICID 31 From: <a@example.com>
"""
DAY_TWO = SERIAL.replace("Mon Nov  2", "Tue Nov  3") + """\
Tue Nov  3 08:00:00 2026 Info: New SMTP ICID 40 interface Data 1 (10.0.0.1) address 198.51.100.40 reverse dns host b.example.net verified yes
Tue Nov  3 08:00:01 2026 Info: Start MID 18 ICID 40
Tue Nov  3 08:00:01 2026 Info: MID 18 ICID 40 From: <b@example.net>
Tue Nov  3 08:00:02 2026 Info: Message finished MID 18 done
"""


def test_a_mid_started_again_on_another_connection_is_a_new_message(tmp_path: Path) -> None:
    """Two files of one appliance (same serial number), the first ending with MID 18 open, the second
    starting MID 18 again on another connection: the new message takes nothing from the old one (its
    lines carry their own connection's source.ip), and the old one is summarised as incomplete,
    ``end_reason: mid_reused``, when the new one starts."""
    first, second = tmp_path / "mail.@20261102T080000.s", tmp_path / "mail.@20261103T080000.s"
    first.write_text(DAY_ONE)
    second.write_text(DAY_TWO)
    proc = run_cli("parse", "--summaries", "-q", str(first), str(second))
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    mid_18 = [e for e in events if e["cisco"]["esa"].get("mid") == 18]
    assert [e["event"]["action"] for e in mid_18] == ["message-started", "envelope-from",  # day one
                                                      "message-started", "message-summary", "envelope-from",
                                                      "message-finished", "message-summary"]
    day_two = [e for e in mid_18 if e["@timestamp"].startswith("2026-11-03")]
    assert {e["source"]["ip"] for e in day_two if e["event"]["action"] != "message-summary"} == {"198.51.100.40"}
    old, new = (e for e in mid_18 if e["event"]["action"] == "message-summary")
    assert (old["source"]["ip"], old["email"]["from"]["address"], old["cisco"]["esa"]["summary"]["end_reason"],
            old["cisco"]["esa"]["summary"]["complete"]) == ("192.0.2.31", ["a@example.com"], "mid_reused", False)
    assert (new["source"]["ip"], new["email"]["from"]["address"], new["cisco"]["esa"]["summary"]["end_reason"],
            new["cisco"]["esa"]["summary"]["complete"]) == ("198.51.100.40", ["b@example.net"], "finished", True)
    validate = validator()
    for event in events:
        validate.validate(event)


def test_a_token_with_acknowledgement_on_says_to_add_hec_ack(tmp_path: Path) -> None:
    """HEC's code 10 (data channel missing: the token has indexer acknowledgement on) names the flag to add."""
    log = write_log(tmp_path / "mail.@20261102T080000.s", 10)
    with FakeHEC(token="t0k3n-abc", ack=True) as hec:
        proc = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "-q", str(log),
                       env={"ESALOG_HEC_TOKEN": "t0k3n-abc"})
        assert hec.count == 0
    assert proc.returncode == 1
    (error,) = [line for line in proc.stderr.decode().splitlines() if line.startswith("esalog: error:")]
    assert error == (f'esalog: error: HEC {hec.url} HTTP 400: {{"text":"Data channel is missing","code":10}}: the '
                     "token has indexer acknowledgement on: add --hec-ack (or turn acknowledgement off on the token)")


@pytest.mark.parametrize("command", [["parse"], ["report"], ["ship", "--to", "stdout"]])
@pytest.mark.parametrize("slash", ["", "/"])
def test_a_folder_given_instead_of_its_files_names_the_glob(tmp_path: Path, command: list[str], slash: str) -> None:
    """``esalog parse logs/`` (tab completion leaves the slash): the glob to give instead, without ``//``."""
    folder = tmp_path / "logs"
    folder.mkdir()
    proc = run_cli(*command, f"{folder}{slash}")
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines() == [
        f"esalog: error: '{folder}{slash}' is a directory; give files or a glob such as {folder}/*"]


TLS = Path(__file__).parents[1] / "connectors" / "tls"


def test_tls_failures_say_what_to_do(tmp_path: Path) -> None:
    """``https://`` to a plain-HTTP port says to use ``http://``; a certificate of an unknown CA says to give
    it with --ca-bundle; each in OpenSSL's own words, not requests' nested reprs."""
    log = write_log(tmp_path / "mail.@20261102T080000.s", 10)
    env = {"ESALOG_HEC_TOKEN": "t0k3n-abc"}
    with FakeHEC(token="t0k3n-abc") as plain:
        wrong = plain.url.replace("http://", "https://")
        proc = run_cli("ship", "--to", "hec", "--hec-url", wrong, "-q", str(log), env=env)
    assert proc.returncode == 1
    (error,) = [line for line in proc.stderr.decode().splitlines() if line.startswith("esalog: error:")]
    assert error == (f"esalog: error: TLS failure with {wrong}: [SSL: WRONG_VERSION_NUMBER] wrong version number: "
                     f"the server answers without TLS on this port; use {plain.url} (or the server's TLS port)")
    with FakeElasticsearch() as es:  # --es-setup's first request meets it
        wrong = es.url.replace("http://", "https://")
        proc = run_cli("ship", "--to", "es", "--es-url", wrong, "--es-setup", "-q", str(log))
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines()[-1] == (
        f"esalog: error: --es-setup failed: TLS failure with {wrong}: [SSL: WRONG_VERSION_NUMBER] wrong version "
        f"number: the server answers without TLS on this port; use {es.url} (or the server's TLS port)")
    with FakeHEC(token="t0k3n-abc", tls=(str(TLS / "cert.pem"), str(TLS / "key.pem"))) as tls:
        proc = run_cli("ship", "--to", "hec", "--hec-url", tls.url, "-q", str(log), env=env)
    assert proc.returncode == 1
    (error,) = [line for line in proc.stderr.decode().splitlines() if line.startswith("esalog: error:")]
    assert error.startswith(f"esalog: error: TLS failure with {tls.url}: [SSL: CERTIFICATE_VERIFY_FAILED] "
                            "certificate verify failed: ")
    assert error.endswith("; give the CA with --ca-bundle (or, at your own risk, --insecure)")
    for text in (error, proc.stderr.decode()):
        assert "Max retries" not in text and "_ssl.c" not in text and "SSLError(" not in text


@pytest.mark.parametrize("fake", ["hec", "es"])
def test_a_fake_server_on_a_taken_port_says_so_in_one_line(fake: str) -> None:
    """``python -m esalog.testing.hec`` (default port 8088) where something listens already: one line with
    the way out, exit 2, no traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run_cli("-m", f"esalog.testing.{fake}", "--port", str(port), python_args=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines() == [
        f"python -m esalog.testing.{fake}: error: cannot listen on 127.0.0.1:{port}: Address already in use; "
        "give another --port (0 = any free port)"]


def test_the_generator_into_a_missing_folder_says_so_in_one_line(tmp_path: Path) -> None:
    """``python -m esalog.testing.generate -o`` (realistic logs to try esalog on) into a folder that is not
    there: one line, exit 2, no traceback; into one that is, the log and its counts."""
    target = tmp_path / "gone" / "mail.@20261102T080000.s"
    proc = run_cli("-m", "esalog.testing.generate", "--lines", "50", "-o", str(target), python_args=True)
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines() == [
        f"python -m esalog.testing.generate: error: {target}: No such file or directory"]
    good = tmp_path / "mail.@20261102T080000.s"
    proc = run_cli("-m", "esalog.testing.generate", "--lines", "50", "-o", str(good), python_args=True)
    assert proc.returncode == 0, proc.stderr
    assert len(good.read_text().splitlines()) == 50
    assert sum(json.loads((tmp_path / f"{good.name}.counts.json").read_text()).values()) == 50


def run_on_a_terminal(*args: str, typed: bytes) -> tuple[int, bytes, str]:
    """``esalog ARGS`` with stdin and stderr on one pseudo-terminal, as typed at a shell: waits for its
    first words on the terminal, then types *typed* and Ctrl-D. Returns (exit code, stdout, terminal text)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "esalog", *args], stdin=slave, stderr=slave,
                            stdout=subprocess.PIPE)
    os.close(slave)
    seen = bytearray()
    try:
        deadline = time.monotonic() + 30
        while b"Ctrl-D" not in seen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.5)[0]:
                seen += os.read(master, 65536)
        os.write(master, typed + b"\x04")
        assert proc.stdout is not None
        out = proc.stdout.read()
        code = proc.wait(timeout=30)
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, out, seen.decode(errors="replace")


@pytest.mark.parametrize("command", [["parse"], ["ship", "--to", "stdout"]])
def test_reading_the_terminal_says_so(command: list[str]) -> None:
    """``esalog parse`` alone at a shell reads stdin, the terminal: one line says so and how to end it
    (Ctrl-D) or give files, so a first try does not look like a hang; the typed line is parsed."""
    code, out, terminal = run_on_a_terminal(*command, typed=b"Thu Aug 14 11:05:36 2014 Info: ICID 10293 lost\n")
    assert code == 0, terminal
    name = " ".join(command)
    assert (f"esalog: reading log lines from the terminal (stdin): type or paste them, end with Ctrl-D; or give "
            f"files: esalog {name} mail.@*.s") in terminal
    (event,) = [json.loads(line) for line in out.splitlines()]
    assert event["event"]["action"] == "connection-lost"


def test_lines_from_a_pipe_get_no_hint() -> None:
    """Lines from a pipe (a script, a shipper): nothing but the summary."""
    proc = run_cli("parse", input=b"Thu Aug 14 11:05:36 2014 Info: ICID 10293 lost\n")
    assert proc.returncode == 0 and b"terminal" not in proc.stderr


def test_a_checkpoint_with_stdin_warns_that_stdin_cannot_resume(tmp_path: Path) -> None:
    """``zcat x.gz | esalog ship --checkpoint F`` : stdin has no offset to resume from, a rerun sends every
    line again; one warning says so (the README: "stdin has no checkpoint"), the lines are shipped."""
    line = b"Thu Aug 14 11:05:36 2014 Info: ICID 10293 lost\n"
    proc = run_cli("ship", "--to", "stdout", "--checkpoint", str(tmp_path / "ship.ckpt"), input=line)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 1
    assert "esalog: warning: --checkpoint: stdin has no resume point (a rerun sends its lines again); only files " \
           "are checkpointed" in proc.stderr.decode().splitlines()
    log = write_log(tmp_path / "mail.@20261102T080000.s", 5)
    files = run_cli("ship", "--to", "stdout", "--checkpoint", str(tmp_path / "files.ckpt"), str(log))
    assert files.returncode == 0 and b"resume point" not in files.stderr


def test_the_generator_makes_a_rotated_series_with_start(tmp_path: Path) -> None:
    """An analyst's folder of rotated logs from the generator: ``--start`` one hour later gives the next
    file its own clock, first line and ids (no MID of the first file is reused), and the default start
    still writes the very corpus it wrote before (the benchmark's and the tests' corpora do not move)."""
    first, second = tmp_path / "mail.@20261102T080000.s", tmp_path / "mail.@20261102T090000.s"
    for path, extra in ((first, []), (second, ["--start", "2026-11-02T09:00:00"])):
        proc = run_cli("-m", "esalog.testing.generate", "--lines", "3000", "--seed", "3", *extra, "-o", str(path),
                       python_args=True)
        assert proc.returncode == 0, proc.stderr
    assert first.read_text().splitlines()[0] == "Mon Nov  2 08:00:00 2026 Info: Begin Logfile"
    assert second.read_text().splitlines()[0] == "Mon Nov  2 09:00:00 2026 Info: Begin Logfile"
    same = tmp_path / "default.s"
    assert run_cli("-m", "esalog.testing.generate", "--lines", "3000", "--seed", "3", "--start",
                   "2026-11-02T08:00:00", "-o", str(same), python_args=True).returncode == 0
    assert same.read_bytes() == first.read_bytes()
    proc = run_cli("parse", "--summaries", "-q", str(first), str(second))
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    with_mid = [e for e in events if "mid" in e["cisco"]["esa"]]
    # the header's offset is 3600 s: the first file's 08:00 is 07:00Z, the second's 09:00 is 08:00Z
    earlier = {e["cisco"]["esa"]["mid"] for e in with_mid if e["@timestamp"] < "2026-11-02T08:"}
    later = {e["cisco"]["esa"]["mid"] for e in with_mid if e["@timestamp"] >= "2026-11-02T08:"}
    assert earlier and later and max(earlier) < min(later)
    assert not [e for e in events if e["cisco"]["esa"].get("summary", {}).get("end_reason") == "mid_reused"]


@pytest.mark.parametrize(("url", "line"), [
    ("http://127.0.0.1:9200/_bulk", "--es-url: give the cluster's address, not an API endpoint: http://127.0.0.1:9200 "
                                    "(esalog adds /_bulk), got 'http://127.0.0.1:9200/_bulk'"),
    ("https://proxy.example.com/es/_bulk/", "--es-url: give the cluster's address, not an API endpoint: "
                                            "https://proxy.example.com/es (esalog adds /_bulk), got "
                                            "'https://proxy.example.com/es/_bulk/'"),
    ("http://esalog:s3cr3t-pw@es.example.com:9200/_bulk",
     "--es-url: give the cluster's address, not an API endpoint: http://es.example.com:9200 (esalog adds /_bulk), "
     "got 'http://***@es.example.com:9200/_bulk'"),
    ("ftp://esalog:s3cr3t-pw@es.example.com:9200", "--es-url: expected a URL such as https://es.example.com:9200, "
                                                  "got 'ftp://***@es.example.com:9200': the scheme must be http or "
                                                  "https"),
    ("esalog:s3cr3t-pw@es.example.com", "--es-url: expected a URL such as https://es.example.com:9200, got "
                                        "'***@es.example.com': it needs the scheme, e.g. https://***@es.example.com"),
])
def test_an_es_url_that_is_not_the_clusters_is_refused_without_its_password(url: str, line: str) -> None:
    """The ``_bulk`` URL pasted from another shipper's configuration is refused at once, naming the address
    to give (it was health-checked as down, then posted to ``/_bulk/_bulk``); and a refused URL never shows
    the ``user:password@`` it carries (the README: it is never printed)."""
    proc = run_cli("ship", "--to", "es", "--es-url", url, "x.log")
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines() == [f"esalog: error: {line}"]
    assert "s3cr3t" not in proc.stderr.decode()
