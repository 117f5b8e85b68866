"""Recognition of the other log types over public lines: Elastic's samples in the shared corpus
(skipped when it is absent) and the lines mined into ``tests/corpus/other_log_types``.

Every line must be read by a rule of its own pack (no esalog_unmatched, no pipeline_error, no
unsupported-log-type tag), every event must validate, and dispatch must pick the same rule as a
plain loop over the pack's rules.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from esalog.parsers.engine import get_field
from esalog.schemas import validator
from tests.conftest import ROOT
from tests.other_log_types.helpers import parse_file, parser, problems_of

ELASTIC = "peers/elastic"
#: Elastic's non-mail files -> (lines, {dataset: lines}); the blank line of the file-upload sample
#: (one space) is not an ESA line and is left out of the count.
ELASTIC_FILES = {
    "test_pipeline/test-common-amp.log": (15, {"cisco_esa.amp": 15}),
    "test_pipeline/test-common-anti-spam.log": (3, {"cisco_esa.antispam": 3}),
    "test_pipeline/test-common-antivirus.log": (10, {"cisco_esa.antivirus": 10}),
    "test_pipeline/test-common-content-scanner.log": (2, {"cisco_esa.content_scanner": 2}),
    "test_pipeline/test-common-error.log": (4, {"cisco_esa.error_logs": 4}),
    "test_pipeline/test-common-gui-log.log": (11, {"cisco_esa.gui_logs": 11}),
    "test_pipeline/test-common-mail-file-upload.log": (12, {"cisco_esa.mail_logs": 12}),
    "test_pipeline/test-common-status.log": (3, {"cisco_esa.status": 3}),
    "test_pipeline/test-common-system.log": (5, {"cisco_esa.system": 5}),
    "sample_logs/amp.@123456789.s": (7, {"cisco_esa.amp": 7}),
    "sample_logs/antispam.@123456789.s": (3, {"cisco_esa.antispam": 3}),
    "sample_logs/antivirus.@123456789.s": (9, {"cisco_esa.antivirus": 9}),
    "sample_logs/authentication.example.com.@123456789.s": (8, {"cisco_esa.authentication": 8}),
    "sample_logs/error_logs.@123456789.s": (4, {"cisco_esa.error_logs": 4}),
    "sample_logs/gui_logs.@123456789.s": (11, {"cisco_esa.gui_logs": 11}),
    "sample_logs/status.@123456789.s": (1, {"cisco_esa.status": 1}),
    "sample_logs/system.@123456789.s": (5, {"cisco_esa.system": 5}),
    "sample_logs/log.log": (54, {"cisco_esa.amp": 7, "cisco_esa.antispam": 3, "cisco_esa.consolidated_event": 1,
                                 "cisco_esa.content_scanner": 2, "cisco_esa.error_logs": 4, "cisco_esa.gui_logs": 11,
                                 "cisco_esa.status": 1, "cisco_esa.system": 5, "cisco_esa.mail_logs": 20}),
}
MINED = ROOT / "tests" / "corpus" / "other_log_types"
MINED_FILES = sorted(MINED.glob("*/*.log"))


def _check(path: Path) -> tuple[Counter[str], list[str]]:
    """Datasets of the recognised lines of *path* (routed by its name), and every problem found."""
    check = validator()
    datasets: Counter[str] = Counter()
    problems = []
    for number, (line, event) in enumerate(parse_file(path), start=1):
        if not line.strip():
            continue
        found = problems_of(event) + [err.message for err in check.iter_errors(event)]
        if found:
            problems.append(f"{path.name}:{number}: {found} {line[:120]}")
        else:
            datasets[event["event"]["dataset"]] += 1
    return datasets, problems


@pytest.mark.parametrize("name", sorted(ELASTIC_FILES))
def test_elastic_sample_is_fully_recognised(corpus: Path, name: str) -> None:
    path = corpus / ELASTIC / name
    if not path.is_file():
        pytest.skip(f"{name} not in this corpus")
    datasets, problems = _check(path)
    assert problems == []
    lines, per_dataset = ELASTIC_FILES[name]
    assert sum(datasets.values()) == lines
    assert dict(datasets) == per_dataset


def test_elastic_retrospective_verdict_and_commit(corpus: Path) -> None:
    """The facts the next steps rely on, read from Elastic's own lines."""
    amp = dict(parse_file(corpus / ELASTIC / "sample_logs" / "amp.@123456789.s"))
    retro = next(e for e in amp.values() if e["event"]["action"] == "amp-retrospective-verdict")
    assert get_field(retro, "file.hash.sha256") == "16454aff5082c2e9df43f3e3b9cdba3c6ae1766416e548c30a971786db570bfc"
    assert get_field(retro, "cisco.esa.amp.disposition") == "MALICIOUS"
    assert get_field(retro, "cisco.esa.verdict.result") == "malicious"
    assert get_field(retro, "cisco.esa.amp.reputation_score") == 0
    analysis = next(e for e in amp.values() if e["event"]["action"] == "file-analysis-verdict")
    assert get_field(analysis, "cisco.esa.amp.disposition") == "3"
    assert get_field(analysis, "cisco.esa.verdict.result") == "malicious"
    assert get_field(analysis, "cisco.esa.verdict.threat_name") == "W32.16454AFF50-100.SBX.TG"
    system = dict(parse_file(corpus / ELASTIC / "sample_logs" / "system.@123456789.s"))
    commit = next(e for e in system.values() if e["event"]["action"] == "configuration-committed")
    assert get_field(commit, "user.name") == "admin" and get_field(commit, "process.pid") == 1237
    assert get_field(commit, "cisco.esa.commit.comment") == "Added a second CLI log for examples"


def test_mined_corpus_has_every_type() -> None:
    assert {p.parent.name for p in MINED_FILES} == {
        "authentication", "system", "gui_logs", "amp", "antivirus", "antispam", "error_logs", "content_scanner",
        "updater_logs", "status", "ftpd_logs", "slbld_logs", "cli_logs", "reportd_logs"}
    assert (MINED / "SOURCE.md").is_file()


@pytest.mark.parametrize("path", MINED_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_mined_lines_are_fully_recognised(path: Path) -> None:
    """Each mined file is routed by its name (``<subscription>.<source>.log``) to its own pack; lines
    relayed verbatim keep the relay's subscription name, which may route a line elsewhere."""
    datasets, problems = _check(path)
    assert problems == []
    if "relayed" not in path.name:
        assert set(datasets) == {f"cisco_esa.{path.parent.name}"}
    assert sum(datasets.values()) == len(path.read_text(encoding="utf-8").splitlines())


def test_dispatch_agrees_with_trying_every_rule(corpus: Path) -> None:
    """For the lines of these packs, dispatch picks the rule a plain loop over the pack would pick."""
    p = parser()
    paths = MINED_FILES + [corpus / ELASTIC / n for n in ELASTIC_FILES if (corpus / ELASTIC / n).is_file()]
    checked = 0
    for path in paths:
        stream = p.new_stream(path.name)
        for line in path.read_text(encoding="utf-8").splitlines():
            header = stream.header.parse(line)
            if header is None:
                continue
            pack = p.packs.get(p._route(header.body, header.appname, stream)) or p.packs["mail_logs"]
            found = pack.match(header.body)
            slow = pack.match_slow(header.body)
            assert (found[0].id if found else None) == (slow[0].id if slow else None), line
            checked += 1
    assert checked > 150
