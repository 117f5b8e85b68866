"""Start-up: a run pays only for the packs, rules and modules its lines need."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from esalog.parsers.engine import builtin_pack_paths
from esalog.parsers.pack import Pack
from esalog.parsers.parser import LineParser

MAIL_LINE = ("Thu Aug 14 11:04:31 2014 Info: New SMTP ICID 10293 interface Management (10.0.0.5) "
             "address 192.0.2.17 reverse dns host mail.example.org verified yes")
#: Modules an empty-file ``esalog parse`` has no use for (each costs milliseconds of every start).
#: (The compiled core, when built, is loaded at start: it reads the lines of both the stateful and the
#: stateless pipelines.)
NOT_AT_START = ("yaml", "multiprocessing", "email.header", "tempfile", "gzip", "esalog.parsers.compiler",
                "esalog.parsers.pack", "hashlib", "shutil")


def test_parse_of_an_empty_file_imports_only_what_it_needs(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_text("")
    script = ("import sys\nfrom esalog.cli import main\n"
              f"code = main(['parse', '-q', {str(empty)!r}, '-o', {str(tmp_path / 'out.json')!r}])\n"
              f"print(code, sorted(m for m in {NOT_AT_START!r} if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(None, 1) == ["0", "[]\n"]


def test_a_line_compiles_its_own_pack_and_the_rules_dispatch_reaches() -> None:
    parser = LineParser.from_options()
    mail = parser.packs["mail_logs"]
    record = parser.parse(MAIL_LINE, parser.new_stream("mail.current"))
    assert record.rule_id == "connection-opened"
    compiled = [rule for rule in mail._compiled if rule is not None]
    assert 0 < len(compiled) < len(mail._compiled) // 4
    assert all("_pending" in pack.__dict__ for name, pack in parser.packs.items() if name != "mail_logs")
    assert len(mail.rules) == len(mail._compiled)  # asking for every rule compiles the rest
    assert all(rule is not None for rule in mail._compiled)


def test_a_pack_first_used_by_many_threads_at_once_is_built_once() -> None:
    expected = LineParser.from_options().parse(MAIL_LINE, LineParser.from_options().new_stream("x"))
    parser = LineParser.from_options()
    start = threading.Barrier(8)
    rules = []

    def parse() -> None:
        start.wait()
        rules.append(parser.parse(MAIL_LINE, parser.new_stream("x")).rule)

    threads = [threading.Thread(target=parse) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(rules) == 8 and all(rule is rules[0] for rule in rules)  # one compiled rule, not eight
    assert rules[0] == expected.rule


def test_each_built_in_pack_is_named_after_its_log_type() -> None:
    """A deferred pack is found by its file name before it is read."""
    for path in builtin_pack_paths():
        assert Pack.from_yaml(path).log_type == path.stem


def test_the_yaml_cache_gives_the_same_packs_and_follows_edits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from esalog import yamlcache

    monkeypatch.setenv(yamlcache.CACHE_ENV, str(tmp_path / "cache"))
    for path in builtin_pack_paths():
        assert Pack.from_yaml(path) == Pack.from_yaml(path) == Pack.from_text(path.read_text(), str(path))
    assert len(list((tmp_path / "cache" / "yaml").iterdir())) == len(builtin_pack_paths())
    user = tmp_path / "mine.yaml"
    user.write_text("name: mine\nrules:\n  - id: one\n    match: 'ICID %{INT:cisco.esa.icid:int} one'\n")
    assert Pack.from_yaml(user).rules[0].id == "one"
    user.write_text("name: mine\nrules:\n  - id: two\n    match: 'ICID %{INT:cisco.esa.icid:int} two'\n")
    assert Pack.from_yaml(user).rules[0].id == "two"  # the entry follows the file's text
    entries = list((tmp_path / "cache" / "yaml").iterdir())
    assert len(entries) == len(builtin_pack_paths()) + 1  # one entry per file, replaced
    entries[0].write_text("{not json")  # a damaged entry is parsed again, then replaced
    assert [Pack.from_yaml(p) for p in builtin_pack_paths()] == [Pack.from_text(p.read_text(), str(p))
                                                                 for p in builtin_pack_paths()]


def test_the_yaml_cache_can_be_off_or_unwritable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from esalog import yamlcache

    monkeypatch.setenv(yamlcache.CACHE_ENV, "off")
    assert yamlcache.cache_dir() is None
    pack = builtin_pack_paths()[0]
    assert Pack.from_yaml(pack) == Pack.from_text(pack.read_text(), str(pack))
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv(yamlcache.CACHE_ENV, str(blocked / "below-a-file"))
    assert Pack.from_yaml(pack) == Pack.from_text(pack.read_text(), str(pack))
    dated = tmp_path / "dated.yaml"
    dated.write_text("a: 2014-08-14\n")  # JSON cannot hold a date: parsed each time, not cached
    monkeypatch.setenv(yamlcache.CACHE_ENV, str(tmp_path / "c2"))
    import datetime

    assert yamlcache.load(dated.read_text(), str(dated), _yaml) == {"a": datetime.date(2014, 8, 14)}
    assert not (tmp_path / "c2" / "yaml").exists() or not list((tmp_path / "c2" / "yaml").iterdir())


def _yaml(text: str) -> object:
    import yaml

    return yaml.safe_load(text)

