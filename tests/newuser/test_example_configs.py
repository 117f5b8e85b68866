"""The Logstash and Fluent Bit configurations under examples/ cannot be run here (neither host installs), so
what each host does with esalog's output is checked against the esalog side, run as the configs run it:

* Logstash's ``pipe`` input hands its codec one line at a time with the newline already removed
  (logstash-input-pipe), so the codec must be ``json``: ``json_lines`` waits for a newline that never comes.
* Fluent Bit's es output adds its own time key to every record; esalog's events carry ``@timestamp``, so the
  output's Time_Key must be another name or Elasticsearch refuses the duplicate key.
* Fluent Bit's exec input reads a line into Buf_Size bytes (4096 by default); esalog's longest events are
  longer than that, so Buf_Size must be set above them.
"""

from __future__ import annotations

import json
import re

from tests.conftest import ROOT, run_cli

EXAMPLES = ROOT / "examples"
#: the public corpus file with the longest events (Consolidated Event Log lines with many keys)
LONG_EVENTS = ROOT / "tests" / "corpus" / "sekoia-intake-formats" / "consolidated_event.log"
UNITS = {"": 1, "K": 1024, "KB": 1024, "M": 1024 ** 2, "MB": 1024 ** 2}


def _block(text: str, name: str) -> str:
    """The body of the first ``name { ... }`` block of a Logstash config (braces balanced)."""
    start = re.search(rf"^\s*{name}\s*{{", text, re.M)
    assert start is not None, f"no {name} block"
    depth, i = 1, start.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[start.end():i - 1]


def _fluent_sections(text: str) -> list[tuple[str, dict[str, str]]]:
    """The sections of a classic-mode Fluent Bit file, commented-out ones included (keys lower-cased)."""
    sections: list[tuple[str, dict[str, str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        m = re.fullmatch(r"#?\s*\[(\w+)\]", line)
        if m:
            sections.append((m.group(1).upper(), {}))
            continue
        m = re.fullmatch(r"#?\s*(\w+)\s+(.+)", line)
        if m and sections and raw.startswith(("    ", "#     ")):
            sections[-1][1][m.group(1).lower()] = m.group(2).strip()
    return sections


def _size(value: str) -> int:
    m = re.fullmatch(r"(\d+)\s*([KMkm][Bb]?)?", value)
    assert m is not None, value
    return int(m.group(1)) * UNITS[(m.group(2) or "").upper()]


def test_logstash_pipe_input_decodes_each_line_as_json() -> None:
    pipe = _block((EXAMPLES / "logstash" / "esalog.conf").read_text(), "pipe")
    codec = re.search(r"codec\s*=>\s*(\w+)", pipe)
    assert codec is not None and codec.group(1) == "json", pipe
    command = re.search(r'command\s*=>\s*"([^"]*)"', pipe)
    assert command is not None and "esalog filter" in command.group(1)
    # the esalog side: one whole JSON object per line, which the json codec decodes line by line
    line = (ROOT / "examples" / "logs" / "syslog-push.log").read_bytes()
    proc = run_cli("filter", input=line)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode().splitlines()
    assert len(out) == len(line.splitlines())
    assert all(isinstance(json.loads(o), dict) for o in out)


def test_fluent_bit_es_output_does_not_add_a_second_timestamp() -> None:
    sections = _fluent_sections((EXAMPLES / "fluent-bit" / "fluent-bit.conf").read_text())
    output = next(s for name, s in sections if name == "OUTPUT" and s.get("name") == "es")
    proc = run_cli("filter", input=(EXAMPLES / "logs" / "syslog-push.log").read_bytes())
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(o) for o in proc.stdout.decode().splitlines()]
    assert events and all("@timestamp" in e for e in events)
    # the es output's default Time_Key is @timestamp: it must be set to a name the events do not have
    assert output.get("time_key") not in (None, "@timestamp"), output
    assert all(output["time_key"] not in e for e in events)


def test_fluent_bit_exec_buffer_holds_the_longest_event() -> None:
    sections = _fluent_sections((EXAMPLES / "fluent-bit" / "fluent-bit.conf").read_text())
    exec_input = next(s for name, s in sections if name == "INPUT" and s.get("name") == "exec")
    parsers = _fluent_sections((EXAMPLES / "fluent-bit" / "parsers.conf").read_text())
    assert any(s.get("name") == exec_input["parser"] and s.get("format") == "json" for _, s in parsers)
    proc = run_cli("parse", "-q", "--summaries", str(LONG_EVENTS))
    assert proc.returncode == 0, proc.stderr
    longest = max(len(line) + 1 for line in proc.stdout.splitlines())
    assert longest > 4096  # the exec input's default Buf_Size would cut these events
    assert _size(exec_input["buf_size"]) >= longest
