"""Issue 12 item 5: a POST is never redirected; a 2xx counts only with HEC's success body."""

from __future__ import annotations

from pathlib import Path

import pytest

from esalog.testing import FakeHEC
from esalog.testing.generate import FILE_HEADER, distinct_lines
from tests.conftest import run_cli
from tests.reliability.conftest import TOKEN


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "mail.@20261102T080000.s"
    path.write_text(FILE_HEADER + "".join(distinct_lines(98)))
    return path


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_is_not_followed_and_stops(log: Path, status: int) -> None:
    with FakeHEC(token=TOKEN) as hec, FakeHEC(token=TOKEN) as elsewhere:
        hec.faults.status(status, times=100, headers={"Location": elsewhere.url + "/services/collector/event"})
        result = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--retry-initial", "0.01", str(log),
                         env={"ESALOG_HEC_TOKEN": TOKEN})
        assert result.returncode == 1
        assert f"answered HTTP {status} (redirect to {elsewhere.url}".encode() in result.stderr
        assert (hec.count, elsewhere.count, elsewhere.requests) == (0, 0, 0)
        assert hec.faults.applied == ["status"]  # one request, no retry, no follow
        assert b"100 acknowledged" not in result.stderr and b" 0 acknowledged" in result.stderr


def test_2xx_without_success_body_is_not_delivered(log: Path) -> None:
    """A 200 (or 204) from something that is not HEC (a proxy page) is retried, never counted delivered."""
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.status(200, times=2, body={"proxy": "welcome"}).status(204, body={})
        result = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--retry-initial", "0.01", "--stats",
                         str(log), env={"ESALOG_HEC_TOKEN": TOKEN})
        assert result.returncode == 0, result.stderr
        assert hec.faults.applied == ["status"] * 3
        assert hec.count == 100  # delivered by the fourth attempt only
        assert b'"retried":300' in result.stderr and b'"acknowledged":100' in result.stderr
