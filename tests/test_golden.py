"""Golden whole-event fixtures: every fixture log, every pack example and (by digest) every shared corpus
file gives exactly the events pinned in the repository. Regenerate with
``python -m esalog.testing.golden --regenerate --corpus ../shared/corpus`` and review ``git diff``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from esalog.schemas import validator
from esalog.testing import read_ndjson
from esalog.testing.golden import (
    CORPUS_DIGESTS,
    EXPECTED_SUFFIX,
    corpus_digests,
    log_fixtures,
    render,
    render_pack_examples,
)
from tests.conftest import ROOT, run_cli

FIXTURES = ROOT / "tests" / "fixtures"
ROOTS = (FIXTURES, ROOT / "tests" / "corpus")
HOW = "regenerate with `python -m esalog.testing.golden --regenerate --corpus ../shared/corpus`, review git diff"


def _expected(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".log") + EXPECTED_SUFFIX)


@pytest.mark.parametrize("path", list(log_fixtures(ROOTS)), ids=lambda p: str(p.relative_to(ROOT)))
def test_fixture_gives_its_expected_events(path: Path) -> None:
    """The events of each fixture log are byte-identical to its expected NDJSON, and schema-valid."""
    expected = _expected(path)
    assert expected.exists(), f"{expected} is missing: {HOW}"
    got = render(path)
    assert got == expected.read_bytes(), f"{path.name}: output changed: {HOW}"
    check = validator()
    for event in read_ndjson(got):
        assert not list(check.iter_errors(event)), event["event"].get("original")


def test_pack_examples_give_their_expected_events() -> None:
    """Every pack's examples, rendered whole, are byte-identical to the pinned file."""
    for log_type, data in render_pack_examples().items():
        expected = FIXTURES / log_type / f"pack-examples{EXPECTED_SUFFIX}"
        assert expected.exists(), f"{expected} is missing: {HOW}"
        assert data == expected.read_bytes(), f"{log_type} pack examples changed: {HOW}"


def test_shared_corpus_output_is_pinned_by_digest(corpus: Path) -> None:
    """The output of every shared corpus file (not copied here) has the SHA-256 pinned in the repository."""
    pinned = (FIXTURES / CORPUS_DIGESTS).read_text().splitlines()
    now = corpus_digests(corpus).splitlines()
    changed = sorted(set(now) ^ set(pinned))
    assert not changed, f"outputs changed for {[row.split()[-1] for row in changed]}: {HOW}"


def test_regenerate_command_writes_and_then_checks(tmp_path: Path) -> None:
    """The command a developer runs: --regenerate writes the expected file; a plain run then passes."""
    shutil.copy(ROOT / "examples" / "logs" / "syslog-push.log", tmp_path / "push.log")
    args = ("-c", "from esalog.testing.golden import main; raise SystemExit(main())", str(tmp_path),
            "--packs-dir", str(tmp_path / "packs"))
    first = run_cli(*args, python_args=True)
    assert first.returncode == 1 and b"DIFFERS" in first.stderr  # nothing pinned yet
    assert run_cli(*args, "--regenerate", python_args=True).returncode == 0
    assert (tmp_path / "push.expected.ndjson").read_bytes() == render(tmp_path / "push.log")
    assert run_cli(*args, python_args=True).returncode == 0
