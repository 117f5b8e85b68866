"""Third-party servers the tests run esalog against, started privately on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import orjson


@contextmanager
def osmem_server() -> Iterator[str]:
    """A private osmem-server (an OpenSearch-compatible server from PyPI, a dev extra: ImportError when it
    is not installed) on 127.0.0.1: its URL; stopped (SIGTERM, then SIGKILL) on exit."""
    import osmem_server as osmem

    process = subprocess.Popen(
        [osmem.resolve_binary(), "-addr", "127.0.0.1:0", "-no-ja", "-no-stdin-watch", "-parent-pid", str(os.getpid())],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        yield orjson.loads(process.stdout.readline())["url"]  # one JSON line once it listens
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
