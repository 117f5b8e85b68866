"""CEF key=value splitting and the declarative ``kv`` table of packs."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esalog.errors import PackError
from esalog.parsers.engine import CompiledPack
from esalog.parsers.kv import split_pairs
from esalog.parsers.pack import Pack
from esalog.parsers.parser import LineParser
from esalog.schemas import is_declared
from esalog.testing import parse_event


def test_values_with_spaces_and_dicts_stay_whole() -> None:
    """A value runs to the next ' key='; a Python dict holding '=' and spaces is one value."""
    pairs = split_pairs("a=Thu Nov  3 14:05:44 2022 d={'x=1': {'k': 'v w'}} msg='hello b=c' z=\\=q\\\\")
    assert pairs == {"a": "Thu Nov  3 14:05:44 2022", "d": "{'x=1': {'k': 'v w'}}", "msg": "'hello b=c'",
                     "z": "=q\\"}


def test_unbalanced_dict_falls_back_to_the_next_key() -> None:
    """A truncated dict value does not swallow the rest of the line."""
    assert split_pairs("d={'a': 1 e=2") == {"d": "{'a': 1", "e": "2"}


PACK = """
name: t
log_type: consolidated_event
rules:
  - id: r
    match: 'X %{GREEDYDATA:_ext}'
    kv:
      from: _ext
      keys: {K: KEYSPEC}
"""


def test_kv_table_is_validated_at_load_time() -> None:
    """Unknown converters and undeclared fields in a kv table are rejected when the pack loads."""
    with pytest.raises(PackError, match="unknown converter"):
        CompiledPack([Pack.from_text(PACK.replace("KEYSPEC", "cisco.esa.mid:nope"))], is_declared)
    with pytest.raises(PackError, match="not declared"):
        CompiledPack([Pack.from_text(PACK.replace("KEYSPEC", "cisco.esa.no_such_field"))], is_declared)
    with pytest.raises(PackError, match="'from'"):
        Pack.from_text(PACK.replace("from: _ext", "from: ext").replace("KEYSPEC", "cisco.esa.mid"))


def test_kv_table_maps_labels_and_converters() -> None:
    """csN keys are looked up by their csNLabel; converters apply; the scratch capture is removed."""
    pack = CompiledPack([Pack.from_text(PACK.replace("KEYSPEC", "cisco.esa.mid:int"))], is_declared)
    parser = LineParser({"consolidated_event": pack, "mail_logs": pack}, log_type="consolidated_event")
    event = parse_event(parser, "Thu Aug 14 11:05:36 2014 Info: X K=42 cs1Label=K cs1=43", parser.new_stream("t"))
    assert event["cisco"] == {"esa": {"kind": "r", "mid": 43}}
    assert "_ext" not in event


CEF_HEAD = ("<166>Mar 17 18:24:37 consolidated_event: "
            "CEF:0|Cisco|ESA|14.0.2-020|ESA_CONSOLIDATED_LOG_EVENT|C|5|")
KEYS = ["ESAMID", "ESAICID", "act", "startTime", "ESASPFVerdict", "ESAAttachmentDetails", "cfp1", "cfp1Label",
        "deviceDirection", "msg", "suser", "ESAMsgSize"]


@functools.cache
def cef_parser() -> LineParser:
    return LineParser.from_options()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KEYS), st.text(alphabet="ab=1{}[]'\" :,.-", max_size=30)),
                max_size=8))
def test_any_extension_yields_one_event(pairs: list[tuple[str, str]]) -> None:
    """Whatever the extension values, a CEF line gives exactly one event and never raises."""
    parser = cef_parser()
    line = CEF_HEAD + " ".join(f"{k}={v}" for k, v in pairs)
    event = parse_event(parser, line, parser.new_stream("cef"))
    assert event["event"]["dataset"] == "cisco_esa.consolidated_event"
    assert "_ext" not in event
