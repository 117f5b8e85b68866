"""Issue 12 item 12: a password inside ``--es-url`` is never printed (warnings, errors, dead-letter
reasons); it is sent as the Authorization header. A token or password over plain http:// is warned about."""

from __future__ import annotations

from pathlib import Path

import pytest

from esalog.testing import FakeElasticsearch, FakeHEC
from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.conftest import run_cli
from tests.reliability.conftest import TOKEN
from tests.reliability.test_ship_signals import free_port

PASSWORD = "s3cr3t-Pa55"


def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "mail.@20261102T080000.s"
    path.write_text(FILE_HEADER + "".join(distinct_lines(98)))
    return path


def test_password_in_es_url_is_used_and_never_printed(tmp_path: Path) -> None:
    log = log_file(tmp_path)
    dead = tmp_path / "dead.ndjson"
    with FakeElasticsearch(user="elastic", password=PASSWORD) as es:
        url = es.url.replace("http://", f"http://elastic:{PASSWORD}@")
        ok = run_cli("ship", "--to", "es", "--es-url", url, "--es-index", "esa", str(log))
        assert ok.returncode == 0, ok.stderr
        assert es.count("esa") == 100
        assert PASSWORD.encode() not in ok.stderr
        assert b"Elasticsearch credentials sent unencrypted over http://" in ok.stderr
        # every failure path prints the URL: the password is in none of them
        es.faults.status(503, times=1000)
        failed = run_cli("ship", "--to", "es", "--es-url", url, "--es-index", "esa", "--retry-budget", "0.5",
                         "--retry-initial", "0.1", "--dead-letter", str(dead), str(log))
    down = f"http://elastic:{PASSWORD}@127.0.0.1:{free_port()}"
    unreachable = run_cli("ship", "--to", "es", "--es-url", down, "--retry-budget", "0.3", "--retry-initial", "0.1",
                          "--dead-letter", str(dead), str(log))
    for result in (failed, unreachable):
        assert result.returncode == 1
        assert PASSWORD.encode() not in result.stderr
    assert dead.stat().st_size > 0 and PASSWORD.encode() not in dead.read_bytes()
    assert b"elastic:" not in unreachable.stderr  # not even the user name


def test_credentials_both_in_url_and_environment_are_refused(tmp_path: Path) -> None:
    result = run_cli("ship", "--to", "es", "--es-url", f"http://u:{PASSWORD}@127.0.0.1:9", str(log_file(tmp_path)),
                     env={"ESALOG_ES_API_KEY": "abc"})
    assert result.returncode == 2 and b"both in --es-url and in the environment" in result.stderr
    assert PASSWORD.encode() not in result.stderr


def test_hec_url_with_userinfo_is_refused_and_token_over_http_warned(tmp_path: Path) -> None:
    log = log_file(tmp_path)
    refused = run_cli("ship", "--to", "hec", "--hec-url", f"http://x:{PASSWORD}@127.0.0.1:9", str(log),
                      env={"ESALOG_HEC_TOKEN": TOKEN})
    assert refused.returncode == 2 and PASSWORD.encode() not in refused.stderr
    with FakeHEC(token=TOKEN) as hec:
        result = run_cli("ship", "--to", "hec", "--hec-url", hec.url, str(log), env={"ESALOG_HEC_TOKEN": TOKEN})
    assert result.returncode == 0
    assert b"HEC token sent unencrypted over http://" in result.stderr and TOKEN.encode() not in result.stderr


@pytest.mark.parametrize(("variable", "sink"), [("ESALOG_HEC_TOKEN", "hec"), ("ESALOG_ES_API_KEY", "es"),
                                                ("ESALOG_ES_BEARER_TOKEN", "es")])
@pytest.mark.parametrize("bad", ["abc\nSECRETPART", "abc SECRETPART\x01", "abc\u20acSECRETPART"])
def test_a_token_that_cannot_be_a_header_is_refused_without_printing_it(tmp_path: Path, variable: str, sink: str,
                                                                        bad: str) -> None:
    """A token with a line break, a control or a non-ASCII character: one configuration error naming the
    variable, exit 2, before any work. Before, requests refused the header on each attempt with a message
    quoting it (the token on stderr and in the dead letter), or the sender died on a UnicodeEncodeError."""
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("ship", "--to", sink, f"--{sink}-url", url, "--retry-budget", "0.2", "--retry-initial", "0.1",
                     str(log_file(tmp_path)), env={variable: bad})
    assert result.returncode == 2, result.stderr.decode()
    assert b"SECRETPART" not in result.stderr and b"Traceback" not in result.stderr
    assert result.stderr.decode().strip() == (f"esalog: error: {variable} holds characters a token cannot have "
                                              "(spaces, line breaks, control or non-ASCII characters); check how "
                                              "it was set")


def test_a_binary_token_file_is_refused(tmp_path: Path) -> None:
    """``--hec-token-file`` that is not text: one configuration error, never a UnicodeDecodeError traceback."""
    token = tmp_path / "token"
    token.write_bytes(b"\xfe\xff" + TOKEN.encode())
    result = run_cli("ship", "--to", "hec", "--hec-url", "https://127.0.0.1:1", "--hec-token-file", str(token),
                     str(log_file(tmp_path)))
    assert result.returncode == 2
    assert result.stderr.decode().strip() == f"esalog: error: HEC token file {str(token)!r} is not text (invalid UTF-8)"


@pytest.mark.parametrize("status", [400, 401, 503])
def test_a_server_that_echoes_the_token_does_not_make_esalog_print_it(tmp_path: Path, status: int) -> None:
    """A proxy page that echoes the request headers: the token in its body is masked wherever esalog
    repeats the body (the error line, retry warnings, dead-letter reasons)."""
    dead = tmp_path / "dead.ndjson"
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.status(status, times=1000, body={"text": f"rejected request with Authorization: Splunk {TOKEN}"})
        result = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--dead-letter", str(dead), "--retry-budget",
                         "0.3", "--retry-initial", "0.1", "--report-interval", "0.1", str(log_file(tmp_path)),
                         env={"ESALOG_HEC_TOKEN": TOKEN})
    assert result.returncode == 1
    assert b"rejected request with Authorization: Splunk ***" in result.stderr + dead.read_bytes()
    assert TOKEN.encode() not in result.stderr and TOKEN.encode() not in dead.read_bytes()
