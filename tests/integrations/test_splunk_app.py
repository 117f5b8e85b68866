"""The Splunk app TA-esalog, built by the CLI and run the way splunkd runs it (no Splunk needed).

The app's scripts run with ``python -S -I``: no site-packages, only the standard library and the app's
own ``lib/`` (as inside Splunk, where orjson and the rest of this venv do not exist).
"""

from __future__ import annotations

import csv
import io
import json
import re
import signal
import subprocess
import sys
import tarfile
import threading
import time
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import run_cli

LINES = [
    "Thu Aug 14 11:04:31 2014 Info: Time offset from UTC: -21600 seconds",
    "Thu Aug 14 11:04:31 2014 Info: New SMTP ICID 10293 interface Management (192.168.0.199) address"
    " 192.168.0.200 reverse dns host ns.example.com verified no",
    "Thu Aug 14 11:04:51 2014 Info: Start MID 1404 ICID 10293",
    "Thu Aug 14 11:04:51 2014 Info: MID 1404 ICID 10293 From: <user@domain.com>",
]
MORE_LINES = [
    "Thu Aug 14 11:05:36 2014 Info: ICID 10293 lost",
    "Thu Aug 14 11:05:36 2014 Info: Message aborted MID 1404 Receiving aborted",
    "Thu Aug 14 11:05:36 2014 Info: Message finished MID 1404 aborted",
]
SCHEME_ARGS = {"path", "follow", "time_zone", "inbound_timeout", "summaries", "log_type"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``esalog splunk-app build -o DIR``; returns DIR."""
    out = tmp_path_factory.mktemp("dist")
    proc = run_cli("splunk-app", "build", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def run_app_script(app: Path, script: str, *args: str,
                   input: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run ``bin/SCRIPT`` like splunkd: a bare interpreter that sees only the app's lib/."""
    return subprocess.run([sys.executable, "-S", "-I", str(app / "bin" / script), *args],
                          input=input, capture_output=True, timeout=120, cwd=app)


def test_build_writes_directory_and_archives(built: Path) -> None:
    """TA-esalog/ plus .tgz and .spl holding it, with its dependencies in lib/ and no compiled code."""
    app = built / "TA-esalog"
    from esalog import __version__

    tgz, spl = built / f"TA-esalog-{__version__}.tgz", built / f"TA-esalog-{__version__}.spl"
    assert tgz.read_bytes() == spl.read_bytes()
    with tarfile.open(tgz) as tar:
        names = set(tar.getnames())
    for member in ("default/app.conf", "README/inputs.conf.spec", "bin/esalog.py", "bin/esaparse.py",
                   "default/props.conf", "default/eventtypes.conf", "default/tags.conf",
                   "default/commands.conf", "metadata/default.meta", "lib/esalog/__init__.py",
                   "lib/splunklib/modularinput/script.py", "lib/yaml/__init__.py",
                   "lib/esalog/parsers/packs/mail_logs.yaml"):
        assert f"TA-esalog/{member}" in names
        assert (app / member).is_file()
    assert not [n for n in names if n.endswith((".so", ".pyc")) or "/_core." in n]
    # neither the shippers nor the test kit (fake servers, peers): inside Splunk, Splunk ships
    assert not [n for n in names if n.startswith(("TA-esalog/lib/esalog/connectors", "TA-esalog/lib/esalog/testing"))]
    assert f"version = {__version__}" in (app / "default" / "app.conf").read_text()
    assert "@@" not in (app / "default" / "app.conf").read_text()
    spec_args = set(re.findall(r"^(\w+) = <", (app / "README" / "inputs.conf.spec").read_text(), re.M))
    assert spec_args == SCHEME_ARGS
    from esalog.parsers.engine import builtin_log_types

    spec = (app / "README" / "inputs.conf.spec").read_text()
    log_type = " ".join(spec.split("log_type = <string>", 1)[1].replace("*", " ").split())
    assert [name for name in builtin_log_types() if not re.search(rf"\b{name}\b", log_type)] == []
    commands = (app / "default" / "commands.conf").read_text()
    assert "[esaparse]" in commands and "chunked = true" in commands
    props = (app / "default" / "props.conf").read_text()
    for stanza in ("[cisco:esa:json]", "[cisco:esa:message]"):
        block = props.split(stanza, 1)[1].split("\n[", 1)[0]
        assert "KV_MODE = json" in block and 'TIME_PREFIX = \\"@timestamp\\":\\"' in block


def test_cim_action_covers_every_final_disposition(built: Path) -> None:
    """props.conf maps every disposition of a finished message to one of CIM Email's actions."""
    from esalog.tracking.summary import DISPOSITIONS

    props = (built / "TA-esalog" / "default" / "props.conf").read_text()
    evals = re.findall(r"^EVAL-action = case\((.*)\)$", props, re.M)
    assert len(evals) == 2 and evals[0] == evals[1]  # cisco:esa:json (HEC) and cisco:esa:message
    mapping = dict(re.findall(r"'cisco\.esa\.disposition'==\"(\w+)\", \"(\w+)\"", evals[0]))
    assert set(mapping.values()) <= {"delivered", "blocked", "quarantined", "deleted"}
    assert set(mapping) == set(DISPOSITIONS) - {"deferred", "unknown"}  # still open or unknown: no action


def read_conf(path: Path) -> dict[str, dict[str, str]]:
    """A .conf file as {stanza: {setting: value}} (no continuation lines in the app's files)."""
    stanzas: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith("[") and line.rstrip().endswith("]"):
            current = stanzas.setdefault(line.strip()[1:-1], {})
        elif " = " in line and not line.lstrip().startswith("#"):
            key, value = line.split(" = ", 1)
            current[key.strip()] = value.strip()
    return stanzas


def splunk_field_names(schema: dict[str, object], prefix: str = "") -> set[str]:
    """The field names KV_MODE = json gives events of *schema*: dotted paths, ``{}`` after an array."""
    names = {prefix} if prefix else set()
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for key, sub in properties.items():
            names |= splunk_field_names(sub, f"{prefix}.{key}" if prefix else key)
    kind = schema.get("type")
    items = schema.get("items")
    if (kind == "array" or (isinstance(kind, list) and "array" in kind)) and isinstance(items, dict):
        names |= splunk_field_names(items, prefix + "{}")
    return names


def test_props_and_eventtypes_read_fields_the_events_have(built: Path) -> None:
    """Every field a FIELDALIAS, EVAL or eventtype of the app reads is one esalog's events can carry (their
    JSON Schema, as Splunk names the fields): a misspelt or renamed field would map nothing, silently."""
    app = built / "TA-esalog"
    schema = json.loads((app / "lib" / "esalog" / "schemas" / "event.schema.json").read_text())
    known = splunk_field_names(schema)
    # attachments and summary recipients are objects the schema leaves open; its descriptions name their fields
    email, esa = schema["properties"]["email"], schema["properties"]["cisco"]["properties"]["esa"]
    for field, node, members in (
            ("email.attachments", email["properties"]["attachments"], ("file.name", "file.hash.sha256")),
            ("cisco.esa.recipients", esa["properties"]["recipients"], ("address", "fate", "response"))):
        assert all(member in node["description"] for member in members), node["description"]
        known |= {f"{field}{{}}.{member}" for member in members}
    assert {"email.from.address{}", "email.to.address{}", "cisco.esa.size_bytes"} <= known
    read: set[tuple[str, str]] = set()
    for stanza, settings in read_conf(app / "default" / "props.conf").items():
        for key, value in settings.items():
            if key.startswith("FIELDALIAS-"):
                read |= {(stanza, source) for source, _ in re.findall(r"(\S+) AS (\S+)", value)}
            elif key.startswith("EVAL-"):
                read |= {(stanza, field) for field in re.findall(r"'([^']+)'", value)}
    for stanza, settings in read_conf(app / "default" / "eventtypes.conf").items():
        read |= {(stanza, field) for field in re.findall(r'"?([\w.{}]+)"?=', settings["search"])
                 if field not in ("sourcetype", "eventtype", "action")}
    assert len(read) > 50
    assert sorted(f"{stanza}: {field}" for stanza, field in read if field not in known) == []


#: CIM Email fields the summaries provide (src_host and abort_category are extras).
CIM_EMAIL_FIELDS = {"action", "dest", "duration", "file_hash", "file_name", "filter_action", "internal_message_id",
                    "message_id", "protocol", "recipient", "recipient_count", "recipient_status", "signature",
                    "size", "src", "src_user", "subject", "vendor_product"}


def test_cim_email_data_model_datasets_and_fields(built: Path) -> None:
    """Each dataset of CIM Email (All_Email, Delivery, Content, Filtering) has a tagged esalog eventtype on
    the message summaries, and both JSON sourcetypes give the CIM fields."""
    default = built / "TA-esalog" / "default"
    eventtypes, tags = read_conf(default / "eventtypes.conf"), read_conf(default / "tags.conf")
    tagged: dict[str, set[str]] = {}
    for stanza, settings in tags.items():
        for tag, state in settings.items():
            if state == "enabled":
                tagged.setdefault(tag, set()).add(stanza.removeprefix("eventtype="))
    for tag in ("email", "delivery", "content", "filter"):  # All_Email, Delivery, Content, Filtering
        names = tagged.get(tag, set())
        assert names, f"no eventtype tagged {tag}"
        for name in names:
            search = eventtypes[name]["search"]
            assert name == "esalog_email" or "eventtype=esalog_email " in search  # summaries only
    assert '"email.attachments{}.file.name"=*' in eventtypes["esalog_email_content"]["search"]
    props = read_conf(default / "props.conf")
    for sourcetype in ("cisco:esa:json", "cisco:esa:message"):
        settings = props[sourcetype]
        provided = {key.split("-", 1)[1] for key in settings if key.startswith("EVAL-")}
        for key, value in settings.items():
            if key.startswith("FIELDALIAS-"):
                provided |= {target for _, target in re.findall(r"(\S+) AS (\S+)", value)}
        assert CIM_EMAIL_FIELDS <= provided, sorted(CIM_EMAIL_FIELDS - provided)
    assert props["cisco:esa:json"] == {**props["cisco:esa:message"], **{
        key: props["cisco:esa:json"][key] for key in ("TRUNCATE", "description")}}


def test_scheme(built: Path) -> None:
    """``--scheme`` prints the scheme XML with every parameter of inputs.conf.spec."""
    proc = run_app_script(built / "TA-esalog", "esalog.py", "--scheme")
    assert proc.returncode == 0, proc.stderr
    root = ET.fromstring(proc.stdout)
    assert root.tag == "scheme"
    assert root.findtext("use_external_validation") == "true"
    assert root.findtext("streaming_mode") == "xml"
    args = {arg.get("name"): arg for arg in root.iter("arg")}
    assert set(args) == SCHEME_ARGS
    assert args["path"].findtext("required_on_create") == "true"
    assert args["follow"].findtext("data_type") == "boolean"


def validation_xml(checkpoint_dir: Path, **params: str) -> bytes:
    items = "".join(f'<param name="{k}">{v}</param>' for k, v in params.items())
    return (f"<items><server_host>sh</server_host><server_uri>https://127.0.0.1:8089</server_uri>"
            f"<session_key>not-a-real-key</session_key><checkpoint_dir>{checkpoint_dir}</checkpoint_dir>"
            f'<item name="seed">{items}</item></items>').encode()


@pytest.mark.parametrize(("params", "reason"), [
    ({"path": "{tmp}/mail.@*.s", "follow": "1", "time_zone": "Europe/Paris", "inbound_timeout": "300"},
     None),
    ({"path": "{tmp}/mail.current"}, None),  # no file yet: the ESA pushes later
    ({"path": "{tmp}/missing/mail.@*.s"}, "there is no directory {tmp}/missing on this host"),
    ({"path": "{tmp}/missing/*/mail.current"}, "there is no directory {tmp}/missing on this host"),
    ({"path": "relative/mail.log"}, "path must be absolute"),
    ({"path": "/x/mail.log", "time_zone": "Mars/Olympus"}, "unknown time zone"),
    ({"path": "/x/mail.log", "inbound_timeout": "soon"}, "inbound_timeout"),
    ({"path": "/x/mail.log", "follow": "maybe"}, "follow must be a boolean"),
    ({"path": "/x/mail.log", "log_type": "no_such_log"}, "log_type must be one of"),
])
def test_validate_arguments(built: Path, tmp_path: Path, params: dict[str, str], reason: str | None) -> None:
    """``--validate-arguments``: silent success, or ``<error><message>`` and a non-zero exit."""
    params = {key: value.replace("{tmp}", str(tmp_path)) for key, value in params.items()}
    reason = reason.replace("{tmp}", str(tmp_path)) if reason else None
    proc = run_app_script(built / "TA-esalog", "esalog.py", "--validate-arguments",
                          input=validation_xml(tmp_path, **params))
    if reason is None:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stdout == b""
    else:
        assert proc.returncode == 1
        message = ET.fromstring(proc.stdout).findtext("message")
        assert message is not None and reason in message


def input_xml(checkpoint_dir: Path, path: Path, **params: str) -> bytes:
    items = "".join(f'<param name="{k}">{v}</param>' for k, v in {"path": path, **params}.items())
    return (f"<input><server_host>sh</server_host><server_uri>https://127.0.0.1:8089</server_uri>"
            f"<session_key>not-a-real-key</session_key><checkpoint_dir>{checkpoint_dir}</checkpoint_dir>"
            f'<configuration><stanza name="esalog://seed" app="TA-esalog">{items}</stanza></configuration>'
            f"</input>").encode()


def stream_events(built: Path, xml: bytes) -> list[ET.Element]:
    proc = run_app_script(built / "TA-esalog", "esalog.py", input=xml)
    assert proc.returncode == 0, proc.stderr
    assert b"ERROR" not in proc.stderr, proc.stderr
    if not proc.stdout:
        return []
    root = ET.fromstring(proc.stdout)
    assert root.tag == "stream"
    return list(root.iter("event"))


def test_modular_input_streams_events_and_resumes_from_checkpoint(built: Path, tmp_path: Path) -> None:
    """One JSON event per line in <stream><event> XML; a second run continues at the checkpoint."""
    log = tmp_path / "spool" / "mail.current"
    log.parent.mkdir()
    log.write_text("".join(line + "\n" for line in LINES))
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    xml = input_xml(checkpoints, tmp_path / "spool" / "mail.*", follow="0", index="email")

    first = stream_events(built, xml)
    assert len(first) == len(LINES)
    data = [json.loads(e.findtext("data") or "") for e in first]
    assert [d["event"]["original"] for d in data] == LINES
    for element, event in zip(first, data, strict=True):
        assert element.get("stanza") == "esalog://seed"
        assert element.findtext("sourcetype") == "cisco:esa:json"
        assert element.findtext("source") == str(log)
        assert element.findtext("index") == "email"
        stamp = datetime.fromisoformat(event["@timestamp"].replace("Z", "+00:00")).timestamp()
        assert float(element.findtext("time") or "nan") == pytest.approx(stamp)
    # the header line sets the zone for the following lines of the file
    assert data[2]["@timestamp"] == "2014-08-14T17:04:51.000Z"
    assert list(checkpoints.iterdir()), "no checkpoint written"
    assert list((checkpoints / "esalog-cache" / "yaml").iterdir()), "the packs' cache is not beside the checkpoints"

    assert stream_events(built, xml) == []  # nothing new: nothing sent again

    with log.open("a") as handle:
        handle.write("".join(line + "\n" for line in MORE_LINES))
    second = [json.loads(e.findtext("data") or "") for e in stream_events(built, xml)]
    assert [d["event"]["original"] for d in second] == MORE_LINES
    assert second[1]["cisco"]["esa"]["abort"]["reason"] == "Receiving aborted"
    # the earlier lines were read by the first run: its tracker state, kept with the checkpoint, tells
    # that the connection was lost
    assert second[1]["cisco"]["esa"]["abort"]["category"] == "connection_lost"


def test_modular_input_reads_the_files_of_a_spool_with_subdirectories(built: Path, tmp_path: Path) -> None:
    """``path = /spool/*`` over a spool holding a folder too (archive/): follow = 0 reads the files, as
    follow = 1 does, rather than the whole input failing on the folder."""
    spool = tmp_path / "spool"
    (spool / "archive").mkdir(parents=True)
    (spool / "mail.current").write_text("".join(line + "\n" for line in LINES))
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    events = stream_events(built, input_xml(checkpoints, spool / "*", follow="0"))
    assert [json.loads(e.findtext("data") or "")["event"]["original"] for e in events] == LINES


def test_modular_input_indexes_summaries_with_their_sourcetype(built: Path, tmp_path: Path) -> None:
    """summaries=1: one cisco:esa:message event per message, after the line that finished it."""
    log = tmp_path / "mail.current"
    log.write_text("".join(line + "\n" for line in LINES + MORE_LINES))
    events = stream_events(built, input_xml(tmp_path, log, follow="0", summaries="1", inbound_timeout="300"))
    sourcetypes = [e.findtext("sourcetype") for e in events]
    assert sourcetypes == ["cisco:esa:json"] * len(LINES + MORE_LINES) + ["cisco:esa:message"]
    data = [json.loads(e.findtext("data") or "") for e in events]
    assert data[-3]["cisco"]["esa"]["abort"]["category"] == "connection_lost"
    summary = data[-1]["cisco"]["esa"]
    assert (summary["mid"], summary["disposition"], summary["abort"]["category"]) == (
        1404, "aborted", "connection_lost")


def test_modular_input_follows_appended_lines_until_sigterm(built: Path, tmp_path: Path) -> None:
    """follow=1 (the default): lines appended later arrive; SIGTERM ends the stream cleanly."""
    log = tmp_path / "mail.current"
    log.write_text("".join(line + "\n" for line in LINES))
    xml = input_xml(tmp_path, log)
    proc = subprocess.Popen([sys.executable, "-S", "-I", str(built / "TA-esalog" / "bin" / "esalog.py")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(xml)
    proc.stdin.close()
    received = bytearray()

    def read_stdout() -> None:
        while data := proc.stdout.read1(65536):  # type: ignore[union-attr]
            received.extend(data)

    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()

    def wait_events(n: int) -> None:
        deadline = time.monotonic() + 30
        while received.count(b"</event>") < n and time.monotonic() < deadline:
            time.sleep(0.1)
        assert received.count(b"</event>") == n, bytes(received)

    try:
        wait_events(len(LINES))
        with log.open("a") as handle:
            handle.write(MORE_LINES[0] + "\n" + MORE_LINES[1][:20])  # the second line is still being written
        wait_events(len(LINES) + 1)
        with log.open("a") as handle:
            handle.write(MORE_LINES[1][20:] + "\n")
        wait_events(len(LINES) + 2)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(timeout=10)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else b""
    events = [json.loads(e.findtext("data") or "") for e in ET.fromstring(bytes(received)).iter("event")]
    assert [e["event"]["original"] for e in events] == LINES + MORE_LINES[:2]


def test_appinspect_reports_no_error_or_failure(built: Path, tmp_path: Path) -> None:
    """splunk-appinspect (PyPI) on the .spl: no error, failure or future failure."""
    from esalog import __version__

    tool = Path(sys.executable).parent / "splunk-appinspect"
    assert tool.exists(), "splunk-appinspect is missing: it is in the dev extra (pip install -e '.[dev]')"
    report = tmp_path / "appinspect.json"
    proc = subprocess.run([str(tool), "inspect", str(built / f"TA-esalog-{__version__}.spl"),
                           "--data-format", "json", "--output-file", str(report)],
                          capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(report.read_text())
    bad = [(check["name"], [m["message"][:200] for m in check.get("messages", [])])
           for r in result["reports"] for group in r["groups"] for check in group["checks"]
           if check["result"] in ("error", "failure", "future_failure")]
    assert bad == []
    assert result["summary"]["success"] > 50
    # the warnings are the ones the README lists, and as many as it says
    warned = sorted(check["name"] for r in result["reports"] for group in r["groups"] for check in group["checks"]
                    if check["result"] == "warning")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    step = " ".join(readme[readme.index("4. Optional vetting"):readme.index("5. Install on")].split())
    assert sorted(re.findall(r"`(check_\w+)`", step)) == warned
    assert f"no errors or failures and {len(warned)} warnings" in step


# ------------------------------------------------------------------------------------ | esaparse

def chunk(metadata: dict, body: str = "") -> bytes:
    meta, data = json.dumps(metadata).encode(), body.encode()
    return b"chunked 1.0,%d,%d\n%s%s" % (len(meta), len(data), meta, data)


def read_chunks(data: bytes) -> list[tuple[dict, str]]:
    out, stream = [], io.BytesIO(data)
    while header := stream.readline():
        m = re.fullmatch(rb"chunked 1\.0,(\d+),(\d+)\n", header)
        assert m, header
        meta = json.loads(stream.read(int(m.group(1))))
        out.append((meta, stream.read(int(m.group(2))).decode()))
    return out


def test_esaparse_streams_over_the_chunked_protocol(built: Path, tmp_path: Path) -> None:
    """getinfo -> streaming; execute -> every record back with esalog's dotted fields added."""
    rows = [  # as SC4S indexes them: message without the syslog header, time in _time
        {"_raw": "Info: Start MID 1404 ICID 10293", "_time": "1408014291", "host": "esa1"},
        {"_raw": "Info: Message aborted MID 1404 Receiving aborted by sender", "_time": "1408014336",
         "host": "esa1"},
        {"_raw": LINES[1], "_time": "1408014271", "host": "esa2"},
        {"_raw": "not an ESA line", "_time": "1408014271", "host": "esa2"},
    ]
    body = io.StringIO()
    writer = csv.DictWriter(body, fieldnames=["_raw", "_time", "host"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    searchinfo = {"args": [], "raw_args": [], "dispatch_dir": str(tmp_path), "sid": "1700000000.1",
                  "app": "TA-esalog", "owner": "admin", "username": "admin", "splunk_version": "9.2.0",
                  "splunkd_uri": "https://127.0.0.1:8089", "session_key": "not-a-real-key",
                  "earliest_time": "0", "latest_time": "0", "search": "search%20%7C%20esaparse",
                  "command": "esaparse", "maxresultrows": 50000}
    request = (chunk({"action": "getinfo", "preview": False, "searchinfo": searchinfo})
               + chunk({"action": "execute", "finished": True}, body.getvalue()))
    proc = run_app_script(built / "TA-esalog", "esaparse.py", input=request)
    assert proc.returncode == 0, proc.stderr
    replies = read_chunks(proc.stdout)
    assert replies[0][0]["type"] == "streaming"
    assert replies[-1][0].get("finished") is True
    records = list(csv.DictReader(io.StringIO(replies[-1][1])))
    assert [r["_raw"] for r in records] == [r["_raw"] for r in rows]
    kinds = [r["cisco.esa.kind"] for r in records[:3]]
    assert kinds == ["message-start", "message-aborted", "connection-opened"]
    assert records[0]["cisco.esa.mid"] == "1404"
    assert records[0]["@timestamp"] == "2014-08-14T11:04:51.000Z"  # from _time
    assert records[1]["cisco.esa.abort.reason"] == "Receiving aborted by sender"
    assert records[1]["cisco.esa.abort.category"] == "sender_quit"
    assert records[2]["source.ip"] == "192.168.0.200"
    assert records[3]["event.kind"] == "pipeline_error"
    assert "event.original" not in records[0]
