"""``esalog parse --workers N``: independent inputs parsed in N processes, output in input order.

Each input (file) is parsed whole by one worker with its own pipeline, which is flushed at the end of
that input: inputs do not share session state, so the output does not depend on N. Each worker writes
its NDJSON to a temporary file; the parent copies the files to the output in input order. At most
``2 * N`` inputs are in flight, so the temporary files never hold much more than that many inputs.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, fields
from multiprocessing import get_context

from esalog.encode import encode_lines
from esalog.errors import ConfigError, EsalogError
from esalog.inputs import expand_paths
from esalog.pipeline import Counters, Pipeline

Builder = Callable[[argparse.Namespace], Pipeline]
Write = Callable[[bytes], object]


def parse_input(args: argparse.Namespace, build: Builder, path: str, write: Write) -> Counters:
    """Parse one input with a fresh pipeline (flushed at its end), writing NDJSON with *write*."""
    pipeline = build(args)
    for events, _pos in pipeline.run_batches([path]):
        write(encode_lines(events))
    return pipeline.counters


def _worker(args: argparse.Namespace, build: Builder, path: str, target: str) -> dict[str, object]:
    """In a worker process: parse *path* into the file *target*; return the counters as a dict."""
    try:
        with open(target, "wb") as out:
            return asdict(parse_input(args, build, path, out.write))
    except EsalogError as exc:  # re-raised in the parent as a plain error that pickles
        raise ConfigError(str(exc)) from None


def add_counters(total: Counters, part: Counters | dict[str, object]) -> None:
    """Add the counts of one input to *total*."""
    values = part if isinstance(part, dict) else asdict(part)
    for f in fields(Counters):
        if f.name == "by_action":
            for action, n in values[f.name].items():  # type: ignore[union-attr]
                total.by_action[action] = total.by_action.get(action, 0) + n
        else:
            setattr(total, f.name, getattr(total, f.name) + values[f.name])


def parse_independently(args: argparse.Namespace, build: Builder, write: Write) -> Counters:
    """Parse each input of ``args.paths`` on its own over ``args.workers`` processes, in input order."""
    paths = expand_paths(args.paths)
    if "-" in paths:
        raise ConfigError("--workers reads files: give file names or globs, not stdin ('-')")
    total = Counters()
    if args.workers <= 1 or len(paths) == 1:
        for path in paths:
            add_counters(total, parse_input(args, build, path, write))
        return total
    with tempfile.TemporaryDirectory(prefix="esalog-workers-") as tmp, \
            ProcessPoolExecutor(max_workers=args.workers, mp_context=get_context("fork")) as pool:
        pending: list[tuple[Future[dict[str, object]], str]] = []
        queue = list(enumerate(paths))
        queue.reverse()

        def submit() -> None:
            while queue and len(pending) < 2 * args.workers:
                index, path = queue.pop()
                target = os.path.join(tmp, f"{index}.ndjson")
                pending.append((pool.submit(_worker, args, build, path, target), target))

        submit()
        while pending:
            future, target = pending.pop(0)
            add_counters(total, future.result())
            with open(target, "rb") as part:
                while chunk := part.read(1024 * 1024):
                    write(chunk)
            os.remove(target)
            submit()
    return total

