"""esalog benchmark harness (``make bench``): speed and memory of every mode on one generated corpus.

Each mode runs as its own process, pinned to one core (``taskset -c 1`` when available), best of
``--repeat`` runs; its start-up time (the same command on an empty file) is subtracted, so lines/s is the
rate of the line loop. Peak RSS comes from ``os.wait4`` (the child's own ``ru_maxrss``), taken by a
small launcher process: Linux folds the peak RSS of the address space ``exec`` replaces into
``ru_maxrss``, so a child started straight from this harness (which holds the fakes' data) would
report the harness's peak instead of its own.
Results go to ``bench/results.json`` and ``bench/RESULTS.md``; see bench/README.md.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import esalog
from esalog.testing.generate import corpus, write_open_messages

BENCH = Path(__file__).resolve().parent
WORK = BENCH / "out"  # generated corpora and scratch files (git-ignored)
PY = sys.executable
ESALOG = [PY, "-m", "esalog"]
PIN = ["taskset", "-c", "1"] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []
BASELINE_LINES = 200_000  # pygrok is slow: it runs on the first lines of the corpus only
SHIP_LINES = 200_000  # the fakes keep every event in memory
NOT_COMPARED = ("scaling", "open messages", "ship")  # rows without ratios to the baseline and floor
README_BEGIN, README_END = "<!-- bench:begin -->", "<!-- bench:end -->"


#: Makes the command (and the file for its stdin, or None) that runs a mode on one input file.
Builder = Callable[[Path], tuple[list[str], Path | None]]


@dataclass
class Run:
    """One measured mode."""

    mode: str
    lines: int
    seconds: float  # best wall time of the line loop (start-up subtracted)
    cpu_seconds: float  # best user + system CPU time of the line loop (start-up subtracted)
    startup: float
    peak_rss_mb: float
    lines_per_s: float = 0.0
    lines_per_cpu_s: float = 0.0
    note: str = ""

    def __post_init__(self) -> None:
        self.lines_per_s = self.lines / self.seconds if self.seconds > 0 else 0.0
        self.lines_per_cpu_s = self.lines / self.cpu_seconds if self.cpu_seconds > 0 else 0.0


#: Runs argv[1:] and reports its exit code, CPU seconds and peak RSS (KB) on the last stderr line.
LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(child.pid, 0)
sys.stderr.write(f"\\n{os.waitstatus_to_exitcode(status)} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss}\\n")
"""


#: The environment of a mode on the pure-Python path (the compiled core turned off).
PURE = {"ESALOG_PURE": "1"}


def run_once(cmd: list[str], stdin: Path | None = None,
             env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Run *cmd* (stdout to /dev/null); return wall seconds, CPU seconds and the child's peak RSS in MB."""
    with open(stdin or os.devnull, "rb") as src, open(os.devnull, "wb") as sink:
        start = time.perf_counter()
        proc = subprocess.run([PY, "-c", LAUNCHER, *cmd], stdin=src, stdout=sink, stderr=subprocess.PIPE,
                              env={**os.environ, **(env or {})})
        elapsed = time.perf_counter() - start
    err, _, report = proc.stderr.rstrip(b"\n").rpartition(b"\n")
    code, cpu, kilobytes = report.split()
    if proc.returncode != 0 or int(code) != 0:
        tail = err.decode(errors="replace")[-500:]
        raise RuntimeError(f"{' '.join(cmd)} failed ({int(code)}): {tail}")
    return elapsed, float(cpu), int(kilobytes) / 1024


def measure(mode: str, build: Builder, path: Path, lines: int, repeat: int, empty: Path,
            pin: bool = True, note: str = "", env: dict[str, str] | None = None) -> Run:
    """Best of *repeat* runs of ``build(path)`` minus the best start-up (``build(empty)``)."""
    prefix = PIN if pin else []
    cmd, stdin = build(empty)
    starts = [run_once(prefix + cmd, stdin, env) for _ in range(max(1, repeat - 1))]
    startup, startup_cpu = min(s[0] for s in starts), min(s[1] for s in starts)
    best = best_cpu = float("inf")
    rss = 0.0
    for _ in range(repeat):
        cmd, stdin = build(path)
        elapsed, cpu, peak = run_once(prefix + cmd, stdin, env)
        best, best_cpu, rss = min(best, elapsed), min(best_cpu, cpu), max(rss, peak)
    if best <= startup:  # the work took no time: the measurement is wrong, not esalog fast
        raise RuntimeError(f"{mode}: the best run ({best:.2f} s) was not slower than start-up ({startup:.2f} s)")
    run = Run(mode, lines, best - startup, max(best_cpu - startup_cpu, 1e-9), startup, rss, note=note)
    print(f"  {mode:<40} {run.lines_per_s:>10,.0f} lines/s {run.lines_per_cpu_s:>10,.0f} lines/cpu-s "
          f"{run.seconds:7.2f} s {rss:7.1f} MB", flush=True)
    return run


def parse_cmd(*options: str) -> Builder:
    """``esalog parse -q OPTIONS FILE -o /dev/null`` as a command builder for :func:`measure`."""
    return lambda p: ([*ESALOG, "parse", "-q", *options, str(p), "-o", os.devnull], None)


def esalog_help(command: str) -> str:
    """``esalog COMMAND --help`` (or the top-level help), to see which options this build has."""
    return subprocess.run([*ESALOG, *([command] if command else []), "--help"], capture_output=True,
                          text=True).stdout


def head(path: Path, lines: int) -> Path:
    """The first *lines* lines of *path* as their own file."""
    out = path.with_name(f"{path.stem}.head{lines}.log")
    if not out.exists():
        with open(path, "rb") as src, open(out, "wb") as dst:
            for n, line in enumerate(src):
                if n >= lines:
                    break
                dst.write(line)
    return out


def main_modes(args: argparse.Namespace, empty: Path) -> tuple[list[Run], list[str]]:
    """The headline table: every mode on the file-form corpus (the compiled core, and the pure-Python path
    where the core serves the mode), the syslog form, the realistic corpus, start-up and workers."""
    notes: list[str] = []
    path, _ = corpus(WORK, args.lines, "file")
    syslog_path, _ = corpus(WORK, args.lines, "syslog")
    real_path, _ = corpus(WORK, args.lines, "syslog", verdicts=True, appliances=3)
    runs: list[Run] = []
    print(f"corpus {path.name}: {args.lines:,} lines, {path.stat().st_size / 1e6:.0f} MB; "
          f"pin: {' '.join(PIN) or 'none'}; {core_status()}")
    r = args.repeat
    runs.append(measure("parse (stateful)", parse_cmd(), path, args.lines, r, empty))
    runs.append(measure("parse --stateless", parse_cmd("--stateless"), path, args.lines, r, empty))
    runs.append(measure("parse --stateless, pure", parse_cmd("--stateless"), path, args.lines, r, empty, env=PURE))
    runs.append(measure("parse (stateful), syslog form", parse_cmd(), syslog_path, args.lines, r, empty))
    runs.append(measure("parse --stateless, syslog form", parse_cmd("--stateless"), syslog_path, args.lines, r,
                        empty))
    runs.append(measure("parse --stateless, realistic", parse_cmd("--stateless"), real_path, args.lines, r, empty,
                        note="verdicts, syslog, 3 appliances"))
    runs.append(measure("parse --stateless, realistic, pure", parse_cmd("--stateless"), real_path, args.lines, r,
                        empty, env=PURE))
    runs.append(measure("filter (each read answered)", lambda p: ([*ESALOG, "filter"], p),
                        path, args.lines, r, empty))
    runs.append(measure("filter --stateless (each read answered)", lambda p: ([*ESALOG, "filter", "--stateless"], p),
                        path, args.lines, r, empty))
    runs.append(measure("filter --stateless, pure", lambda p: ([*ESALOG, "filter", "--stateless"], p),
                        path, args.lines, r, empty, env=PURE))
    base_lines = min(args.lines, BASELINE_LINES)
    runs.append(measure("baseline: pygrok + json.dumps",
                        lambda p: ([PY, str(BENCH / "peers.py"), "pygrok", str(p)], None),
                        head(path, base_lines), base_lines, max(1, r - 1), empty,
                        note=f"first {base_lines:,} lines"))
    runs.append(measure("floor: read + orjson one-key dict",
                        lambda p: ([PY, str(BENCH / "peers.py"), "floor", str(p)], None),
                        path, args.lines, r, empty))
    notes.append(startup_note(empty, r))
    halves = [corpus(WORK / "workers", args.lines // 2, "file", seed)[0] for seed in (1, 2)]

    def workers(n: int) -> Builder:
        """``parse --stateless --workers N`` over both halves (over the empty file alone for the start-up run)."""
        return lambda p: ([*ESALOG, "parse", "-q", "--stateless", "--workers", str(n),
                           *([str(p)] if p == empty else map(str, halves)), "-o", os.devnull], None)

    for n in (1, 2):
        runs.append(measure(f"parse --stateless --workers {n} (2 files)", workers(n),
                            halves[0], 2 * (args.lines // 2), r, empty, pin=False))
    notes.append(f"Free parallelism during the run: two CPU-bound processes ran {parallel_capacity():.2f}x "
                 "as fast side by side as one after the other (2.0 = a whole idle second core); "
                 "the `--workers 2` speed-up cannot exceed it.")
    return runs, notes


def core_status() -> str:
    """Which parsing core ``esalog`` runs (from ``esalog --version``)."""
    return subprocess.run([*ESALOG, "--version"], capture_output=True, text=True).stdout.strip()


def startup_note(empty: Path, repeat: int) -> str:
    """Start-up of ``esalog parse`` on an empty file against ``python -c pass`` plus the orjson import."""
    def best(cmd: list[str]) -> float:
        return min(run_once(PIN + cmd)[0] for _ in range(max(3, repeat)))

    one_line = WORK / "one-line.log"
    one_line.write_text("Thu Aug 14 11:04:31 2014 Info: New SMTP ICID 10293 interface Management (10.0.0.5) "
                        "address 192.0.2.17 reverse dns host mail.example.org verified yes\n")
    esalog = best([*ESALOG, "parse", "-q", str(empty), "-o", os.devnull])
    first = best([*ESALOG, "parse", "-q", str(one_line), "-o", os.devnull])
    python = best([PY, "-c", "import orjson"])
    return (f"Start-up: `esalog parse` on an empty file {esalog * 1000:.0f} ms, `python -c 'import orjson'` "
            f"{python * 1000:.0f} ms ({esalog / python:.1f}x); on a one-line mail log {first * 1000:.0f} ms "
            "(reads the mail log pack, from the YAML cache after the first run, and compiles the one rule "
            "dispatch reaches). Byte-code compiled first, as `pip install` does.")


def scaling(args: argparse.Namespace, empty: Path) -> list[Run]:
    """Stateful parse at growing sizes: time should grow linearly, memory stay flat."""
    sizes = (10_000, 100_000, 400_000) if args.quick else (100_000, 1_000_000, 4_000_000)
    runs = []
    for size in sizes:
        path, _ = corpus(WORK, size, "file")
        runs.append(measure(f"scaling: parse {size:,} lines",
                            parse_cmd(),
                            path, size, 1, empty))
    return runs


def open_messages(args: argparse.Namespace, empty: Path) -> list[Run]:
    """1M messages that never finish: memory must stay bounded by ``--max-open``."""
    messages = 100_000 if args.quick else 1_000_000
    path = WORK / f"open-{messages}.log"
    if not path.exists():
        write_open_messages(path, messages)
    runs = [measure(f"open messages: parse {messages:,} unfinished",
                    parse_cmd(),
                    path, 2 * messages, 1, empty)]
    if "--max-open" in esalog_help("parse"):
        for bound in (10_000, 100_000):
            runs.append(measure(f"open messages: --max-open {bound:,}",
                                parse_cmd("--max-open", str(bound)),
                                path, 2 * messages, 1, empty))
    return runs


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def parallel_capacity(n: int = 10_000_000) -> float:
    """How much faster two CPU-bound processes finish side by side than one after the other."""
    with ProcessPoolExecutor(2, mp_context=get_context("fork")) as pool:
        list(pool.map(_spin, [1, 1]))  # start both workers first
        start = time.perf_counter()
        list(pool.map(_spin, [n], chunksize=1))
        list(pool.map(_spin, [n], chunksize=1))
        one_after_other = time.perf_counter() - start
        start = time.perf_counter()
        list(pool.map(_spin, [n, n], chunksize=1))
        side_by_side = time.perf_counter() - start
    return one_after_other / side_by_side


def _wait_for_port(port: int, timeout: float = 20.0) -> None:
    """Until a server accepts connections on 127.0.0.1:*port* (a run against one not up yet measures its
    start-up, not esalog)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def shipping(args: argparse.Namespace, empty: Path) -> tuple[list[Run], list[str]]:
    """Events/s from ``esalog ship --stateless`` to a HEC and a ``_bulk`` endpoint that only answer success
    (bench/okserver.py, its own process), with the compiled core and on the pure-Python path."""
    lines = min(args.lines, SHIP_LINES)
    path = head(corpus(WORK, args.lines, "file")[0], lines)
    port = 18000 + os.getpid() % 1000
    server = subprocess.Popen([PY, str(BENCH / "okserver.py"), str(port)], stdout=subprocess.PIPE, text=True)
    _wait_for_port(port)
    url = f"http://127.0.0.1:{port}"
    os.environ.update(ESALOG_HEC_TOKEN="bench", ESALOG_ES_API_KEY="bench")
    runs = []
    try:
        for to, flag in (("hec", "--hec-url"), ("es", "--es-url")):
            for env, label in ((None, ""), (PURE, ", pure")):
                runs.append(measure(f"ship --stateless to {to}{label}",
                                    lambda p, to=to, flag=flag: ([*ESALOG, "ship", "-q", "--stateless", "--to", to,
                                                                  flag, url, str(p)], None),
                                    path, lines, 1, empty, pin=False, env=env))
    finally:
        server.terminate()
        received = server.communicate(timeout=10)[0].strip()
    notes = [f"Shipping: {lines:,} events per run to bench/okserver.py on {url} (HEC and `_bulk` answered with "
             f"success, nothing kept; {received})."]
    return runs, notes


def kinds(args: argparse.Namespace) -> str:
    """Cost per line kind, in this process: the realistic corpus's lines of each expected rule, converted with
    ``--stateless`` by the compiled core and on the pure-Python path (best of three)."""
    from esalog.integrations.convert import convert
    from esalog.pipeline import PipelineConfig, build_pipeline
    from esalog.testing.generate import simulate
    from esalog.tracking.config import TrackingConfig

    per_kind: dict[str, list[str]] = {}
    for seconds, kind, body, _ in simulate(min(args.lines, 200_000), seed=3, verdicts=True):
        lines = per_kind.setdefault(kind, [])
        if len(lines) < 2000:
            stamp = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(1793606400 + int(seconds)))
            lines.append(f"{stamp} Info: {body}\n")
    pipeline = build_pipeline(PipelineConfig(tracking=TrackingConfig(stateless=True)))
    core = pipeline.core
    rows = ["| line kind | lines | core ns/line | pure ns/line | core speed-up |",
            "| --- | ---: | ---: | ---: | ---: |"]
    (WORK / "kinds").mkdir(exist_ok=True)
    for kind, lines in sorted(per_kind.items(), key=lambda item: -len(item[1])):
        if len(lines) < 200:
            continue
        path = WORK / "kinds" / f"{kind}.log"
        path.write_text("".join(lines))
        cost = []
        for with_core in (True, False):
            pipeline.core = core if with_core else None
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                convert(pipeline, (str(path),), lambda data: None)
                best = min(best, time.perf_counter() - start)
            cost.append(best / len(lines) * 1e9)
        rows.append(f"| {kind} | {len(lines):,} | {cost[0]:,.0f} | {cost[1]:,.0f} | {cost[1] / cost[0]:.1f}x |")
    return "\n".join(rows)


def table(runs: list[Run]) -> str:
    """Markdown table with ratios to the pygrok baseline and to the floor (by wall time)."""
    base = next((r.lines_per_s for r in runs if r.mode.startswith("baseline")), 0.0)
    floor = next((r.lines_per_s for r in runs if r.mode.startswith("floor")), 0.0)
    rows = ["| mode | lines | lines/s | lines/CPU-s | x pygrok | x floor | peak RSS MB |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in runs:
        comparable = not r.mode.startswith(NOT_COMPARED)  # other inputs or other work than the baseline's
        ratio = f"{r.lines_per_s / base:.1f}x" if base and comparable else "-"
        share = f"{r.lines_per_s / floor:.2f}" if floor and comparable else "-"
        mode = f"{r.mode} ({r.note})" if r.note else r.mode
        rows.append(f"| {mode} | {r.lines:,} | {r.lines_per_s:,.0f} | {r.lines_per_cpu_s:,.0f} | {ratio} "
                    f"| {share} | {r.peak_rss_mb:.0f} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000, help="corpus size (default 1,000,000)")
    ap.add_argument("--quick", action="store_true", help="100,000 lines, one run each (smoke test)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per mode, the best counts (default 3)")
    ap.add_argument("--scaling", action="store_true", help="also parse 100k / 1M / 4M lines")
    ap.add_argument("--max-open", action="store_true", help="also parse 1M messages that never finish")
    ap.add_argument("--shipping", action="store_true", help="also ship to a HEC and _bulk endpoint that answers OK")
    ap.add_argument("--kinds", action="store_true", help="also the cost per line kind, core and pure")
    ap.add_argument("--no-main", action="store_true", help="skip the headline modes")
    ap.add_argument("--update-readme", action="store_true",
                    help="also paste the table into README.md between the bench:begin/end markers")
    args = ap.parse_args()
    if args.quick:
        args.lines, args.repeat = min(args.lines, 100_000), 1
    WORK.mkdir(parents=True, exist_ok=True)
    # as an installed package runs: from byte-code (a machine with PYTHONDONTWRITEBYTECODE=1 set, or an
    # editable install's first run, would compile every module on every start)
    compileall.compile_dir(str(Path(esalog.__file__).parent), quiet=1)
    empty = WORK / "empty.log"
    empty.touch()
    runs: list[Run] = []
    notes: list[str] = []
    if not args.no_main:
        main_runs, notes = main_modes(args, empty)
        runs += main_runs
    if args.scaling:
        runs += scaling(args, empty)
    if args.max_open:
        runs += open_messages(args, empty)
    if args.shipping:
        ship_runs, ship_notes = shipping(args, empty)
        runs += ship_runs
        notes += ship_notes
    meta = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "pinned": " ".join(PIN) or None, "repeat": args.repeat, "lines": args.lines,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "notes": notes}
    results = {"meta": meta, "runs": [asdict(r) for r in runs]}
    (BENCH / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    md = (f"Measured {meta['date']}, Python {meta['python']}, {meta['cpus']} CPUs, "
          f"pinned with `{meta['pinned']}`, best of {args.repeat}, start-up subtracted.\n\n{table(runs)}\n")
    md += "".join(f"\n* {n}" for n in notes) + ("\n" if notes else "")
    if args.kinds:
        md += f"\nCost per line kind (`--stateless`, in-process, best of 3):\n\n{kinds(args)}\n"
    (BENCH / "RESULTS.md").write_text(md)
    print("\n" + md)
    if args.update_readme:
        readme = BENCH.parent / "README.md"
        text = readme.read_text()
        start, end = text.index(README_BEGIN) + len(README_BEGIN), text.index(README_END)
        readme.write_text(text[:start] + "\n" + md + text[end:])


if __name__ == "__main__":
    main()
