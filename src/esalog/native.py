"""Which parsing core runs: the compiled one (``esalog._core``) unless it was not built or ``ESALOG_PURE=1``.

The compiled core is optional: ``pip install .`` builds it where a C compiler is at hand, and every
feature works without it on the pure-Python path (the Splunk app always runs that one).
"""

from __future__ import annotations

import os
from functools import cache
from types import ModuleType

#: Set to 1 to force the pure-Python path.
PURE_ENV = "ESALOG_PURE"


@cache
def _load() -> tuple[ModuleType | None, str]:
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return None, f"pure-Python core: {PURE_ENV}=1"
    try:
        from esalog import _core
    except ImportError:
        return None, "pure-Python core: the compiled core is not built"
    return _core, "compiled core"


def core() -> ModuleType | None:
    """The compiled core module, or None when the pure-Python path runs."""
    return _load()[0]


def core_status() -> str:
    """Which core runs, in words (``esalog --version``)."""
    return _load()[1]
