"""The Splunk app's confs for the other log types: a stanza per pack sourcetype, eventtypes that
select the right events, CIM tags, and aliases that name fields the events really have.

The eventtype searches are evaluated here against parsed fixture events with a small evaluator of
the subset of SPL they use (``field="value"`` terms, implicit AND, OR, parentheses), over the
events flattened the way ``KV_MODE = json`` names fields (``a.b``; arrays as ``a.b{}``).
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Any

import pytest

from esalog.schemas import is_declared
from tests.conftest import FIXTURES, ROOT
from tests.other_log_types.helpers import OTHER_PACKS, parse_file, parser

APP = ROOT / "src" / "esalog" / "integrations" / "splunk_app" / "default"
#: Raw-text sourcetypes of the Splunk Add-on for Cisco ESA (and SC4S): our JSON must not reuse them.
CISCO_ADDON_SOURCETYPES = {"cisco:esa:http", "cisco:esa:textmail", "cisco:esa:amp", "cisco:esa:authentication",
                           "cisco:esa:cef", "cisco:esa:error_logs", "cisco:esa:content_scanner",
                           "cisco:esa:antispam", "cisco:esa:system_logs"}


def _conf(name: str) -> configparser.RawConfigParser:
    conf = configparser.RawConfigParser(strict=True, interpolation=None, delimiters=("=",))
    conf.optionxform = str  # type: ignore[assignment,method-assign]
    conf.read_string((APP / name).read_text(encoding="utf-8"))
    return conf


PROPS, EVENTTYPES, TAGS = _conf("props.conf"), _conf("eventtypes.conf"), _conf("tags.conf")


def _sourcetype(log_type: str) -> str:
    return parser().packs[log_type].packs[-1].sourcetype


def test_every_pack_sourcetype_has_a_json_stanza() -> None:
    for log_type in OTHER_PACKS:
        st = _sourcetype(log_type)
        assert st.startswith("cisco:esa:json:") and st not in CISCO_ADDON_SOURCETYPES, st
        assert PROPS.has_section(st), st
        stanza = PROPS[st]
        assert stanza["KV_MODE"] == "json"
        assert stanza["TIME_PREFIX"] == PROPS["cisco:esa:json"]["TIME_PREFIX"]
        assert stanza["TIME_FORMAT"] == PROPS["cisco:esa:json"]["TIME_FORMAT"]
    assert len({_sourcetype(t) for t in OTHER_PACKS}) == len(OTHER_PACKS)
    for log_type in ("mail_logs", "bounce_logs", "consolidated_event"):
        assert _sourcetype(log_type) == "cisco:esa:json"


def test_aliases_name_declared_fields() -> None:
    for log_type in OTHER_PACKS:
        for key, value in PROPS[_sourcetype(log_type)].items():
            if key.startswith("FIELDALIAS-"):
                for source, _cim in re.findall(r"(\S+) AS (\S+)", value):
                    assert is_declared(source.removesuffix("{}")), (key, source)
            elif key.startswith("EVAL-"):
                for field in re.findall(r"'([^']+)'", value):
                    assert is_declared(field.removesuffix("{}")), (key, field)


def test_tags_name_existing_eventtypes() -> None:
    for section in TAGS.sections():
        name = section.removeprefix("eventtype=")
        assert EVENTTYPES.has_section(name), section
    cim = {s.removeprefix("eventtype="): set(TAGS[s]) for s in TAGS.sections()}
    assert cim["esalog_authentication"] == {"authentication"}
    assert cim["esalog_change"] == {"change"}
    assert cim["esalog_web"] == {"web"}
    assert cim["esalog_malware"] == {"malware", "attack"}


# ------------------------------------------------------------------- a tiny evaluator of the searches

def flatten(event: dict[str, Any], prefix: str = "") -> dict[str, list[str]]:
    """The event's fields as Splunk's KV_MODE = json names them, each a list of string values."""
    out: dict[str, list[str]] = {}
    for key, value in event.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list):
            out[name + "{}"] = [str(v).lower() if isinstance(v, bool) else str(v) for v in value]
        else:
            out[name] = [str(value).lower() if isinstance(value, bool) else str(value)]
    return out


_TOKEN = re.compile(r'\(|\)|OR\b|AND\b|(?:"(?P<qf>[^"]+)"|(?P<f>[\w.{}:]+))="(?P<v>[^"]*)"')


def matches(search: str, fields: dict[str, list[str]]) -> bool:
    tokens = []
    pos = 0
    for m in _TOKEN.finditer(search):
        assert search[pos:m.start()].strip() == "", f"unsupported SPL in {search!r}"
        tokens.append(m)
        pos = m.end()
    assert search[pos:].strip() == ""

    def expr(i: int) -> tuple[bool, int]:  # OR of ANDs
        value, i = conj(i)
        while i < len(tokens) and tokens[i].group(0) == "OR":
            rhs, i = conj(i + 1)
            value = value or rhs
        return value, i

    def conj(i: int) -> tuple[bool, int]:
        value = True
        while i < len(tokens) and tokens[i].group(0) not in ("OR", ")"):
            if tokens[i].group(0) == "AND":
                i += 1
                continue
            if tokens[i].group(0) == "(":
                inner, i = expr(i + 1)
                assert tokens[i].group(0) == ")"
                i += 1
            else:
                m = tokens[i]
                name = m.group("qf") or m.group("f")
                inner = m.group("v").lower() in [v.lower() for v in fields.get(name, [])]
                i += 1
            value = value and inner
        return value, i

    result, end = expr(0)
    assert end == len(tokens)
    return result


def _fixture_events() -> list[tuple[str, dict[str, list[str]]]]:
    out = []
    for log_type in OTHER_PACKS:
        for path in sorted((FIXTURES / log_type).glob("*.log")):
            for line, event in parse_file(path, log_type=log_type):
                fields = flatten(event)
                fields["sourcetype"] = [_sourcetype(log_type)]
                out.append((line, fields))
    return out


EVENTS = _fixture_events()


def _selected(eventtype: str) -> list[str]:
    search = EVENTTYPES[eventtype]["search"]
    return [line for line, fields in EVENTS if matches(search, fields)]


def test_authentication_eventtype_selects_logins_and_failures_only() -> None:
    lines = _selected("esalog_authentication")
    assert any("An authentication attempt by the user dummy_user1" in x for x in lines)
    assert any("User joe failed authentication." in x for x in lines)
    assert any("successfully logged on" in x for x in lines)
    assert any("HTTPS session has been established" in x for x in lines)  # GUI login, HTTP log
    assert not any("logged out" in x or "logout:" in x or "Begin Logfile" in x for x in lines)
    assert len(lines) == 14  # logins.log 9, sessions.log 1 (login:), synthetic 3, GUI session 1


def test_change_eventtype_selects_commits_and_passphrase_changes() -> None:
    lines = _selected("esalog_change")
    assert sorted(x.split(" Info: ")[1] for x in lines) == [
        "PID 4410: User admin commit changes: Enabled TLS on the incoming listener",
        "PID 4411: User operator1 commit changes:",
        "Passphrase has been changed for user operator1",
    ]


def test_web_eventtype_selects_gui_requests() -> None:
    lines = _selected("esalog_web")
    assert lines and all(" req:" in x for x in lines)
    assert len(lines) == sum(1 for line, f in EVENTS if " req:" in line)


def test_malware_eventtype_selects_malicious_verdicts() -> None:
    lines = _selected("esalog_malware")
    assert any("Retrospective verdict received" in x and "MALICIOUS" in x for x in lines)
    assert any("Virus 'Troj/DocDl-ABC'" in x for x in lines)
    assert any("Disposition = MALICIOUS" in x for x in lines)
    assert not any("Verdict: CLEAN" in x or "Result 'CLEAN'" in x or "FILE UNKNOWN" in x for x in lines)


@pytest.mark.parametrize(("search", "fields", "expected"), [
    ('a="1" b="2"', {"a": ["1"], "b": ["2"]}, True),
    ('a="1" b="2"', {"a": ["1"], "b": ["3"]}, False),
    ('(a="1" OR a="2") "c{}"="x"', {"a": ["2"], "c{}": ["y", "x"]}, True),
    ('(a="1" OR a="2") "c{}"="x"', {"a": ["3"], "c{}": ["x"]}, False),
])
def test_the_evaluator_itself(search: str, fields: dict[str, list[str]], expected: bool) -> None:
    assert matches(search, fields) is expected


def test_props_parses_cleanly() -> None:
    text = (APP / "props.conf").read_text(encoding="utf-8")
    assert not re.search(r"^\S+ =\s*$", text, re.M)  # no empty values
    assert Path(APP / "eventtypes.conf").read_text(encoding="utf-8").count("[esalog_") == 9  # 4 of CIM Email
