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
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

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


def run_once(cmd: list[str], stdin: Path | None = None) -> tuple[float, float, float]:
    """Run *cmd* (stdout to /dev/null); return wall seconds, CPU seconds and the child's peak RSS in MB."""
    with open(stdin or os.devnull, "rb") as src, open(os.devnull, "wb") as sink:
        start = time.perf_counter()
        proc = subprocess.run([PY, "-c", LAUNCHER, *cmd], stdin=src, stdout=sink, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - start
    err, _, report = proc.stderr.rstrip(b"\n").rpartition(b"\n")
    code, cpu, kilobytes = report.split()
    if proc.returncode != 0 or int(code) != 0:
        tail = err.decode(errors="replace")[-500:]
        raise RuntimeError(f"{' '.join(cmd)} failed ({int(code)}): {tail}")
    return elapsed, float(cpu), int(kilobytes) / 1024


def measure(mode: str, build: Builder, path: Path, lines: int, repeat: int, empty: Path,
            pin: bool = True, note: str = "") -> Run:
    """Best of *repeat* runs of ``build(path)`` minus the best start-up (``build(empty)``)."""
    prefix = PIN if pin else []
    cmd, stdin = build(empty)
    starts = [run_once(prefix + cmd, stdin) for _ in range(max(1, repeat - 1))]
    startup, startup_cpu = min(s[0] for s in starts), min(s[1] for s in starts)
    best = best_cpu = float("inf")
    rss = 0.0
    for _ in range(repeat):
        cmd, stdin = build(path)
        elapsed, cpu, peak = run_once(prefix + cmd, stdin)
        best, best_cpu, rss = min(best, elapsed), min(best_cpu, cpu), max(rss, peak)
    run = Run(mode, lines, max(best - startup, 1e-9), max(best_cpu - startup_cpu, 1e-9), startup, rss, note=note)
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
    """The five modes of the headline table on the file-form corpus, plus stateful parse on syslog form."""
    notes: list[str] = []
    path, _ = corpus(WORK, args.lines, "file")
    syslog_path, _ = corpus(WORK, args.lines, "syslog")
    runs: list[Run] = []
    print(f"corpus {path.name}: {args.lines:,} lines, {path.stat().st_size / 1e6:.0f} MB; "
          f"pin: {' '.join(PIN) or 'none'}")
    parse = esalog_help("parse")
    runs.append(measure("parse (stateful)", parse_cmd(), path, args.lines, args.repeat, empty))
    if "--stateless" in parse:
        runs.append(measure("parse --stateless", parse_cmd("--stateless"),
                            path, args.lines, args.repeat, empty))
    else:
        notes.append("`--stateless` is not available: session tracking is not merged, "
                     "so `parse` is stateless.")
    runs.append(measure("parse (stateful), syslog form",
                        parse_cmd(),
                        syslog_path, args.lines, args.repeat, empty))
    runs.append(measure("filter (flush per line)", lambda p: ([*ESALOG, "filter"], p),
                        path, args.lines, args.repeat, empty))
    base_lines = min(args.lines, BASELINE_LINES)
    runs.append(measure("baseline: pygrok + json.dumps",
                        lambda p: ([PY, str(BENCH / "peers.py"), "pygrok", str(p)], None),
                        head(path, base_lines), base_lines, max(1, args.repeat - 1), empty,
                        note=f"first {base_lines:,} lines"))
    runs.append(measure("floor: read + orjson one-key dict",
                        lambda p: ([PY, str(BENCH / "peers.py"), "floor", str(p)], None),
                        path, args.lines, args.repeat, empty))
    if "--workers" in parse:
        halves = [corpus(WORK / "workers", args.lines // 2, "file", seed)[0] for seed in (1, 2)]

        def workers(n: int) -> Builder:
            """``parse --workers N`` over both halves (over the empty file alone for the start-up run)."""
            return lambda p: ([*ESALOG, "parse", "-q", "--workers", str(n),
                               *([str(p)] if p == empty else map(str, halves)), "-o", os.devnull], None)

        for n in (1, 2):
            runs.append(measure(f"parse --workers {n} (2 files, 2 cores)", workers(n),
                                halves[0], 2 * (args.lines // 2), args.repeat, empty, pin=False))
        notes.append(f"Free parallelism during the run: two CPU-bound processes ran {parallel_capacity():.2f}x "
                     "as fast side by side as one after the other (2.0 = a whole idle second core); "
                     "the `--workers 2` speed-up cannot exceed it.")
    return runs, notes


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


def shipping(args: argparse.Namespace, empty: Path) -> tuple[list[Run], list[str]]:
    """Events/s from ``esalog ship`` to the fake Splunk HEC and the fake Elasticsearch (in this process)."""
    if importlib.util.find_spec("esalog.testing") is None or "ship" not in esalog_help(""):
        return [], ["Shipping not measured: the connectors (`esalog ship`, `esalog.fakes`) are not merged."]
    from esalog.testing import FakeElasticsearch, FakeHEC

    lines = min(args.lines, SHIP_LINES)
    path = head(corpus(WORK, args.lines, "file")[0], lines)
    runs = []
    with FakeHEC() as hec:
        os.environ["ESALOG_HEC_TOKEN"] = hec.token
        runs.append(measure("ship to fake HEC", lambda p: ([*ESALOG, "ship", "--to", "hec", "--hec-url", hec.url,
                                                           str(p)], None), path, lines, 1, empty))
        received = hec.count
    with FakeElasticsearch(api_key="bench") as es:
        os.environ["ESALOG_ES_API_KEY"] = "bench"
        runs.append(measure("ship to fake Elasticsearch", lambda p: ([*ESALOG, "ship", "--to", "es", "--es-url",
                                                                     es.url, str(p)], None),
                            path, lines, 1, empty))
        indexed = len(es.ids())
    notes = [f"Shipping: {lines:,} events per run; the fake HEC received {received:,}, the fake "
             f"Elasticsearch holds {indexed:,} documents (both run in the harness process, on the other core)."]
    return runs, notes


def table(runs: list[Run]) -> str:
    """Markdown table with ratios to the pygrok baseline and to the floor (by wall time)."""
    base = next((r.lines_per_s for r in runs if r.mode.startswith("baseline")), 0.0)
    floor = next((r.lines_per_s for r in runs if r.mode.startswith("floor")), 0.0)
    rows = ["| mode | lines | lines/s | lines/CPU-s | x pygrok | % of floor | peak RSS MB |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in runs:
        comparable = not r.mode.startswith(NOT_COMPARED)  # other inputs or other work than the baseline's
        ratio = f"{r.lines_per_s / base:.1f}x" if base and comparable else "-"
        share = f"{100 * r.lines_per_s / floor:.0f} %" if floor and comparable else "-"
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
    ap.add_argument("--shipping", action="store_true", help="also ship to the fake HEC and Elasticsearch")
    ap.add_argument("--no-main", action="store_true", help="skip the headline modes")
    ap.add_argument("--update-readme", action="store_true",
                    help="also paste the table into README.md between the bench:begin/end markers")
    args = ap.parse_args()
    if args.quick:
        args.lines, args.repeat = min(args.lines, 100_000), 1
    WORK.mkdir(parents=True, exist_ok=True)
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
    (BENCH / "RESULTS.md").write_text(md)
    print("\n" + md)
    if args.update_readme:
        readme = BENCH.parent / "README.md"
        text = readme.read_text()
        start, end = text.index(README_BEGIN) + len(README_BEGIN), text.index(README_END)
        readme.write_text(text[:start] + "\n" + md + text[end:])


if __name__ == "__main__":
    main()
