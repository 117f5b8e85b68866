"""Issue 10, point 2: no traceback on any input, path or option. Each problem is one line on stderr and
an exit code that tells the truth (2 usage or configuration, 1 runtime failure): damaged gzip keeps
every readable line and becomes a ``pipeline_error`` event naming file and offset; gzip on stdin is
read like a gzip file; every output path is checked before any work; a user pack whose converter does
not fit its capture tags the event; ``splunk-app build`` without splunk-sdk leaves nothing behind; and
every command meets missing files, directories, empty files, /dev/null and FIFOs calmly."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from esalog.testing import read_ndjson
from tests.conftest import run_cli

GOOD_LINES = [f"Thu Aug 14 11:05:{n % 60:02d} 2014 Info: ICID {n} close" for n in range(2000)]
NEXT_LINES = ["Thu Aug 14 12:00:00 2014 Info: ICID 90001 close", "Thu Aug 14 12:00:01 2014 Info: ICID 90002 close"]


def one_error_line(stderr: bytes) -> str:
    """The only line on stderr, which must be an esalog error (no traceback, no usage dump)."""
    assert b"Traceback" not in stderr, stderr.decode()
    lines = stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("esalog: error: "), lines
    return lines[0]


def no_traceback(proc: Any) -> None:
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()


# ------------------------------------------------------------------------------------ damaged gzip

def _gzip_text() -> bytes:
    return gzip.compress("".join(line + "\n" for line in GOOD_LINES).encode())


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def trailing_garbage(data: bytes) -> bytes:
    return data + b"garbage\x00\x01 after the gzip member"


def corrupt(data: bytes) -> bytes:
    damaged = bytearray(data)
    for i in range(len(damaged) // 2, len(damaged) // 2 + 4):
        damaged[i] ^= 0xFF
    return bytes(damaged)


def readable(data: bytes) -> bytes:
    """What a gzip decoder gets out of *data* before the damage (the lines that must all come out)."""
    return zlib.decompressobj(wbits=31).decompress(data)


DAMAGES: dict[str, Callable[[bytes], bytes]] = {"truncated": truncated, "trailing-garbage": trailing_garbage,
                                                "corrupt": corrupt}
EVENT_COMMANDS = {"parse": ["parse"], "parse --workers 2": ["parse", "--workers", "2"],
                  "ship --to stdout": ["ship", "--to", "stdout"]}


def _damaged_inputs(tmp_path: Path, damage: str) -> tuple[Path, Path, bytes]:
    data = DAMAGES[damage](_gzip_text())
    bad = tmp_path / "mail.@20140814T110431.s.gz"
    bad.write_bytes(data)
    good = tmp_path / "mail.@20140814T120000.s"
    good.write_text("".join(line + "\n" for line in NEXT_LINES))
    return bad, good, data


@pytest.mark.parametrize("damage", ["truncated", "trailing-garbage"])
@pytest.mark.parametrize("command", list(EVENT_COMMANDS))
def test_damaged_gzip_keeps_every_readable_line_then_reads_the_next_file(tmp_path: Path, command: str,
                                                                         damage: str) -> None:
    """Every line the gzip decoder can get out is an event, then one pipeline_error naming file and
    offset, then the next file; one error line on stderr; exit 1."""
    bad, good, data = _damaged_inputs(tmp_path, damage)
    proc = run_cli(*EVENT_COMMANDS[command], "-q" if command != "ship --to stdout" else "--quiet", str(bad),
                   str(good))
    assert proc.returncode == 1
    line = one_error_line(proc.stderr)
    text = readable(data)
    assert f"{bad}: unreadable from uncompressed byte {len(text)}" in line
    lines = text.decode().split("\n")
    if lines[-1] == "":
        lines.pop()
    events = read_ndjson(proc.stdout)
    errors = [i for i, e in enumerate(events) if e["event"]["kind"] == "pipeline_error"]
    assert errors == [len(lines)]
    assert [e["event"]["original"] for e in events[: len(lines)]] == lines  # nothing readable lost
    error = events[len(lines)]
    assert error["error"]["type"] == "read_error" and error["log"] == {"file": {"path": str(bad)}, "offset": len(text)}
    assert [e["event"]["original"] for e in events[len(lines) + 1:]] == NEXT_LINES  # the next file is read


@pytest.mark.parametrize("command", list(EVENT_COMMANDS))
def test_corrupt_gzip_is_an_error_event_and_the_next_file_is_read(tmp_path: Path, command: str) -> None:
    """Corrupt data (CRC failure): a read_error event naming the file, the next file read, exit 1."""
    bad, good, _ = _damaged_inputs(tmp_path, "corrupt")
    proc = run_cli(*EVENT_COMMANDS[command], "--quiet", str(bad), str(good))
    assert proc.returncode == 1
    assert str(bad) in one_error_line(proc.stderr)
    events = read_ndjson(proc.stdout)
    read_errors = [e for e in events if e.get("error", {}).get("type") == "read_error"]
    assert len(read_errors) == 1 and read_errors[0]["log"]["file"]["path"] == str(bad)
    assert [e["event"]["original"] for e in events[-2:]] == NEXT_LINES


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_gzip_in_report_and_coverage(tmp_path: Path, damage: str) -> None:
    """report and patterns coverage: the digest counts the readable lines and the next file; one error
    line names the file; exit 1."""
    bad, good, data = _damaged_inputs(tmp_path, damage)
    report = run_cli("report", "--json", "--quiet", str(bad), str(good))
    assert report.returncode == 1 and str(bad) in one_error_line(report.stderr)
    coverage = run_cli("patterns", "coverage", "--quiet", str(bad), str(good))
    assert coverage.returncode == 1 and str(bad) in one_error_line(coverage.stderr)
    if damage != "corrupt":
        text = readable(data)
        count = text.count(b"\n") + (not text.endswith(b"\n")) + len(NEXT_LINES)
        assert json.loads(report.stdout)["lines"] == count + 1  # + the read_error event itself
        assert f"\n{count + 1} lines: ".encode() in coverage.stdout


def test_gzip_on_stdin_is_read_like_a_gzip_file(tmp_path: Path) -> None:
    """gzip data on stdin is recognised by its magic bytes, for parse, ship and report; damaged, it is the
    same read_error as a file, naming stdin."""
    data = _gzip_text()
    path = tmp_path / "mail.gz"
    path.write_bytes(data)
    from_file = read_ndjson(run_cli("parse", "-q", str(path)).stdout)
    for command in (["parse", "-q", "-"], ["ship", "--to", "stdout", "--quiet", "-"]):
        proc = run_cli(*command, input=data)
        assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
        assert [e["event"]["original"] for e in read_ndjson(proc.stdout)] == [
            e["event"]["original"] for e in from_file] == GOOD_LINES
    report = run_cli("report", "--json", "-q", "-", input=data)
    assert report.returncode == 0 and json.loads(report.stdout)["lines"] == len(GOOD_LINES)
    damaged = run_cli("parse", "-q", "-", input=truncated(data))
    assert damaged.returncode == 1
    assert "stdin: unreadable from uncompressed byte" in one_error_line(damaged.stderr)


# ----------------------------------------------------------------------------------- output paths

def _bad_outputs(tmp_path: Path) -> dict[str, str]:
    """Paths no output can be written to, whoever runs the test (root included)."""
    plain = tmp_path / "a-file"
    plain.write_text("x")
    directory = tmp_path / "a-dir"
    directory.mkdir(exist_ok=True)
    return {"missing directory": str(tmp_path / "nowhere" / "out"), "a directory": str(directory),
            "under a file": str(plain / "out"), "/proc": "/proc/esalog-cannot-be-here"}


OUTPUT_OPTIONS: dict[str, Callable[[str, str], list[str]]] = {
    "-o": lambda path, log: ["parse", "-o", path, log],
    "--out": lambda path, log: ["ship", "--to", "file", "--out", path, log],
    "--html": lambda path, log: ["report", "--html", path, log],
    "--checkpoint": lambda path, log: ["ship", "--to", "stdout", "--checkpoint", path, log],
    "--dead-letter": lambda path, log: ["ship", "--to", "stdout", "--dead-letter", path, log],
    "filter --output": lambda path, log: ["filter", "--output", path],
    "listen --out": lambda path, log: ["listen", "--tcp", "127.0.0.1:0", "--to", "file", "--out", path],
}


@pytest.mark.parametrize("option", list(OUTPUT_OPTIONS))
def test_unwritable_outputs_are_refused_before_any_work(tmp_path: Path, option: str) -> None:
    """Each bad output path: exit 2, one line naming the option and the path, nothing read or written."""
    log = tmp_path / "mail.current"
    log.write_text("".join(line + "\n" for line in GOOD_LINES))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    for kind, path in _bad_outputs(tmp_path).items():
        proc = run_cli(*OUTPUT_OPTIONS[option](path, str(log)), input=b"", timeout=60)
        assert proc.returncode == 2, (kind, proc.stderr)
        flag = option.split()[-1]
        assert one_error_line(proc.stderr).startswith(f"esalog: error: {flag} {path!r}: "), kind
        assert proc.stdout == b"", kind  # no event was produced
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted([*before, "a-dir", "a-file"])
    assert not Path("/proc/esalog-cannot-be-here").exists()


def test_splunk_app_build_output_checked_first(tmp_path: Path) -> None:
    """splunk-app build -o: a file, a path under a file, /proc: exit 2, one line, nothing written."""
    plain = tmp_path / "a-file"
    plain.write_text("x")
    for path in (str(plain), str(plain / "dist"), "/proc/esalog-dist"):
        proc = run_cli("splunk-app", "build", "-o", path)
        assert proc.returncode == 2 and one_error_line(proc.stderr).startswith(f"esalog: error: -o {path!r}: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_write_failure_at_run_time_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """A disk full while writing (/dev/full): one line naming the output, exit 1."""
    log = tmp_path / "mail.current"
    log.write_text("".join(line + "\n" for line in GOOD_LINES))
    proc = run_cli("parse", "-q", "-o", "/dev/full", str(log))
    assert proc.returncode == 1
    assert one_error_line(proc.stderr) == "esalog: error: cannot write -o '/dev/full': No space left on device"


# ----------------------------------------------------------------------------- user pack converters

def test_converter_that_does_not_fit_its_capture_tags_the_event(tmp_path: Path) -> None:
    """``%{NOTSPACE:cisco.esa.mid:int}`` on text: the event is kept, tagged, naming the rule and field;
    the next lines read on; exit 0 for parse, filter and ship."""
    pack = tmp_path / "mine.yaml"
    pack.write_text("name: mine\nlog_type: mail_logs\nrules:\n  - id: mine-weird\n"
                    "    match: 'Weird %{NOTSPACE:cisco.esa.mid:int} thing'\n")
    data = (b"Thu Aug 14 11:05:36 2014 Info: Weird abc thing\nThu Aug 14 11:05:37 2014 Info: Weird 12 thing\n")
    for command in (["parse", "-q", "-"], ["filter"], ["ship", "--to", "stdout", "--quiet", "-"]):
        proc = run_cli(*command, "--pack", str(pack), input=data)
        assert proc.returncode == 0 and proc.stderr == b"", (command, proc.stderr)
        bad, good = read_ndjson(proc.stdout)
        assert "esalog_conversion_error" in bad["tags"]
        assert bad["error"]["type"] == "conversion"
        assert "rule 'mine-weird'" in bad["error"]["message"] and "cisco.esa.mid" in bad["error"]["message"]
        assert good["cisco"]["esa"]["mid"] == 12 and "tags" not in good


# ----------------------------------------------------------------------- splunk-app without the SDK

BLOCK_SPLUNKLIB = '''\
import sys


class _NoSplunkSdk:
    """As if splunk-sdk were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name == "splunklib" or name.startswith("splunklib."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None


sys.meta_path.insert(0, _NoSplunkSdk())
'''


def test_splunk_app_build_without_splunk_sdk_leaves_nothing_behind(tmp_path: Path) -> None:
    """With splunklib hidden (a sitecustomize on PYTHONPATH): exit 2, one line saying what to install,
    and neither a new nor an existing output directory gets anything."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK_SPLUNKLIB)
    env = {"PYTHONPATH": str(site)}
    hidden = run_cli("-c", "import splunklib", python_args=True, env=env)
    assert hidden.returncode == 1 and b"No module named 'splunklib'" in hidden.stderr  # the block works
    existing = tmp_path / "existing"
    existing.mkdir()
    for out in (tmp_path / "new" / "dist", existing):
        proc = run_cli("splunk-app", "build", "-o", str(out), env=env)
        assert proc.returncode == 2
        assert one_error_line(proc.stderr) == (
            f"esalog: error: cannot bundle 'splunklib': not installed; install esalog's splunk extra: "
            f"{sys.executable} -m pip install '.[splunk]' in esalog's directory")
    assert not (tmp_path / "new").exists()
    assert list(existing.iterdir()) == []


# ------------------------------------------------------------------------- fuzz: odd paths anywhere

LINES = b"Thu Aug 14 11:05:36 2014 Info: ICID 1 close\nThu Aug 14 11:05:37 2014 Info: ICID 2 close\n"
PACK = b"name: fifo-pack\nrules:\n  - id: fifo-rule\n    match: 'Odd %{INT:cisco.esa.icid:int}'\n"


class Fifo:
    """A FIFO fed by (or drained into) a thread, and unblocked if the command never opens it."""

    def __init__(self, path: Path, feed: bytes | None) -> None:
        self.path = path
        os.mkfifo(path)
        self.feed = feed
        self.drained = bytearray()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        if self.feed is not None:
            with open(self.path, "wb") as pipe:  # waits for the command to open it
                try:
                    pipe.write(self.feed)
                except BrokenPipeError:
                    pass
        else:
            with open(self.path, "rb") as pipe:
                self.drained += pipe.read()

    def finish(self) -> None:
        """After the command: if it never opened the FIFO, open the other end so the thread ends."""
        if self.thread.is_alive():
            flags = os.O_RDONLY if self.feed is not None else os.O_WRONLY
            try:  # opening the other end wakes the thread's open(); closing it gives it EOF (or EPIPE)
                os.close(os.open(self.path, flags | os.O_NONBLOCK))
            except OSError:  # the thread got its peer meanwhile
                pass
            self.thread.join(30)
        assert not self.thread.is_alive()


INPUT_COMMANDS: dict[str, list[str]] = {
    "parse": ["parse", "-q"], "parse --workers 2": ["parse", "-q", "--workers", "2"], "report": ["report", "-q"],
    "ship": ["ship", "--to", "stdout", "--quiet"], "patterns coverage": ["patterns", "coverage", "-q"],
}
KINDS = ("missing", "directory", "empty", "/dev/null", "fifo")
#: what each command says about an input path of each kind (exit code, words of the one error line)
INPUT_EXPECT: dict[str, tuple[int, str | None]] = {
    "missing": (2, "no such file"), "directory": (2, "is a directory"), "empty": (0, None),
    "/dev/null": (0, None), "fifo": (0, None)}
#: option -> (command with {} for the path, what each kind gives, what the FIFO carries)
OPTION_CASES: dict[str, tuple[list[str], dict[str, tuple[int, str | None]], bytes | None]] = {
    "--pack": (["parse", "-q", "--pack", "{}", "{log}"],
               {"missing": (2, "cannot read pack"), "directory": (2, "cannot read pack"),
                "empty": (2, "the pack is empty"), "/dev/null": (2, "the pack is empty"), "fifo": (0, None)}, PACK),
    "--checkpoint": (["ship", "--to", "stdout", "--quiet", "--checkpoint", "{}", "{log}"],
                     {"missing": (2, "no such directory"), "directory": (2, "is a directory"),
                      "empty": (2, "is empty"), "/dev/null": (2, "not a regular file"),
                      "fifo": (2, "not a regular file")}, b""),
    "--hec-token-file": (["ship", "--to", "hec", "--hec-url", "http://127.0.0.1:9", "--hec-token-file", "{}", "{log}"],
                         {"missing": (2, "No such file"), "directory": (2, "Is a directory"),
                          "empty": (2, "is empty"), "/dev/null": (2, "is empty")}, None),
    "--ca-bundle": (["ship", "--to", "stdout", "--quiet", "--ca-bundle", "{}", "{log}"],
                    {"missing": (2, "no such file"), "directory": (2, "not a regular file"), "empty": (0, None),
                     "/dev/null": (2, "not a regular file"), "fifo": (2, "not a regular file")}, b""),
    "--dead-letter": (["ship", "--to", "stdout", "--quiet", "--dead-letter", "{}", "{log}"],
                      {"missing": (2, "no such directory"), "directory": (2, "is a directory"), "empty": (0, None),
                       "/dev/null": (0, None)}, None),
    "-o": (["parse", "-q", "-o", "{}", "{log}"],
           {"missing": (2, "no such directory"), "directory": (2, "is a directory"), "empty": (0, None),
            "/dev/null": (0, None), "fifo": (0, None)}, None),
    "--out": (["ship", "--to", "file", "--quiet", "--out", "{}", "{log}"],
              {"missing": (2, "no such directory"), "directory": (2, "is a directory"), "empty": (0, None),
               "/dev/null": (2, "not a regular file"), "fifo": (2, "not a regular file")}, None),
    "--html": (["report", "-q", "--html", "{}", "{log}"],
               {"missing": (2, "no such directory"), "directory": (2, "is a directory"), "empty": (0, None),
                "/dev/null": (0, None), "fifo": (0, None)}, None),
    "filter stdin": (["filter"], {"empty": (0, None), "/dev/null": (0, None), "fifo": (0, None)}, LINES),
}


def _path_of(kind: str, where: Path) -> Path:
    if kind == "missing":
        return where / "not-here" / "nothing"
    if kind == "directory":
        where.mkdir()
        return where
    if kind == "empty":
        where.write_bytes(b"")
        return where
    if kind == "/dev/null":
        return Path("/dev/null")
    return where  # fifo: made by Fifo


def _run_case(tmp_path: Path, name: str, kind: str, argv: list[str], expect: tuple[int, str | None],
              feed: bytes | None, stdin_path: bool = False) -> str | None:
    """Run one case; return what is wrong, or None."""
    case = tmp_path / f"{name.replace(' ', '_').strip('-')}-{kind.strip('/').replace('/', '_')}"
    case.mkdir()
    log = case / "mail.current"
    log.write_bytes(LINES)
    path = _path_of(kind, case / "target")
    fifo = Fifo(path, feed) if kind == "fifo" else None
    args = [a.replace("{log}", str(log)).replace("{}", str(path)) for a in argv]
    try:
        if stdin_path:
            with open(path, "rb") as stdin:
                proc: Any = subprocess.run([sys.executable, "-m", "esalog", *args], stdin=stdin,
                                           capture_output=True, timeout=60)
        else:
            proc = run_cli(*args, input=b"", timeout=60)
    finally:
        if fifo is not None:
            fifo.finish()
    code, words = expect
    stderr = proc.stderr.decode()
    if "Traceback" in stderr:
        return f"{name} {kind}: traceback\n{stderr}"
    if proc.returncode != code:
        return f"{name} {kind}: exit {proc.returncode}, expected {code}: {stderr}"
    if words is not None:
        lines = stderr.splitlines()
        if len(lines) != 1 or not lines[0].startswith("esalog: error: ") or words not in lines[0]:
            return f"{name} {kind}: expected one error line with {words!r}, got {lines}"
    return None


def test_every_command_with_odd_paths(tmp_path: Path) -> None:
    """Each command and each path-valued option with a missing file, a directory, an empty file,
    /dev/null and a FIFO: one line and exit 2 when it cannot be used, a normal run when it can; never a
    traceback. A FIFO input is read like a pipe."""
    cases: list[tuple[str, str, list[str], tuple[int, str | None], bytes | None, bool]] = []
    for name, command in INPUT_COMMANDS.items():
        for kind in KINDS:
            cases.append((name, kind, [*command, "{}"], INPUT_EXPECT[kind], LINES, False))
    for name, (argv, expects, feed) in OPTION_CASES.items():
        for kind, expect in expects.items():
            cases.append((name, kind, argv, expect, feed, name == "filter stdin"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        problems = list(pool.map(lambda c: _run_case(tmp_path, *c), cases))
    assert [p for p in problems if p] == []
    assert len(cases) > 60


def test_fifo_input_gives_its_events(tmp_path: Path) -> None:
    """``esalog parse <(zcat mail.gz)``: a FIFO of gzip data is read like a pipe, events and all."""
    path = tmp_path / "fifo"
    fifo = Fifo(path, gzip.compress(LINES))
    try:
        proc = run_cli("parse", "-q", str(path))
    finally:
        fifo.finish()
    assert proc.returncode == 0 and proc.stderr == b""
    assert [e["cisco"]["esa"]["icid"] for e in read_ndjson(proc.stdout)] == [1, 2]


def test_follow_refuses_a_directory_and_a_missing_directory(tmp_path: Path) -> None:
    """--follow waits for a file that is not there yet, not for a directory or a missing directory."""
    for path, words in ((tmp_path, "is a directory"), (tmp_path / "gone" / "mail.current", "no such directory")):
        proc = run_cli("ship", "--to", "stdout", "--follow", str(path), timeout=60)
        assert proc.returncode == 2 and words in one_error_line(proc.stderr)


def _run_with_closed(fd: int, *args: str, input_path: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """``esalog ARGS`` started with descriptor *fd* closed, as ``esalog ARGS >&-`` (or ``<&-``) does."""
    with open(input_path or os.devnull, "rb") as stdin:
        return subprocess.run([sys.executable, "-m", "esalog", *args], stdin=stdin, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=60, preexec_fn=lambda: os.close(fd))


@pytest.mark.parametrize("args", [("parse", "{log}"), ("parse", "--workers", "2", "{log}", "{log}"), ("filter",),
                                  ("ship", "--to", "stdout", "{log}"), ("report", "{log}"), ("schema",),
                                  ("patterns", "list"), ("patterns", "coverage", "{log}"), ("es-template",)])
def test_closed_stdout_is_a_write_error(tmp_path: Path, args: tuple[str, ...]) -> None:
    """With stdout closed (``>&-``) Python has no ``sys.stdout``: every command that writes there says it
    cannot and exits 1 (before: an AttributeError traceback, or exit 0 with nothing written)."""
    log = tmp_path / "mail.log"
    log.write_text("\n".join(GOOD_LINES[:50]) + "\n")
    result = _run_with_closed(1, *(a.format(log=log) for a in args), input_path=log)
    assert b"Traceback" not in result.stderr and b"Exception ignored" not in result.stderr, result.stderr.decode()
    assert result.returncode == 1, result.stderr.decode()
    assert b"esalog: error: " in result.stderr and b"Bad file descriptor" in result.stderr


def test_closed_stdout_does_not_matter_with_an_output_file(tmp_path: Path) -> None:
    """``parse -o FILE >&-`` needs no stdout: every event is in the file (and the closed descriptor is
    not taken by the output file, which stdout writes would then corrupt)."""
    log, out = tmp_path / "mail.log", tmp_path / "out.ndjson"
    log.write_text("\n".join(GOOD_LINES[:50]) + "\n")
    result = _run_with_closed(1, "parse", "-o", str(out), str(log))
    assert result.returncode == 0, result.stderr.decode()
    assert [event["event"]["original"] for event in read_ndjson(out)] == GOOD_LINES[:50]


def test_closed_stdin_is_a_read_error() -> None:
    """``esalog parse - <&-``: one line saying stdin cannot be read, never a traceback."""
    result = _run_with_closed(0, "parse", "-")
    assert result.returncode == 2 and b"Traceback" not in result.stderr, result.stderr.decode()
    assert b"Bad file descriptor" in result.stderr


@pytest.mark.parametrize(("args", "flag"), [(("parse", "./mail.log", "-o", "{log}"), "-o"),
                                            (("parse", "{glob}", "-o", "{log}"), "-o"),
                                            (("parse", "--workers", "2", "{log}", "{other}", "-o", "{log}"), "-o"),
                                            (("report", "{log}", "--html", "{log}"), "--html")])
def test_an_output_that_is_an_input_is_refused_and_the_input_kept(tmp_path: Path, args: tuple[str, ...],
                                                                  flag: str) -> None:
    """``-o``/``--html`` naming an input another way (``./x``, a glob, among several files) is refused before
    any work. Before, only the same spelling was: ``parse ./x -o x`` emptied the log and exited 0, and
    ``report x --html x`` replaced it by the HTML page."""
    log, other = tmp_path / "mail.log", tmp_path / "other.log"
    log.write_text("\n".join(GOOD_LINES[:50]) + "\n")
    other.write_text("\n".join(NEXT_LINES) + "\n")
    before = log.read_bytes()
    argv = [a.format(log=log, other=other, glob=tmp_path / "mail.*") for a in args]
    result = subprocess.run([sys.executable, "-m", "esalog", *argv], capture_output=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2, result.stderr.decode()
    assert one_error_line(result.stderr).startswith(f"esalog: error: {flag} {str(log)!r} is also an input")
    assert log.read_bytes() == before
