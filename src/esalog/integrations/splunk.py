"""The Splunk app ``TA-esalog``: what its scripts share, and ``esalog splunk-app build``.

The app (templates in ``splunk_app/``) carries its dependencies in ``lib/``, as Splunk apps must:
esalog itself, PyYAML (pure-Python part), splunk-sdk (``splunklib``) and what splunklib imports
(``deprecation``, ``packaging``). orjson is a compiled wheel and is left out: esalog falls back to the
stdlib ``json`` encoder there. jsonschema (event validation), requests and esalog's connectors and fakes
are not needed inside Splunk and are not bundled.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import tarfile
import time
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from esalog import __version__
from esalog.errors import ConfigError
from esalog.parsers.engine import Event
from esalog.pipeline import Pipeline

APP_NAME = "TA-esalog"
LINE_SOURCETYPE = "cisco:esa:json"
SUMMARY_SOURCETYPE = "cisco:esa:message"
SUMMARY_ACTION = "message-summary"
#: Top-level packages copied into the app's lib/ (import name -> only pure-Python files).
BUNDLED = ("esalog", "yaml", "splunklib", "deprecation", "packaging")
#: Left out of the bundled esalog: the app template itself, and the shippers and test fakes (they need
#: requests, which Splunk apps do not get; inside Splunk, Splunk does the shipping).
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.pyd", "splunk_app", "connectors", "fakes")


def pipeline_from_argv(argv: list[str]) -> Pipeline:
    """A pipeline (parser and stages, session tracking included) from ``esalog parse``-style options."""
    from esalog.cli import add_parse_options, build_pipeline

    parser = argparse.ArgumentParser(prog="esalog", add_help=False)
    add_parse_options(parser)
    return build_pipeline(parser.parse_args(argv))


def sourcetype_of(event: Event) -> str:
    """The sourcetype an event is indexed with: summaries apart from line events."""
    return SUMMARY_SOURCETYPE if event["event"].get("action") == SUMMARY_ACTION else LINE_SOURCETYPE


def epoch_seconds(event: Event) -> float:
    """``@timestamp`` as epoch seconds (what Splunk's ``_time`` takes)."""
    return datetime.fromisoformat(event["@timestamp"].replace("Z", "+00:00")).timestamp()


def flatten(event: Event, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Nested event -> dotted names; lists of scalars stay lists (multivalue), other lists become JSON."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else key, sub)
        elif prefix in skip:
            return
        elif isinstance(value, list):
            if all(not isinstance(v, dict | list) for v in value):
                out[prefix] = [_text(v) for v in value]
            else:
                out[prefix] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        else:
            out[prefix] = _text(value)

    walk("", event)
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ------------------------------------------------------------------------------------------ builder

def _package_dir(name: str) -> Path:
    try:
        module = importlib.import_module(name)
    except ImportError:
        raise ConfigError(f"cannot bundle {name!r}: not installed (pip install 'esalog[splunk]')") from None
    if module.__file__ is None:
        raise ConfigError(f"cannot bundle {name!r}: no files")
    path = Path(module.__file__)
    return path.parent if path.name == "__init__.py" else path


def build_app(out_dir: Path) -> tuple[Path, Path, Path]:
    """Write ``TA-esalog/`` and its ``.tgz`` and ``.spl`` archives into *out_dir*; return the three paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    app = out_dir / APP_NAME
    if app.exists():
        shutil.rmtree(app)
    template = resources.files("esalog.integrations") / "splunk_app"
    with resources.as_file(template) as template_dir:
        shutil.copytree(template_dir, app, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    conf = app / "default" / "app.conf"
    conf.write_text(conf.read_text().replace("@@VERSION@@", __version__)
                    .replace("@@BUILD@@", time.strftime("%Y%m%d%H%M", time.gmtime())))
    lib = app / "lib"
    lib.mkdir()
    for name in BUNDLED:
        source = _package_dir(name)
        if source.is_dir():
            shutil.copytree(source, lib / source.name, ignore=_SKIP)
        else:
            shutil.copy2(source, lib / source.name)
    for script in (app / "bin").glob("*.py"):
        script.chmod(0o755)
    tgz = out_dir / f"{APP_NAME}-{__version__}.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(app, arcname=APP_NAME, filter=_tar_member)
    spl = tgz.with_suffix(".spl")
    shutil.copyfile(tgz, spl)
    return app, tgz, spl


def _tar_member(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o755 if info.isdir() or (info.name.endswith(".py") and "/bin/" in info.name) else 0o644
    return info


def cmd_splunk_app_build(args: argparse.Namespace) -> int:
    """``esalog splunk-app build``."""
    for path in build_app(Path(args.output)):
        print(path)
    return 0


def register(subparsers: Any) -> None:
    """Add ``esalog splunk-app build``."""
    p = subparsers.add_parser("splunk-app", help="build the Splunk app TA-esalog",
                              description="The Splunk app: modular input esalog://, | esaparse, CIM tags.")
    sub = p.add_subparsers(dest="splunk_command", required=True, metavar="ACTION")
    b = sub.add_parser("build", help="write TA-esalog/ and TA-esalog-VERSION.tgz/.spl",
                       description="Write the app directory and its archives (install the .spl with "
                                   "'splunk install app FILE' or Apps > Install app from file).")
    b.add_argument("-o", "--output", default="dist", metavar="DIR", help="output directory (default dist)")
    b.set_defaults(func=cmd_splunk_app_build)
