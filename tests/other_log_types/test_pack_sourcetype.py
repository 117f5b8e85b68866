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


def test_ship_to_hec_indexes_each_dataset_under_its_pack_sourcetype(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`esalog ship --to hec` sends an authentication line as cisco:esa:json:authentication, a mail line
    as cisco:esa:json; --sourcetype overrides both."""
    from esalog.testing import FakeHEC
    from tests.conftest import run_cli

    log = tmp_path / "mixed.log"
    log.write_text(
        "<38>Nov  2 08:00:00 esa1 authentication: Info: User joe failed authentication.\n"
        "<22>Nov  2 08:00:01 esa1 mail_logs: Info: ICID 7 close\n")
    with FakeHEC("t") as hec:
        done = run_cli("ship", "--to", "hec", "--hec-url", hec.url, str(log), env={"ESALOG_HEC_TOKEN": "t"})
        assert done.returncode == 0, done.stderr.decode()
        assert [e["sourcetype"] for e in hec.events] == ["cisco:esa:json:authentication", "cisco:esa:json"]
        again = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--sourcetype", "mine", str(log),
                        env={"ESALOG_HEC_TOKEN": "t"})
        assert again.returncode == 0
        assert [e["sourcetype"] for e in hec.events[2:]] == ["mine", "mine"]
