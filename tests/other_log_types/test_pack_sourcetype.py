"""The optional top-level ``sourcetype`` key of a pack (Splunk sourcetype of its events)."""

from __future__ import annotations

import pytest

from esalog.errors import PackError
from esalog.parsers.pack import DEFAULT_SOURCETYPE, Pack

BASE = "name: x\nlog_type: mail_logs\nrules:\n  - {id: a, match: 'ICID %{ICID:cisco.esa.icid:int} close'}\n"


def test_sourcetype_defaults_to_the_json_sourcetype() -> None:
    assert Pack.from_text(BASE, "user.yaml").sourcetype == DEFAULT_SOURCETYPE == "cisco:esa:json"


def test_sourcetype_is_read() -> None:
    assert Pack.from_text("sourcetype: cisco:esa:amp\n" + BASE, "user.yaml").sourcetype == "cisco:esa:amp"


@pytest.mark.parametrize("value", ["''", "'cisco esa'", "[a, b]", "12"])
def test_bad_sourcetype_is_refused_naming_the_file(value: str) -> None:
    with pytest.raises(PackError, match="sourcetype") as info:
        Pack.from_text(f"sourcetype: {value}\n" + BASE, "user.yaml")
    assert "user.yaml" in str(info.value)
