"""Every real file-form line of the public corpus reads the same when it arrives another way.

An appliance writes ``Wed Nov 19 09:16:46 2014 Info: ...`` into its log files; the same line reaches a
SIEM pushed by syslog (``<22>Nov 19 09:16:46 esa1 mail_logs: Info: ...``), through a relay that drops
the PRI and writes its own file, framed as RFC 5424 by a collector, or with the CRLF of a Windows copy.
The corpus lines are re-framed each of these ways and every field of the event must be the one the file
form gives, except those that say how the line travelled (the raw text, the sender's host name, the
syslog header). Each file is read as one stream per form, as the CLI reads it, so a ``Time offset from
UTC`` header line moves the stamps of the lines after it in every form alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from esalog.parsers.parser import LineParser
from esalog.testing import parse_event

CORPUS = Path(__file__).parent / "corpus"
#: ``Www Mmm dd hh:mm:ss yyyy[:] Level: body``, the form of the appliance's own files.
FILE_FORM = re.compile(r"^\w{3} (?P<mon>\w{3}) +(?P<day>\d{1,2}) (?P<time>\d\d:\d\d:\d\d) (?P<year>\d{4}):? "
                       r"(?P<rest>(?:Info|Warning|Debug|Critical|Trace): .*)$")
#: Fields that say how the line travelled, not what it says.
TRANSPORT = ("event.original", "observer.hostname", "log.syslog")
HOST = "esa1.example.com"
#: Lines of the corpus in the file form: a floor, so that losing the corpus' lines fails here.
MIN_FILE_FORM_LINES = 450

Reframe = Callable[[re.Match[str], str, dict[str, Any]], str]


def _bsd(m: re.Match[str], appname: str, _: dict[str, Any]) -> str:
    return f"<22>{m['mon']} {int(m['day']):>2} {m['time']} {HOST} {appname}: {m['rest']}"


def _relay_file(m: re.Match[str], appname: str, _: dict[str, Any]) -> str:
    return f"{m['mon']} {int(m['day']):>2} {m['time']} esa1 {appname}: {m['rest']}"


def _rfc5424(_m: re.Match[str], appname: str, event: dict[str, Any]) -> str:
    # the collector's stamp is the instant the file form stands for, written in UTC
    stamp = datetime.fromisoformat(event["@timestamp"].replace("Z", "+00:00")).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"<22>1 {stamp} {HOST} {appname} - - - {_m['rest']}"


def _crlf(m: re.Match[str], _appname: str, _: dict[str, Any]) -> str:
    return m.string + "\r"


FORMS: dict[str, Reframe] = {"syslog-push": _bsd, "relay-file": _relay_file, "rfc5424": _rfc5424, "crlf": _crlf}


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _content(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in _flat(event).items()
            if not any(k == t or k.startswith(t + ".") for t in TRANSPORT)}


def _file_form_files(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.glob(pattern) if p.parent.name != "other_log_types"
                  and any(FILE_FORM.match(line) for line in p.read_text(encoding="utf-8").splitlines()))


@pytest.fixture(scope="module")
def parser() -> LineParser:
    return LineParser.from_options()


def test_the_corpus_has_file_form_lines() -> None:
    lines = sum(1 for p in _file_form_files(CORPUS, "*/*.log") for line in p.read_text(encoding="utf-8").splitlines()
                if FILE_FORM.match(line))
    assert lines >= MIN_FILE_FORM_LINES


def _reframed_differences(parser: LineParser, paths: list[Path], form: str
                          ) -> tuple[int, list[tuple[str, str, dict[str, tuple[Any, Any]]]]]:
    """Lines compared, and those whose event content differs between the file form and *form*."""
    reframe = FORMS[form]
    differ: list[tuple[str, str, dict[str, tuple[Any, Any]]]] = []
    checked = 0
    for path in paths:
        lines = path.read_text(encoding="utf-8").splitlines()
        # the syslog stamps carry no year: the stream is told it. Files that gather examples of several
        # years are read as one pair of streams per run of lines of one year, in both forms alike.
        year = 0
        for line in lines:
            m = FILE_FORM.match(line)
            if m is None:
                continue
            if int(m["year"]) != year:
                year = int(m["year"])
                file_stream = parser.new_stream(path.name)
                other_stream = parser.new_stream(path.name, year=year)
            base = parse_event(parser, line, file_stream)
            # pushed by the subscription of the log the line was read as (mail_logs, bounce_logs, ...)
            appname = base["event"]["dataset"].removeprefix("cisco_esa.")
            other = parse_event(parser, reframe(m, appname, base), other_stream)
            checked += 1
            want, got = _content(base), _content(other)
            if want != got:
                keys = sorted(k for k in want.keys() | got.keys() if want.get(k) != got.get(k))
                differ.append((path.name, line[:120], {k: (want.get(k), got.get(k)) for k in keys}))
            # the travelling fields are there, and right, in the framings that carry them
            if form in ("syslog-push", "rfc5424"):
                assert other["observer"]["hostname"] == HOST, line
            if form == "crlf":
                assert other["event"]["original"] == line + "\r", line  # kept raw; the reader strips CRLF
    return checked, differ


@pytest.mark.parametrize("form", sorted(FORMS))
def test_file_form_lines_read_the_same_in_another_framing(parser: LineParser, form: str) -> None:
    checked, differ = _reframed_differences(parser, _file_form_files(CORPUS, "*/*.log"), form)
    assert checked >= MIN_FILE_FORM_LINES
    assert not differ, differ[:3]


@pytest.mark.parametrize("form", sorted(FORMS))
def test_shared_corpus_file_form_lines_read_the_same_in_another_framing(
        parser: LineParser, corpus: Path, form: str) -> None:
    """The same over the shared corpus' mail logs (not copied here; skipped where it is absent)."""
    paths = _file_form_files(corpus, "**/*.log") + _file_form_files(corpus, "**/*.s")
    checked, differ = _reframed_differences(parser, paths, form)
    assert checked >= 1000
    assert not differ, differ[:3]
