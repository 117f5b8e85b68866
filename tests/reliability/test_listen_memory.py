"""Issue 12 item 8: the listener's memory is bounded in bytes whatever the senders do. A flood of
complete lines against a slow sink, hundreds of connections each holding a 250 KB line without its end,
and thousands of distinct UDP senders: the peak RSS of the subprocess stays within the bound the README
states (``--max-buffer`` + ``--max-connections`` x 64 KiB + the per-peer streams + the driver's batches)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from esalog.testing import FakeHEC
from tests.reliability.conftest import TOKEN, wait_until
from tests.reliability.listen_helpers import Listen, consistent, syslog_lines

MiB = 1024 * 1024
MAX_BUFFER = 8 * MiB
CONNECTIONS = 600
PARTIAL = 250 * 1024


def rss(pid: int, field: str) -> int:
    """VmRSS or VmHWM (peak) of a process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field}")


def test_peak_rss_is_bounded_under_a_flood() -> None:
    with FakeHEC(token=TOKEN) as hec:
        hec.faults.slow(0.3, times=100_000)  # a slow sink: back-pressure holds the whole time
        listen = Listen("--to", "hec", "--hec-url", hec.url, "--max-buffer", str(MAX_BUFFER), "--max-frame",
                        str(512 * 1024), "--max-connections", str(CONNECTIONS + 10), "--batch-events", "2000")
        pid = listen.process.pid
        idle = rss(pid, "VmRSS")
        holders: list[socket.socket] = []
        try:
            line = b"x" * 1024
            for _ in range(CONNECTIONS):  # each holds a long line without its end
                sock = socket.create_connection(("127.0.0.1", listen.tcp))
                sock.setblocking(False)
                try:
                    sock.send(b"<22>Aug 14 11:04:51 esa1 mail_logs: Info: MID 1 Subject " + line * (PARTIAL // 1024))
                except BlockingIOError:
                    pass
                holders.append(sock)
            flood = b"".join(s.encode() + b"\n" for s in syslog_lines(200_000))

            def push() -> None:
                with socket.create_connection(("127.0.0.1", listen.tcp)) as tcp:
                    tcp.settimeout(60)
                    try:
                        tcp.sendall(flood)
                    except OSError:
                        pass

            pushers = [threading.Thread(target=push) for _ in range(2)]
            for thread in pushers:
                thread.start()
            for n in range(4000):  # thousands of distinct senders (each a peer stream)
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                    udp.bind((f"127.1.{n >> 8}.{n & 255 or 1}", 0))
                    udp.sendto(b"<22>Aug 14 11:04:51 esa9 mail_logs: Info: Start MID 5 ICID 6", ("127.0.0.1", listen.udp))
            wait_until(lambda: hec.count >= 4000, what="delivery under back-pressure", timeout=120)
            peak = rss(pid, "VmHWM") - idle
            listen.signal(2)
            listen.wait_line("SIGINT: stopping")
            listen.signal(2)  # give up: the sink is slow, the point is the memory
            code, _, stats = listen.finish(timeout=60)
            for thread in pushers:
                thread.join(timeout=60)
        finally:
            for sock in holders:
                sock.close()
            listen.kill()
    # the README's bound: --max-buffer + --max-connections x 64 KiB + 4 MiB per 1000 peer streams (at most
    # 4096 kept) + the driver's batches ((--queue-batches + --concurrency + 1) x --batch-bytes, 1 MB for
    # HEC, encoded) + 20 MiB of working room; the base (Python, packs) is measured before the flood
    bound = MAX_BUFFER + (CONNECTIONS + 10) * 64 * 1024 + 16 * MiB + (4 + 2 + 1) * 1 * MiB + 20 * MiB
    assert peak < bound, f"peak RSS grew by {peak / MiB:.0f} MiB (bound {bound / MiB:.0f} MiB)"
    assert stats["peak_buffer_bytes"] <= MAX_BUFFER + (CONNECTIONS + 10) * 64 * 1024, stats
    consistent(stats)
    print(f"peak RSS growth {peak / MiB:.1f} MiB, bound {bound / MiB:.0f} MiB, held at most "
          f"{stats['peak_buffer_bytes'] / MiB:.1f} MiB, exit {code}")
