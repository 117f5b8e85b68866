"""Start ``esalog listen`` in a subprocess on 127.0.0.1 and talk to it."""

from __future__ import annotations

import json
import re
import signal
import time
from typing import Any

from tests.reliability.conftest import TOKEN, esalog


class Listen:
    """A listener subprocess: its ports, its stderr lines, and a clean stop."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = esalog("listen", "--udp", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--year", "2014", "--stats",
                              *args, env={"ESALOG_HEC_TOKEN": TOKEN, **(env or {})})
        assert self.process.stderr is not None
        self.lines: list[str] = []
        banner = self.readline()
        while banner.startswith("esalog: warning:"):
            banner = self.readline()
        found = re.search(r"udp://127\.0\.0\.1:(\d+) tcp://127\.0\.0\.1:(\d+)", banner)
        if not found:
            self.process.kill()
            raise AssertionError(f"no listening banner: {banner!r}")
        self.udp, self.tcp = int(found.group(1)), int(found.group(2))

    def readline(self) -> str:
        assert self.process.stderr is not None
        line = self.process.stderr.readline().decode()
        self.lines.append(line)
        return line

    def wait_line(self, needle: str, timeout: float = 30) -> str:
        """The first stderr line (from now) containing *needle* (awaited line by line)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.readline()
            if not line:
                break
            if needle in line:
                return line
        raise AssertionError(f"{needle!r} not in {self.lines!r}")

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.process.send_signal(sig)

    def finish(self, timeout: float = 60) -> tuple[int, str, dict[str, Any]]:
        """Wait for the exit: (exit code, all stderr, the --stats counters)."""
        _, rest = self.process.communicate(timeout=timeout)
        text = "".join(self.lines) + rest.decode()
        stats = next((json.loads(line) for line in reversed(text.splitlines()) if line.startswith("{")), {})
        return self.process.returncode, text, stats

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
