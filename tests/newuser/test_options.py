"""Issue 10, point 3: options are read and refused the same way everywhere: by the settings
dataclass that declares them, with one line ``esalog: error: --flag: what is wrong`` and exit 2. Years
are four digits from 1970 to 9999 (and the schema's date-time format is really checked), --workers and
--top are counted, URLs are URLs, every numeric option refuses negative, zero (where it must be
positive) and NaN."""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jsonschema
import pytest

from esalog.cli.parse import ParseCommandConfig
from esalog.cli.patterns import CoverageCommandConfig
from esalog.cli.report import ReportCommandConfig
from esalog.connectors.config import DeliveryConfig, FileConfig
from esalog.connectors.es import EsConfig
from esalog.connectors.hec import HecConfig
from esalog.integrations.listener import ListenConfig
from esalog.parsers.config import ParseConfig
from esalog.schemas import validator
from esalog.sources.reader import SourceConfig
from esalog.testing import read_ndjson
from esalog.tracking.config import TrackingConfig
from tests.conftest import run_cli

SYSLOG = b"<22>Nov  2 08:00:00 esa1 mail_logs: Info: ICID 1 close\n"


def refused(proc: Any, flag: str) -> str:
    """The one line that refuses *flag* (exit 2, no usage dump, no traceback, no output)."""
    lines = proc.stderr.decode().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith(f"esalog: error: {flag}: "), lines
    assert proc.stdout == b""
    return lines[0]


@pytest.mark.parametrize("year", ["20", "0", "99999", "-5", "1969", "abc", "2e3"])
def test_bad_years_are_refused(year: str) -> None:
    """--year 20 cannot give "20-11-02T..."; 0, 99999 and the rest are refused in one line."""
    line = refused(run_cli("parse", "--year", year, "-", input=SYSLOG), "--year")
    assert (f"got {year!r}" if year in ("abc", "2e3") else f"from 1970 to 9999, got {year}") in line


def test_a_good_year_and_four_digit_stamps_everywhere() -> None:
    """--year 2019 fills the stamp; a stamp with a year below 1000 keeps four digits; a zone that pushes
    a stamp off the calendar gives a valid stamp, not a traceback; every event validates."""
    (event,) = read_ndjson(run_cli("parse", "-q", "--year", "2019", "-", input=SYSLOG).stdout)
    assert event["@timestamp"] == "2019-11-02T08:00:00.000Z"
    data = (b"Thu Aug 14 11:05:36 0020 Info: ICID 1 close\n"
            b"Mon Jan  1 00:00:00 0001 Info: ICID 2 close\n"
            b"<22>1 9999-12-31T23:59:59-05:00 esa1 mail_logs - - - Info: ICID 3 close\n")
    proc = run_cli("parse", "-q", "--tz", "+05:00", "-", input=data)
    assert proc.returncode == 0 and proc.stderr == b""
    events = read_ndjson(proc.stdout)
    assert events[0]["@timestamp"] == "0020-08-14T06:05:36.000Z"
    for event in events:
        assert not list(validator().iter_errors(event)), event["@timestamp"]


def test_schema_refuses_a_short_year_with_any_validator() -> None:
    """The published schema (``esalog schema``) refuses "20-11-02T..." by its pattern, even with a
    validator that checks no formats; esalog's own validator checks the date-time format too."""
    schema = json.loads(run_cli("schema").stdout)
    assert schema["properties"]["@timestamp"]["format"] == "date-time"
    plain = jsonschema.Draft202012Validator(schema)  # no format checker at all
    assert not plain.is_valid({"@timestamp": "20-11-02T08:00:00.000Z"})
    assert plain.is_valid({"@timestamp": "2020-11-02T08:00:00.000Z"})
    checked = validator()
    assert "date-time" in checked.format_checker.checkers
    assert not checked.format_checker.conforms("2020-13-45T08:00:00Z", "date-time")  # the pattern allows it
    assert not checked.is_valid({"@timestamp": "2020-13-45T08:00:00.000Z"})


@pytest.mark.parametrize(("argv", "flag", "words"), [
    (["parse", "--workers", "0", "/dev/null"], "--workers", "above 0, got 0"),
    (["parse", "--workers", "-1", "/dev/null"], "--workers", "above 0, got -1"),
    (["parse", "--workers", "two", "/dev/null"], "--workers", "expected an integer, got 'two'"),
    (["patterns", "coverage", "--top", "-1", "/dev/null"], "--top", "at least 0, got -1"),
    (["report", "--top", "0", "/dev/null"], "--top", "above 0, got 0"),
    (["parse", "--tz", "+25:00", "/dev/null"], "--tz", "out of range"),
    (["parse", "--tz", "+05:61", "/dev/null"], "--tz", "out of range"),  # was taken as +06:01
    (["parse", "--host", "", "/dev/null"], "--host", "expected a value"),
])
def test_counts_zones_and_names_are_checked(argv: list[str], flag: str, words: str) -> None:
    assert words in refused(run_cli(*argv), flag)


@pytest.mark.parametrize(("argv", "flag", "typed", "example"), [
    (["ship", "--to", "hec", "--hec-url", "localhost:8088", "/dev/null"], "--hec-url", "localhost:8088",
     "https://splunk.example.com:8088"),
    (["ship", "--to", "hec", "--hec-url", "https://ok:8088", "--hec-url", "ftp://idx2", "/dev/null"], "--hec-url", "ftp://idx2",
     "https://splunk.example.com:8088"),
    (["listen", "--tcp", "127.0.0.1:0", "--to", "hec", "--hec-url", "splunk"], "--hec-url", "splunk",
     "https://splunk.example.com:8088"),
    (["ship", "--to", "es", "--es-url", "localhost:9200", "/dev/null"], "--es-url", "localhost:9200", "https://es.example.com:9200"),
    (["ship", "--to", "es", "--es-url", "http://es:99999", "/dev/null"], "--es-url", "http://es:99999", "https://es.example.com:9200"),
    # hosts requests cannot connect to: retried for --retry-budget (a space), or a sender traceback (a..b)
    (["ship", "--to", "hec", "--hec-url", "https://spl unk:8088", "/dev/null"], "--hec-url", "https://spl unk:8088",
     "https://splunk.example.com:8088"),
    (["ship", "--to", "es", "--es-url", "https://es..corp:9200", "/dev/null"], "--es-url", "https://es..corp:9200",
     "https://es.example.com:9200"),
])
def test_urls_are_reported_as_typed_with_what_was_expected(argv: list[str], flag: str, typed: str,
                                                          example: str) -> None:
    """A URL without scheme (or with a bad one, or a bad port) is refused before anything else (no token
    set here: the URL is what is wrong), saying what was typed and what was expected."""
    proc = run_cli(*argv, env={"ESALOG_HEC_TOKEN": ""})
    line = refused(proc, flag)
    assert f"expected a URL such as {example}, got {typed!r}" in line
    if "://" not in typed:
        assert f"e.g. https://{typed}" in line


#: a command that takes each settings class's options, and what it needs to run on nothing
COMMAND_OF = {
    ParseConfig: ["parse", "/dev/null"], TrackingConfig: ["parse", "/dev/null"],
    ParseCommandConfig: ["parse", "/dev/null"], ReportCommandConfig: ["report", "/dev/null"],
    CoverageCommandConfig: ["patterns", "coverage", "/dev/null"],
    SourceConfig: ["ship", "--to", "stdout", "/dev/null"], DeliveryConfig: ["ship", "--to", "stdout", "/dev/null"],
    FileConfig: ["ship", "--to", "stdout", "/dev/null"], HecConfig: ["ship", "--to", "stdout", "/dev/null"],
    EsConfig: ["ship", "--to", "stdout", "/dev/null"], ListenConfig: ["listen", "--tcp", "127.0.0.1:0"],
}


def numeric_options() -> list[tuple[list[str], str, Any]]:
    """(command, flag, check) of every numeric option of every settings class."""
    found = []
    for cls, command in COMMAND_OF.items():
        for f in dataclasses.fields(cls):
            if f.metadata.get("flag") and str(f.type).split(" |")[0] in ("int", "float"):
                found.append((command, f.metadata["flag"], f.metadata["check"]))
    return found


def test_every_numeric_option_refuses_nan_negative_and_zero_by_its_settings_check() -> None:
    """Each numeric option, on a command that takes it: NaN, infinity, a negative number and text are
    refused in one line naming it; zero is refused exactly when the settings check refuses it."""
    options = numeric_options()
    assert len(options) >= 20 and all(check is not None for _, _, check in options)
    runs = []
    for command, flag, check in options:
        values = ["nan", "inf", "-1", "many"]
        if flag != "--year" and check(0) is None:
            ok_zero = True
        else:
            ok_zero, values = False, [*values, "0"]
        runs += [(command, flag, value, True) for value in values]
        if ok_zero and command[0] != "listen":  # listen would listen: only refusals are run there
            runs.append((command, flag, "0", False))

    def one(run: tuple[list[str], str, str, bool]) -> str | None:
        command, flag, value, bad = run
        proc = run_cli(*command, flag, value, input=b"", timeout=60)
        if b"Traceback" in proc.stderr:
            return f"{flag} {value}: traceback"
        if not bad:
            return None if proc.returncode == 0 else f"{flag} 0 refused: {proc.stderr!r}"
        lines = proc.stderr.decode().splitlines()
        if proc.returncode != 2 or len(lines) != 1 or not lines[0].startswith(f"esalog: error: {flag}: "):
            return f"{flag} {value}: exit {proc.returncode}, {lines}"
        return None

    with ThreadPoolExecutor(max_workers=4) as pool:
        problems = [p for p in pool.map(one, runs) if p]
    assert problems == []
