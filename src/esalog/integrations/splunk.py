"""The Splunk app ``TA-esalog``: what its scripts share, and ``esalog splunk-app build``.

The app (templates in ``splunk_app/``) carries its dependencies in ``lib/``, as Splunk apps must:
esalog itself, PyYAML (pure-Python part), splunk-sdk (``splunklib``) and what splunklib imports
(``deprecation``, ``packaging``). orjson is a compiled wheel and is left out: esalog falls back to the
stdlib ``json`` encoder there. jsonschema (event validation), requests and esalog's connectors and fakes
are not needed inside Splunk and are not bundled.
"""

from __future__ import annotations

import importlib
import shutil
import sys
import tarfile
import tempfile
import time
from datetime import datetime
from importlib import resources
from pathlib import Path

from esalog import __version__
from esalog.errors import ConfigError

APP_NAME = "TA-esalog"
#: Top-level packages copied into the app's lib/ (import name -> only pure-Python files).
BUNDLED = ("esalog", "yaml", "splunklib", "deprecation", "packaging")
#: Left out of the bundled esalog: the app template itself, the shippers and test fakes (they need
#: requests, which Splunk apps do not get; inside Splunk, Splunk does the shipping), and the compiled core
#: with its sources (Splunk's interpreter runs the pure-Python path).
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.pyd", "*.pyx", "*.pyi", "_core.c", "splunk_app",
                               "connectors", "testing")


def epoch_seconds(timestamp: str) -> float:
    """``@timestamp`` as epoch seconds (what Splunk's ``_time`` takes)."""
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


# ------------------------------------------------------------------------------------------ builder

def _package_dir(name: str) -> Path:
    try:
        module = importlib.import_module(name)
    except ImportError:
        raise ConfigError(f"cannot bundle {name!r}: not installed; install esalog's splunk extra: "
                          f"{sys.executable} -m pip install '.[splunk]' in esalog's directory") from None
    if module.__file__ is None:
        raise ConfigError(f"cannot bundle {name!r}: no files")
    path = Path(module.__file__)
    return path.parent if path.name == "__init__.py" else path


def build_app(out_dir: Path) -> tuple[Path, Path, Path]:
    """Write ``TA-esalog/`` and its ``.tgz`` and ``.spl`` archives into *out_dir*; return the three paths.

    Everything is built in a temporary directory beside *out_dir* first: a failure (a dependency not
    installed) leaves nothing behind.
    """
    sources = {name: _package_dir(name) for name in BUNDLED}  # fails before anything is written
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".esalog-app-", dir=out_dir) as tmp:
        staged = Path(tmp)
        app = staged / APP_NAME
        template = resources.files("esalog.integrations") / "splunk_app"
        with resources.as_file(template) as template_dir:
            shutil.copytree(template_dir, app, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        conf = app / "default" / "app.conf"
        conf.write_text(conf.read_text().replace("@@VERSION@@", __version__)
                        .replace("@@BUILD@@", time.strftime("%Y%m%d%H%M", time.gmtime())))
        lib = app / "lib"
        lib.mkdir()
        for source in sources.values():
            if source.is_dir():
                shutil.copytree(source, lib / source.name, ignore=_SKIP)
            else:
                shutil.copy2(source, lib / source.name)
        for script in (app / "bin").glob("*.py"):
            script.chmod(0o755)
        tgz_name = f"{APP_NAME}-{__version__}.tgz"
        with tarfile.open(staged / tgz_name, "w:gz") as tar:
            tar.add(app, arcname=APP_NAME, filter=_tar_member)
        final_app, tgz = out_dir / APP_NAME, out_dir / tgz_name
        spl = tgz.with_suffix(".spl")
        if final_app.exists():
            shutil.rmtree(final_app)
        app.rename(final_app)
        (staged / tgz_name).replace(tgz)
        shutil.copyfile(tgz, spl)
    return final_app, tgz, spl


def _tar_member(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o755 if info.isdir() or (info.name.endswith(".py") and "/bin/" in info.name) else 0o644
    return info
