"""Issue 12 item 17: user packs cannot hang or crash esalog. A catastrophic pattern is matched within a
time budget (the line becomes a tagged event); a "billion laughs" YAML and sub-patterns that expand
exponentially are refused at load with a clear error; a 1 MB quoted Subject costs memory in proportion
to the line, not 180 times it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli

REDOS_PACK = """\
name: redos
log_type: mail_logs
rules:
  - id: nested
    match: 'MID %{MID:cisco.esa.mid:int} (?:x+x+)+y'
  - id: catastrophic
    match: 'MID %{MID:cisco.esa.mid:int} (?:a|aa)+b'
"""


def test_catastrophic_user_pattern_is_bounded_per_line(tmp_path: Path) -> None:
    pack = tmp_path / "redos.yaml"
    pack.write_text(REDOS_PACK)
    lines = ["Mon Nov  2 08:00:01 2026 Info: MID 7 " + "a" * 60,  # never matches: Fibonacci(60) ways to fail
             "Mon Nov  2 08:00:01 2026 Info: MID 8 xxxy",  # matches a user rule
             "Mon Nov  2 08:00:01 2026 Info: Start MID 9 ICID 10",  # a built-in rule
             "Mon Nov  2 08:00:01 2026 Info: MID 6 " + "x" * 40]  # 2^40 ways to fail in re
    started = time.monotonic()
    result = run_cli("filter", "--pack", str(pack), input="".join(line + "\n" for line in lines).encode(), timeout=60)
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert took < 10, f"{took:.1f}s"
    assert "esalog_rule_timeout" in events[0]["tags"] and "catastrophic" in events[0]["error"]["message"]
    assert events[0]["event"]["original"] == lines[0]
    assert events[1]["cisco"]["esa"]["mid"] == 8 and "esalog_rule_timeout" not in events[1].get("tags", [])
    assert events[2]["event"]["action"] != "unknown"
    assert len(events) == 4 and events[3]["event"]["original"] == lines[3]


def test_billion_laughs_yaml_is_refused_at_load(tmp_path: Path) -> None:
    levels = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 10)]
    pack = tmp_path / "laughs.yaml"
    pack.write_text("name: laughs\nlog_type: mail_logs\ndescription: x\nx-anchors: &top\n  "
                    + "\n  ".join(levels) + "\nrules:\n  - id: r\n    match: 'MID %{MID:cisco.esa.mid:int} lol'\n"
                    "    set: {cisco.esa.verdict.threat_name: *a9}\n")
    result = run_cli("parse", "--pack", str(pack), "-", input=b"", timeout=60)
    assert result.returncode == 2
    assert b"laughs.yaml" in result.stderr and b"expands to more than 200,000 nodes" in result.stderr


def test_exponential_sub_patterns_are_refused_at_load(tmp_path: Path) -> None:
    patterns = ["    P0: 'x'"] + [f"    P{n}: '%{{P{n - 1}}}%{{P{n - 1}}}'" for n in range(1, 29)]
    pack = tmp_path / "expand.yaml"
    pack.write_text("name: expand\nlog_type: mail_logs\npatterns:\n" + "\n".join(patterns)
                    + "\nrules:\n  - id: big\n    match: 'MID %{MID:cisco.esa.mid:int} %{P28}'\n")
    started = time.monotonic()
    result = run_cli("parse", "--pack", str(pack), "-", input=b"", timeout=60)
    assert result.returncode == 2 and time.monotonic() - started < 20
    assert b"expand.yaml" in result.stderr and b"big" in result.stderr
    assert b"expands to more than 100,000 characters" in result.stderr


def test_megabyte_quoted_subject_costs_memory_in_proportion(tmp_path: Path) -> None:
    """Peak RSS of parsing one 1 MB ``Subject '...'`` line, over the same process parsing a short one."""
    script = """
import resource, sys
from esalog.pipeline import build_pipeline
pipeline = build_pipeline()
stream = pipeline.open_stream("t")
pipeline.process("Mon Nov  2 08:00:01 2026 Info: MID 1 Subject 'short'", stream)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
line = "Mon Nov  2 08:00:01 2026 Info: MID 1 Subject '" + "abc def " * 131072 + "'"
record = pipeline.process(line, stream)[0]
assert record.get("email.subject").startswith("abc def"), record.get("email.subject")
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120, check=True)
    grown = int(out.stdout)
    assert grown < 20 * 1024 * 1024, f"parsing a 1 MB subject grew the process by {grown / 2**20:.0f} MiB"


def test_pack_that_is_not_utf8_is_refused_without_a_traceback(tmp_path: Path) -> None:
    """A pack saved in Latin-1 (an accented rule comment, a pattern with é) is a clear configuration
    error naming the file and where, not a UnicodeDecodeError traceback."""
    pack = tmp_path / "latin1.yaml"
    pack.write_bytes("name: latin1\nlog_type: mail_logs\n# r\u00e8gle\nrules:\n  - id: r\n    match: 'MID %{MID:cisco.esa.mid:int} caf\u00e9'\n"
                     .encode("latin-1"))
    result = run_cli("parse", "--pack", str(pack), "-", input=b"", timeout=60)
    assert result.returncode == 2, result.stderr
    assert b"Traceback" not in result.stderr
    assert b"latin1.yaml" in result.stderr and b"UTF-8" in result.stderr
    assert b"line 3" in result.stderr  # where the first bad byte is


@pytest.mark.parametrize("match", [r"MID %{MID:cisco.esa.mid:int} \d{99999999}", r"MID %{MID:cisco.esa.mid:int} x{0,5000000}",
                                   "MID %{MID:cisco.esa.mid:int} " + r"(?:a{40000}|b{40000})"])
def test_huge_counted_repetition_is_refused_at_load(tmp_path: Path, match: str) -> None:
    """``\\d{99999999}`` made the ``regex`` module build a node per repetition at load: minutes and
    gigabytes (27 GB for this one) before anything was read. Refused at once, naming the rule."""
    pack = tmp_path / "repeat.yaml"
    pack.write_text(f"name: repeat\nlog_type: mail_logs\nrules:\n  - id: counted\n    match: '{match}'\n")
    started = time.monotonic()
    result = run_cli("parse", "--pack", str(pack), "-", input=b"", timeout=120)
    assert result.returncode == 2, result.stderr
    assert time.monotonic() - started < 30
    assert b"repeat.yaml" in result.stderr and b"counted" in result.stderr
    assert b"repetition" in result.stderr and b"Traceback" not in result.stderr


def test_counted_repetitions_a_rule_may_need_still_load(tmp_path: Path) -> None:
    pack = tmp_path / "fine.yaml"
    pack.write_text("name: fine\nlog_type: mail_logs\nrules:\n  - id: ok\n"
                    "    match: 'MID %{MID:cisco.esa.mid:int} [0-9a-f]{32} x{2,1000} \\{99999999\\}'\n")
    line = "Mon Nov  2 08:00:01 2026 Info: MID 7 " + "0" * 32 + " xxx {99999999}\n"
    result = run_cli("filter", "--pack", str(pack), input=line.encode(), timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["cisco"]["esa"]["mid"] == 7


def test_large_pack_written_out_is_not_taken_for_an_alias_bomb(tmp_path: Path) -> None:
    """45,000 rules written out (a pack generated from another tool's rule list: 225,000 YAML nodes, no
    alias at all) was refused as "expands to more than 200,000 nodes through its aliases". The limit is
    on what aliases add; the billion laughs above is still refused."""
    pack = tmp_path / "generated.yaml"
    pack.write_text("name: generated\nlog_type: mail_logs\nrules:\n" + "".join(
        f"  - id: gen{n}\n    match: 'Zork{n} MID %{{MID:cisco.esa.mid:int}}'\n" for n in range(45_000)))
    line = "Mon Nov  2 08:00:01 2026 Info: Zork44999 MID 12\n"
    result = run_cli("filter", "--pack", str(pack), input=line.encode(), timeout=120)
    assert result.returncode == 0, result.stderr
    event = json.loads(result.stdout)
    assert event["cisco"]["esa"]["mid"] == 12 and "esalog_unmatched" not in event.get("tags", [])


@pytest.mark.parametrize(("rule", "problem"), [
    ("    match: 'MID %{MID:cisco.esa.mid:int}'\n    examples: 5\n", "'examples' must be a list"),
    ("    match: 'MID %{MID:cisco.esa.mid:int}'\n    examples: {line: 'x'}\n", "'examples' must be a list"),
    ("    match: 7\n", "'match' must be a pattern string, got int"),
    ("    match: ''\n", "rule has no 'match' pattern"),
    ("    match: [a, b]\n", "'match' must be a pattern string, got list"),
], ids=["examples-int", "examples-mapping", "match-int", "match-empty", "match-list"])
def test_rule_field_of_the_wrong_type_is_named(tmp_path: Path, rule: str, problem: str) -> None:
    """A rule whose keys hold values of the wrong type: one line naming the file, the line, the rule and what
    is wrong with it (``examples: 5`` gave a traceback, ``match: 7`` said the rule had no pattern), exit 2."""
    pack = tmp_path / "mine.yaml"
    pack.write_text(f"name: mine\nlog_type: mail_logs\nrules:\n  - id: my-rule\n{rule}", encoding="utf-8")
    result = run_cli("parse", "--pack", str(pack), input=b"Mon Nov  2 08:00:01 2026 Info: MID 1 ICID 1\n")
    err = result.stderr.decode()
    assert 2 == result.returncode, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"esalog: error: {pack}:4 (rule 'my-rule'): {problem}"), err


@pytest.mark.parametrize("value", ["5", "[a]", "{a: 1}"])
def test_rule_id_of_the_wrong_type_is_named(tmp_path: Path, value: str) -> None:
    """``id: 5`` is an id of the wrong type, not a rule without one."""
    pack = tmp_path / "mine.yaml"
    pack.write_text(f"name: mine\nlog_type: mail_logs\nrules:\n  - id: {value}\n    match: 'x'\n", encoding="utf-8")
    result = run_cli("parse", "--pack", str(pack), input=b"")
    err = result.stderr.decode()
    assert 2 == result.returncode, err
    assert len(err.splitlines()) == 1 and f"{pack}:4" in err and "'id' must be a string" in err, err
