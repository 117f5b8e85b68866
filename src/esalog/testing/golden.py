"""Golden whole-event fixtures, like Elastic's pipeline tests: each ``NAME.log`` has ``NAME.expected.ndjson``
beside it, the events esalog makes of it (session tracking and summaries on, a pinned clock). The pack
examples have one expected file per pack, and files that may not be copied into the repository (the
shared corpus) are pinned by the SHA-256 of their output only.

``python -m esalog.testing.golden [--regenerate] [--corpus DIR] ROOT...`` checks (or rewrites) every
fixture under the ROOTs; review a regeneration with ``git diff``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from esalog.encode import encode_lines
from esalog.parsers.config import ParseConfig
from esalog.parsers.engine import builtin_log_types
from esalog.parsers.parser import log_type_for
from esalog.pipeline import Pipeline, PipelineConfig, build_pipeline
from esalog.sources.reader import Source, SourceConfig
from esalog.testing.examples import EXAMPLE_TODAY
from esalog.tracking.config import TrackingConfig

EXPECTED_SUFFIX = ".expected.ndjson"
#: Stamps of lines without a time of their own (the parse time) are pinned to this moment.
PINNED_NOW = datetime(2026, 11, 27, tzinfo=UTC)
CORPUS_DIGESTS = "shared-corpus.sha256"
#: The shared corpus files whose output is pinned (the log files of every peer, the seed sequences).
CORPUS_SUFFIXES = (".log", ".s")


def _pinned_now() -> datetime:
    return PINNED_NOW


def golden_config() -> PipelineConfig:
    """How fixtures are read: tracking with summaries, year-less stamps in 2026, a pinned clock."""
    return PipelineConfig(ParseConfig(today=EXAMPLE_TODAY, now=_pinned_now), TrackingConfig(summaries=True))


def render(path: Path) -> bytes:
    """The NDJSON esalog makes of the log file *path* with the golden configuration.

    A file in a folder named after a log type (``tests/fixtures/amp/reputation.log``) is read with that
    type's pack, as a file named ``amp.@….s`` would be. A file whose own name already says the type
    (``authentication/authentication.sc4s-relayed.log``) is routed by that name, as the CLI routes it:
    a relayed line naming another subscription then goes to that one's pack, as it does for a user.
    """
    config = golden_config()
    if path.parent.name in builtin_log_types() and log_type_for(None, path.name) != path.parent.name:
        config = replace(config, parse=replace(config.parse, log_type=path.parent.name))
    return _render(build_pipeline(config), path)


def _render(pipeline: Pipeline, path: Path) -> bytes:
    source = Source(pipeline, SourceConfig(paths=(str(path),)))
    parts = [encode_lines(batch.records) for batch in source.batches()]
    parts.append(encode_lines(pipeline.flush()))
    return b"".join(parts)


def render_pack_examples() -> dict[str, bytes]:
    """Per log type, the events of every example of every rule (each example on its own stream)."""
    pipeline = build_pipeline(golden_config())
    out: dict[str, bytes] = {}
    for log_type, pack in sorted(pipeline.parser.packs.items()):
        parts = []
        for rule in pack.rules:
            for example in rule.source.examples:
                stream = pipeline.open_stream(f"example:{rule.id}")
                stream.log_type = log_type
                parts.append(encode_lines([pipeline.parser.parse(example.line, stream)]))
        out[log_type] = b"".join(parts)
    return out


@dataclass(frozen=True)
class Mismatch:
    """A fixture whose output is not what its expected file says."""

    fixture: Path
    why: str


def log_fixtures(roots: Iterable[Path]) -> Iterator[Path]:
    """The ``*.log`` files under *roots*, sorted."""
    for root in roots:
        yield from sorted(p for p in root.rglob("*.log") if p.is_file())


def corpus_files(corpus: Path) -> list[Path]:
    """The shared corpus's log files whose output is pinned by digest."""
    return sorted(p for p in corpus.rglob("*") if p.is_file() and p.name.endswith(CORPUS_SUFFIXES))


def corpus_digests(corpus: Path) -> str:
    """``sha256  relative/path`` of the output of every shared corpus file, one per line."""
    rows = []
    for path in corpus_files(corpus):
        rows.append(f"{hashlib.sha256(render(path)).hexdigest()}  {path.relative_to(corpus).as_posix()}")
    return "\n".join(rows) + "\n"


def check(roots: Iterable[Path], packs_dir: Path | None = None, corpus: Path | None = None,
          *, regenerate: bool = False) -> list[Mismatch]:
    """Compare (or, with *regenerate*, rewrite) every fixture; returns what differs."""
    wanted: dict[Path, bytes] = {}
    for path in log_fixtures(roots):
        wanted[path.with_name(path.name.removesuffix(".log") + EXPECTED_SUFFIX)] = render(path)
    if packs_dir is not None:
        for log_type, data in render_pack_examples().items():
            wanted[packs_dir / log_type / f"pack-examples{EXPECTED_SUFFIX}"] = data
    if corpus is not None and packs_dir is not None:
        wanted[packs_dir / CORPUS_DIGESTS] = corpus_digests(corpus).encode()
    mismatches = []
    for target, data in wanted.items():
        old = target.read_bytes() if target.exists() else None
        if old == data:
            continue
        if regenerate:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        mismatches.append(Mismatch(target, "missing" if old is None else _first_difference(old, data)))
    return mismatches


def _first_difference(old: bytes, new: bytes) -> str:
    old_lines, new_lines = old.splitlines(), new.splitlines()
    for number, (a, b) in enumerate(zip(old_lines, new_lines, strict=False), start=1):
        if a != b:
            return f"line {number} differs: expected {a[:160]!r}, got {b[:160]!r}"
    return f"{len(old_lines)} lines expected, {len(new_lines)} made"


def main(argv: list[str] | None = None) -> int:
    """Check (or with ``--regenerate`` rewrite) the expected files; 1 when some fixture differs."""
    ap = argparse.ArgumentParser(prog="python -m esalog.testing.golden", description=__doc__.split("\n\n")[0])
    ap.add_argument("roots", nargs="*", type=Path, default=[Path("tests/fixtures"), Path("tests/corpus")])
    ap.add_argument("--packs-dir", type=Path, default=Path("tests/fixtures"),
                    help="where the pack examples' expected files and the corpus digests live")
    ap.add_argument("--corpus", type=Path, help="the shared corpus to pin by digest (e.g. ../shared/corpus)")
    ap.add_argument("--regenerate", action="store_true", help="rewrite the expected files")
    args = ap.parse_args(argv)
    roots = [root for root in args.roots if root.is_dir()]
    mismatches = check(roots, args.packs_dir, args.corpus, regenerate=args.regenerate)
    for m in mismatches:
        print(f"{'rewrote' if args.regenerate else 'DIFFERS'} {m.fixture}: {m.why}", file=sys.stderr)
    print(f"{len(mismatches)} fixtures {'rewritten' if args.regenerate else 'differ'}", file=sys.stderr)
    return 1 if mismatches and not args.regenerate else 0


if __name__ == "__main__":
    raise SystemExit(main())
