"""Issue 10, point 1: ``make test`` on a fresh machine. The system packages the tests drive are
installed by ``make test`` itself (root and apt) or it stops at once with one line naming the command;
``.ci/run`` is ``make test``; without the reference corpus the run ends with one line saying how many
tests did not run, why, and how to point them at a corpus."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import CORPUS, ROOT, corpus_line

MAKE_TIMEOUT = 120


def make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-s", "-C", str(ROOT), *args], capture_output=True, text=True,
                          timeout=MAKE_TIMEOUT)


def our_lines(stderr: str) -> list[str]:
    """What the Makefile said (make's own ``*** [...] Error 1`` line left aside)."""
    return [line for line in stderr.splitlines() if line and not line.startswith(("make: ", "make["))]


def fake_apt(tmp_path: Path, *, installs: Path | None = None, fails: bool = False) -> Path:
    """An ``apt-get`` stand-in that records its arguments (and "installs" by creating *installs*)."""
    script = tmp_path / "apt-get"
    body = f'echo "$@" >> {shlex.quote(str(tmp_path / "apt.log"))}\n'
    if fails:
        body += "exit 100\n"
    elif installs is not None:
        body += f'case "$1" in install) touch {shlex.quote(str(installs))};; esac\n'
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script


def test_this_machine_has_every_system_package() -> None:
    """`make test` ran system-deps first: here nothing is missing and it says nothing."""
    proc = make("system-deps")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == proc.stderr == ""


def test_without_root_it_stops_with_one_line_naming_the_command() -> None:
    """Not root: no install attempt, one line with the exact command, a failing exit (no skip later)."""
    proc = make("system-deps", "HAVE_RSYSLOG=false", "HAVE_LIBMAGIC=false", "USER_ID=1000")
    assert proc.returncode != 0
    assert our_lines(proc.stderr) == [
        "make test: missing system packages: rsyslog libmagic1; "
        "run: sudo apt-get install -y --no-install-recommends rsyslog libmagic1"]
    assert proc.stdout == ""


def test_as_root_it_installs_only_what_is_missing(tmp_path: Path) -> None:
    """Root with apt: `apt-get update` then an install of exactly the missing package, then checked again."""
    marker = tmp_path / "rsyslogd-installed"
    apt = fake_apt(tmp_path, installs=marker)
    proc = make("system-deps", f"HAVE_RSYSLOG=test -e {marker}", "USER_ID=0", f"APT_GET={apt}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "make test: installing system packages: rsyslog\n"
    assert (tmp_path / "apt.log").read_text().splitlines() == [
        "update -qq", "install -y -qq --no-install-recommends rsyslog"]


def test_as_root_a_failed_install_is_one_line(tmp_path: Path) -> None:
    """apt-get fails (no network...): one line naming the command to run, a failing exit."""
    apt = fake_apt(tmp_path, fails=True)
    proc = make("system-deps", "HAVE_LIBMAGIC=false", "USER_ID=0", f"APT_GET={apt}")
    assert proc.returncode != 0
    assert our_lines(proc.stderr) == [
        "make test: apt-get could not install libmagic1; run it to see why: "
        "apt-get install -y --no-install-recommends libmagic1"]


def test_as_root_a_package_still_missing_after_install_is_one_line(tmp_path: Path) -> None:
    """apt-get says yes but the program is still not there: said, not hidden behind a later skip."""
    apt = fake_apt(tmp_path)
    proc = make("system-deps", "HAVE_RSYSLOG=false", "USER_ID=0", f"APT_GET={apt}")
    assert proc.returncode != 0
    assert our_lines(proc.stderr) == [
        "make test: still missing after apt-get: rsyslog; run: apt-get install -y --no-install-recommends rsyslog"]


def test_make_test_installs_system_packages_first_and_ci_only_runs_it() -> None:
    """`make test` depends on system-deps before anything else; .ci/run runs `make test` and nothing else."""
    dry = subprocess.run(["make", "-n", "-C", str(ROOT), "test"], capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    first_check = next(i for i, line in enumerate(lines) if "HAVE_RSYSLOG" in line or "rsyslogd" in line)
    first_test = next(i for i, line in enumerate(lines) if "pytest" in line)
    assert first_check < first_test
    commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert [c for c in commands if not c.startswith(("set ", "cd "))] == ["make test"]


def test_without_the_corpus_one_closing_line_says_how_many_did_not_run() -> None:
    """A run with ESALOG_CORPUS pointing nowhere: the corpus tests are not run, no SKIPPED noise, and the
    last lines say how many, why and how to point them at a corpus; with the corpus they run."""
    target = "tests/core/test_corpus.py"
    env = {**os.environ, "ESALOG_CORPUS": "/nonexistent/corpus"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    out = proc.stdout.splitlines()
    assert proc.returncode == 5, proc.stdout  # pytest: no test ran (both were left out)
    assert "SKIPPED" not in proc.stdout and "skipped" not in proc.stdout
    expected = ("esalog: 2 tests did not run: they need the reference corpus, not found at /nonexistent/corpus "
                "(ESALOG_CORPUS); to run them, set ESALOG_CORPUS=/path/to/corpus (a copy of shared/corpus)")
    assert [line for line in out if line.startswith("esalog:")] == [expected]
    assert out[-2:][0] == expected and "2 deselected" in out[-1]
    if CORPUS.is_dir():  # where the corpus is, the same tests run
        env.pop("ESALOG_CORPUS")
        env["ESALOG_CORPUS"] = str(CORPUS)
        ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target],
                             capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
        assert ran.returncode == 0 and "2 passed" in ran.stdout, ran.stdout
    else:  # a fresh clone without ../shared/corpus: the line names the default place
        assert str(CORPUS) in corpus_line(1)


def test_readme_tells_how_make_test_treats_packages_and_corpus() -> None:
    """The README says what `make test` installs and what happens without the corpus."""
    readme = (ROOT / "README.md").read_text()
    setup = readme[readme.index("## Set-up"):readme.index("## Commands")]
    for words in ("rsyslog", "libmagic1", "apt-get", "ESALOG_CORPUS", "../shared/corpus", "did not run"):
        assert words in setup, words
