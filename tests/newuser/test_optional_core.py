"""Issue 14, point 3: the compiled core is optional. Where compiling fails, ``pip`` still builds and installs
esalog, which then runs on the pure-Python path, says so in ``esalog --version``, and gives the same events.

The build is a real ``pip wheel`` of the project's tracked files (with build isolation, as a user's
``pip install .`` runs it) under a C compiler that always fails (``CC=false``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, run_cli

BUILD_TIMEOUT = 600
LOG = ROOT / "examples" / "logs"


def _tracked_tree(dest: Path) -> Path:
    """A copy of the project's tracked files (no build products of the working tree)."""
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True).stdout
    for name in files.decode().split("\0"):
        if name and (ROOT / name).is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target)
    return dest


def test_a_failed_compile_still_installs_and_runs_the_pure_python_path(tmp_path: Path) -> None:
    source = _tracked_tree(tmp_path / "src")
    env = {**os.environ, "CC": "false", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(tmp_path / "wheels"),
                            str(source)], capture_output=True, text=True, env=env, timeout=BUILD_TIMEOUT)
    assert built.returncode == 0, built.stderr[-2000:]
    assert "compiled core not built" in built.stdout + built.stderr
    (wheel,) = (tmp_path / "wheels").glob("esalog-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "esalog/cli/__init__.py" in names and "esalog/parsers/packs/mail_logs.yaml" in names
    assert not [name for name in names if name.endswith(".so")]

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, env=env, timeout=BUILD_TIMEOUT)
    installed = {**os.environ, "PYTHONPATH": str(site)}
    installed.pop("ESALOG_PURE", None)

    def esalog(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "esalog", *args], capture_output=True, env=installed,
                              cwd=tmp_path, timeout=120)

    where = subprocess.run([sys.executable, "-c", "import esalog; print(esalog.__file__)"], capture_output=True,
                           text=True, env=installed, cwd=tmp_path, check=True).stdout
    assert where.startswith(str(site))
    assert esalog("--version").stdout.endswith(b"(pure-Python core: the compiled core is not built)\n")
    logs = sorted(str(p) for p in LOG.glob("*.log"))
    assert logs
    from_wheel = esalog("parse", "-q", *logs)
    assert from_wheel.returncode == 0, from_wheel.stderr
    assert from_wheel.stdout.count(b"\n") >= sum(Path(p).read_bytes().count(b"\n") for p in logs)  # a line, an event
    assert _stable(from_wheel.stdout) == _stable(run_cli("parse", "-q", *logs).stdout)  # as the compiled core's


def _stable(ndjson: bytes) -> list[dict[str, Any]]:
    """The events, less the parse time that stands in for the time of a line that carries none."""
    events = [json.loads(line) for line in ndjson.splitlines()]
    for event in events:
        if "created" in event["event"]:
            assert event.pop("@timestamp") == event["event"].pop("created")
    return events
