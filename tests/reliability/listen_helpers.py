"""Start ``esalog listen`` in a subprocess on 127.0.0.1 and talk to it."""

from __future__ import annotations

import json
import re
import signal
from typing import Any

from esalog.testing import StderrLines
from tests.reliability.conftest import TOKEN, esalog


class Listen(StderrLines):
    """A listener subprocess: its ports, its stderr lines, and a clean stop."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        super().__init__(esalog("listen", "--udp", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--year", "2014",
                                "--stats", *args, env={"ESALOG_HEC_TOKEN": TOKEN, **(env or {})}))
        banner = self.readline()
        while banner.startswith("esalog: warning:"):
            banner = self.readline()
        found = re.search(r"udp://127\.0\.0\.1:(\d+) tcp://127\.0\.0\.1:(\d+)", banner)
        if not found:
            self.process.kill()
            raise AssertionError(f"no listening banner: {banner!r}")
        self.udp, self.tcp = int(found.group(1)), int(found.group(2))

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.process.send_signal(sig)

    def finish(self, timeout: float = 60) -> tuple[int, str, dict[str, Any]]:
        """Wait for the exit: (exit code, all stderr, the --stats counters)."""
        code, text = self.wait_exit(timeout)
        stats = next((json.loads(line) for line in reversed(text.splitlines()) if line.startswith("{")), {})
        return code, text, stats

    def stop(self, timeout: float = 60) -> tuple[int, str, dict[str, Any]]:
        self.signal(signal.SIGTERM)
        return self.finish(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


def syslog_lines(count: int, start: int = 0, host: str = "esa1") -> list[str]:
    return [f"<22>Aug 14 11:04:51 {host} mail_logs: Info: Start MID {n} ICID {n + 7}" for n in range(start, start + count)]


def consistent(stats: dict[str, Any]) -> None:
    """The delivery invariant: events received = delivered + dead-lettered + failed + pending."""
    assert stats["received"] == (stats["acknowledged"] + stats["dead_lettered"] + stats["failed"]
                                 + stats.get("pending", 0)), stats
