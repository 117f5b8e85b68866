"""Pack loading, grok expansion, dispatch keys and user packs."""

from __future__ import annotations

import pytest

from esalog.errors import PackError
from esalog.parsers.engine import CompiledPack, load_builtin_packs
from esalog.parsers.grok import BASE_PATTERNS, GrokError, body_keys, dispatch_key, expand
from esalog.parsers.pack import Pack
from esalog.parsers.parser import LineParser
from esalog.schemas import is_declared
from esalog.testing import EXAMPLE_TODAY, parse_event, run_pack_examples


def test_expand_names_groups_and_captures():
    """``%{NAME:field:conv}`` becomes a named group; the capture remembers field and converter."""
    regex, caps = expand("ICID %{ICID:cisco.esa.icid:int} %{WORD}", BASE_PATTERNS)
    assert regex == r"ICID (?P<c0>\d+) (?:\w+)"
    assert [(c.field, c.conv) for c in caps] == [("cisco.esa.icid", "int")]


def test_expand_rejects_unknown_and_recursive_patterns():
    """Unknown sub-patterns and loops are errors at load time."""
    with pytest.raises(GrokError, match="unknown sub-pattern"):
        expand("%{NOPE}", BASE_PATTERNS)
    with pytest.raises(GrokError, match="refers to itself"):
        expand("%{A}", {"A": "x%{B}", "B": "%{A}"})


@pytest.mark.parametrize("pattern,key", [
    ("Start MID %{MID:a:int} ICID %{ICID:b:int}", ("Start", "MID")),
    ("MID %{MID:x} ICID %{ICID} From: %{ADDR:y}", ("MID", "ICID")),
    ("ICID %{ICID} close", ("ICID", "close")),
    ("ICID %{ICID} (?:ACCEPT|RELAY) SG", ("ICID",)),
    ("Message %{MID} to RID", ("Message", "to")),
    ("%{WORD} x", ()),
    (r"MID %{MID} RID \[", ("MID", "RID")),
    ("MID %{MID} Subject%{GREEDYDATA}", ("MID",)),
])
def test_dispatch_key(pattern, key):
    """Only whole literal words become dispatch keys; a numeric id in second place is skipped."""
    assert dispatch_key(pattern) == key


@pytest.mark.parametrize("body,keys", [
    ("MID 1 ICID 2 From: <a>", ("MID ICID", "MID")),
    ("Begin Logfile", ("Begin Logfile", "Begin")),
    ("ICID 3 close", ("ICID close", "ICID")),
    ("x", ("x", "x")),
])
def test_body_keys(body, keys):
    """The body side computes the same keys."""
    assert body_keys(body) == keys


def test_dispatch_finds_the_same_rule_as_trying_every_rule(corpus):
    """For every corpus line, dispatch picks the first rule that a plain loop over all rules would pick."""
    packs = load_builtin_packs(declared=is_declared)
    parser = LineParser(packs)
    checked = 0
    for path in sorted(corpus.rglob("*.log")) + sorted(corpus.rglob("*.s")):
        stream = parser.new_stream(str(path))
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            header = stream.header.parse(line)
            if header is None:
                continue
            pack = packs.get(parser._route(header.body, header.appname, stream)) or packs["mail_logs"]
            found = pack.match(header.body)
            slow = pack.match_slow(header.body)
            assert (found[0].id if found else None) == (slow[0].id if slow else None), line
            checked += 1
    assert checked > 1000


def _pack(text: str) -> Pack:
    return Pack.from_text(text, "user.yaml")


@pytest.mark.parametrize("text,problem", [
    ("name: x\nrules: []\n", "'rules' is an empty list"),
    ("name: x\n", "no 'rules' list"),
    ("name: x\nrules: {a: 1}\n", "'rules' must be a list of rules, got dict"),
    ("rules: [{id: a, match: b}]\n", "no 'name'"),
    ("name: x\nrules:\n  - {id: a}\n", "no 'match'"),
    ("name: x\nrules:\n  - {id: a, match: b, sett: {}}\n", "unknown rule keys: sett"),
    ("name: x\nname: y\nrules: [{id: a, match: b}]\n", "duplicate key 'name'"),
    ("name: x\nrules:\n  - {id: a, match: b}\n  - {id: a, match: c}\n", "duplicate rule id"),
    ("name: x\nrules: [{id: a, match: b\n", "invalid YAML"),
])
def test_malformed_pack_errors_name_the_problem(text, problem):
    """Structural errors name the file and the problem."""
    with pytest.raises(PackError, match=problem) as info:
        _pack(text)
    assert "user.yaml" in str(info.value)


@pytest.mark.parametrize("match,extra,problem", [
    ("ICID %{NOPE:cisco.esa.icid}", "", "unknown sub-pattern %{NOPE}"),
    ("ICID (%{ICID:cisco.esa.icid}", "", "invalid regular expression"),
    ("ICID %{ICID:cisco.esa.icid:bogus}", "", "unknown converter 'bogus'"),
    ("ICID %{ICID:cisco.esa.nonsense:int}", "", "field 'cisco.esa.nonsense' is not declared"),
    ("ICID %{ICID:cisco.esa.icid:int}", "    post: [nothing]\n", "unknown post-processor 'nothing'"),
])
def test_compile_errors_name_file_and_rule(match, extra, problem):
    """Errors found while compiling point at the file, the rule id and its line."""
    pack = _pack(f"name: x\nrules:\n  - id: my-rule\n    match: '{match}'\n{extra}")
    with pytest.raises(PackError, match=problem) as info:
        CompiledPack([pack], declared=is_declared)
    assert "user.yaml:3 (rule 'my-rule')" in str(info.value)


def test_user_pack_takes_precedence_and_labels_are_free(tmp_path):
    """A user rule is tried before the built-in ones and may set labels.*."""
    user = tmp_path / "mine.yaml"
    user.write_text(
        "name: mine\nlog_type: mail_logs\nrules:\n"
        "  - id: my-close\n"
        "    match: 'ICID %{ICID:cisco.esa.icid:int} close'\n"
        "    set: {event.action: my-close, labels.team: mail}\n"
        "    examples:\n"
        "      - line: 'Thu Aug 14 11:05:36 2014 Info: ICID 7 close'\n"
        "        fields: {event.action: my-close, labels.team: mail, cisco.esa.icid: 7}\n"
    )
    parser = LineParser.from_options([user])
    stream = parser.new_stream("t", today=EXAMPLE_TODAY)
    event = parse_event(parser, "Thu Aug 14 11:05:36 2014 Info: ICID 7 close", stream)
    assert event["cisco"]["esa"]["kind"] == "my-close"
    assert event["labels"] == {"team": "mail"}
    # the user rule shadows the built-in one: `patterns test` says so instead of hiding it
    failures = [r for r in run_pack_examples(parser) if not r.ok]
    assert [(r.rule_id, r.problem) for r in failures] == [
        ("connection-closed", "read by rule 'my-close' instead of 'connection-closed'")]


def test_user_pack_with_same_id_replaces_builtin(tmp_path):
    """A user rule with a built-in id replaces that rule instead of clashing."""
    user = tmp_path / "over.yaml"
    user.write_text("name: over\nrules:\n  - id: connection-closed\n"
                    "    match: 'ICID %{ICID:cisco.esa.icid:int} close'\n    set: {event.action: closed-my-way}\n")
    parser = LineParser.from_options([user])
    event = parse_event(parser, "Thu Aug 14 11:05:36 2014 Info: ICID 7 close", parser.new_stream("t"))
    assert event["event"]["action"] == "closed-my-way"
    assert sum(r.id == "connection-closed" for r in parser.packs["mail_logs"].rules) == 1


def test_builtin_examples_all_pass():
    """Every built-in rule has at least one example and each is read by its own rule."""
    parser = LineParser.from_options()
    results = run_pack_examples(parser)
    assert [r for r in results if not r.ok] == []
    with_examples = {r.rule_id for r in results}
    assert {r.id for p in parser.packs.values() for r in p.rules} <= with_examples
