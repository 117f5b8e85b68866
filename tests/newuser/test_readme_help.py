"""Issue 10, point 9: the README and ``--help`` agree. Every option the README lists in its command and
option tables is in the ``--help`` of each command it is listed for, and every option of the shared
parsing, tracking and delivery groups is in the README; HEC and the Splunk input send the appliance as
``host`` (its hostname, else the serial number of the file's header lines), as the README says."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import pytest

from esalog.testing import FakeHEC
from tests.conftest import ROOT, run_cli

README = (ROOT / "README.md").read_text()
#: every command (as the README names it) and its argv
COMMANDS = {
    "parse": ["parse"], "filter": ["filter"], "listen": ["listen"], "ship": ["ship"], "report": ["report"],
    "patterns list": ["patterns", "list"], "patterns test": ["patterns", "test"],
    "patterns coverage": ["patterns", "coverage"], "schema": ["schema"], "es-template": ["es-template"],
    "splunk-app build": ["splunk-app", "build"],
}
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-o|-q)(?![\w-])")
CELL = re.compile(r"(?<!\\)\|")  # a table cell boundary (README cells escape their own pipes as \|)
#: README option table -> the --help groups it documents
GROUPS = {"parsing": ["parsing"], "session tracking": ["session tracking (on by default)"],
          "delivery": ["delivery"], "reading": ["reading"]}


@cache
def help_text(command: str) -> str:
    proc = run_cli(*COMMANDS[command], "--help")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode()


def help_options(command: str, group: str | None = None) -> set[str]:
    """The options ``--help`` lists (in *group* only, when given)."""
    text = help_text(command)
    if group is not None:
        m = re.search(rf"^{re.escape(group)}:\n(.*?)(?=^\S|\Z)", text, re.M | re.S)
        if m is None:
            return set()
        text = m.group(1)
    return {o for line in text.splitlines() if line.startswith("  -") for o in OPTION.findall(line.split("  ")[1])}


def tables() -> list[tuple[str, list[str], list[str]]]:
    """(title line, commands named in it, rows) of each README table whose header is ``| option |`` or
    ``| sink |``; the line before the table names the commands it is for, in backticks."""
    found = []
    lines = README.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(("| option | meaning |", "| sink |")):
            title = next(lines[j] for j in range(i - 1, -1, -1) if lines[j].strip())
            named = [c for c in re.findall(r"`([^`]+)`", title) if c in COMMANDS]
            rows = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                rows.append(row)
            found.append((title, named, rows))
    return found


def test_readme_tables_name_their_commands() -> None:
    found = tables()
    assert len(found) == 5  # parsing, sinks, delivery, reading, session tracking
    for title, named, rows in found:
        assert named, f"the line before a table must name its commands: {title!r}"
        assert rows


def test_every_option_in_the_readme_tables_is_in_the_help_of_its_commands() -> None:
    missing = []
    for title, named, rows in tables():
        for row in rows:
            first = CELL.split(row)[1] if not title.lower().startswith("sinks") else row
            for option in OPTION.findall(first):
                missing += [f"{option} ({command})" for command in named if option not in help_options(command)]
    assert missing == []


def test_every_option_in_the_commands_table_is_in_its_help() -> None:
    table = README[README.index("| command | what it does |"):]
    table = table[: table.index("\n\n")]
    checked = 0
    for row in table.splitlines()[2:]:
        cells = CELL.split(row)
        for usage in re.findall(r"`esalog ([^`]+)`", cells[1]):
            command = next(c for c in sorted(COMMANDS, key=len, reverse=True) if usage.startswith(c))
            for option in OPTION.findall(usage) + OPTION.findall("|".join(cells[2:-1])):
                assert option in help_options(command), f"{option} is not in `esalog {command} --help`"
                checked += 1
    assert checked > 25


@pytest.mark.parametrize("table", list(GROUPS))
def test_every_shared_option_of_the_help_is_in_the_readme(table: str) -> None:
    """The reverse: each option of a shared group, on every command the table names, is in the table."""
    _, named, rows = next(t for t in tables() if t[0].lower().startswith(f"{table} options"))
    documented = {o for row in rows for o in OPTION.findall(CELL.split(row)[1])}
    for command in named:
        listed = set().union(*(help_options(command, group) for group in GROUPS[table]))
        assert listed, f"`esalog {command} --help` has no {GROUPS[table]} group"
        assert listed - documented == set(), f"{command}: {table} options missing from the README"


def test_shared_parsing_options_are_on_every_parsing_command() -> None:
    """The parsing table names patterns coverage too, and each named command takes every option."""
    _, named, _ = tables()[0]
    assert set(named) == {"parse", "filter", "listen", "ship", "report", "patterns coverage"}


# ------------------------------------------------------------------------------------- HEC host

SERIAL = "420D4FEA709365BFB3E3-0AF2EE5E700E"
FILE_LINES = [
    "Thu Aug 14 11:04:31 2014 Info: Version: 15.0.0-104 SN: " + SERIAL,
    "Thu Aug 14 11:04:31 2014 Info: Time offset from UTC: 0 seconds",
    "Thu Aug 14 11:04:51 2014 Info: Start MID 1404 ICID 10293",
    "Thu Aug 14 11:04:51 2014 Info: Message finished MID 1404 done",
]
SYSLOG_LINES = ["<22>Aug 14 11:04:51 esa2 mail_logs: Info: Start MID 7 ICID 8"]


def test_hec_host_is_the_appliance(tmp_path: Path) -> None:
    """File input without --host: host = the serial number from the header; a syslog line: its host;
    --host: that name (it is observer.hostname, see the README); the README says so."""
    log = tmp_path / "mail.current"
    log.write_text("".join(line + "\n" for line in FILE_LINES))
    syslog = tmp_path / "push.log"
    syslog.write_text("".join(line + "\n" for line in SYSLOG_LINES))
    with FakeHEC(token="t0k3n") as hec:
        for extra in ([], ["--host", "esa-paris"]):
            proc = run_cli("ship", "--to", "hec", "--hec-url", hec.url, "--quiet", *extra, str(log), str(syslog),
                           env={"ESALOG_HEC_TOKEN": "t0k3n"})
            assert proc.returncode == 0, proc.stderr
        events = hec.events
    first, second = events[:5], events[5:]
    assert [e["event"]["event"]["original"] for e in first] == FILE_LINES + SYSLOG_LINES
    # the header line itself comes before the serial is known: no host (Splunk's default)
    assert [e.get("host") for e in first] == [None, SERIAL, SERIAL, SERIAL, "esa2"]
    assert [e.get("host") for e in second] == ["esa-paris"] * 4 + ["esa2"]
    sinks = README[README.index("| sink | what is sent |"):README.index("How answers are handled")]
    assert "`host` = the appliance: its host name" in sinks and "serial number" in sinks


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = run_cli("splunk-app", "build", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    return out / "TA-esalog"


def test_splunk_input_host_is_the_appliance(app: Path, tmp_path: Path) -> None:
    """The modular input, run like splunkd runs it: <host> is the serial number for a file without host
    names, and the line's host for a syslog file."""
    import subprocess
    import sys

    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "mail.current").write_text("".join(line + "\n" for line in FILE_LINES))
    items = f'<param name="path">{spool / "mail.current"}</param><param name="follow">0</param>'
    xml = (f"<input><server_host>sh</server_host><server_uri>https://127.0.0.1:8089</server_uri>"
           f"<session_key>x</session_key><checkpoint_dir>{tmp_path}</checkpoint_dir>"
           f'<configuration><stanza name="esalog://esa" app="TA-esalog">{items}</stanza></configuration></input>')
    proc = subprocess.run([sys.executable, "-S", "-I", str(app / "bin" / "esalog.py")], input=xml.encode(),
                          capture_output=True, timeout=120, cwd=app)
    assert proc.returncode == 0, proc.stderr
    events = list(ET.fromstring(proc.stdout).iter("event"))
    assert [json.loads(e.findtext("data") or "")["event"]["original"] for e in events] == FILE_LINES
    assert [e.findtext("host") for e in events] == [None, SERIAL, SERIAL, SERIAL]


def test_readme_user_pack_example_passes_as_shown(tmp_path: Path) -> None:
    """The user pack README shows, saved as site.yaml, gives the line README says ``patterns test`` prints."""
    block = re.search(r"```yaml\n(name: site\n.*?)```", README, re.S)
    assert block is not None
    (tmp_path / "site.yaml").write_text(block.group(1))
    shown = re.search(r"esalog patterns test --pack site\.yaml +# (.*)", README)
    assert shown is not None
    proc = subprocess.run([sys.executable, "-m", "esalog", "patterns", "test", "--pack", "site.yaml"],
                          cwd=tmp_path, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().splitlines()[0] == shown.group(1)


def test_readme_service_unit_command_ships(tmp_path: Path) -> None:
    """The ``ExecStart`` of README's service unit, with its URL and paths pointed here and without
    ``--follow`` (so that it ends), ships every line to HEC and leaves the checkpoint it names."""
    unit = re.search(r"```ini\n(\[Unit\]\nDescription=esalog: Cisco ESA mail logs to Splunk HEC\n.*?)```", README, re.S)
    assert unit is not None
    exec_start = re.search(r"^ExecStart=(.*?)(?<!\\)\n", unit.group(1), re.S | re.M)
    assert exec_start is not None
    argv = shlex.split(exec_start.group(1).replace("\\\n", " "))
    assert argv[0] == "/opt/esalog/.venv/bin/esalog" and "--follow" in argv
    spool = tmp_path / "esa"
    spool.mkdir()
    lines = (ROOT / "examples" / "logs" / "mail.@20261102T080000.s.log").read_text()
    (spool / "mail.current").write_text(lines)
    (tmp_path / "hec.token").write_text("t0k3n\n")
    with FakeHEC(token="t0k3n") as hec:
        args = [a.replace("https://splunk.example.com:8088", hec.url).replace("/etc/esalog", str(tmp_path))
                .replace("/var/lib/esalog", str(tmp_path)).replace("/var/log/esa", str(spool))
                for a in argv[1:] if a != "--follow"]
        proc = run_cli(*args, timeout=60)
        assert proc.returncode == 0, proc.stderr
        sent = [e for e in hec.events if e["event"]["event"]["action"] != "message-summary"]
        assert len(sent) == len(lines.splitlines())
        assert {e.get("index") for e in hec.events} == {"email"}
    assert (tmp_path / "ship.ckpt").is_file()
