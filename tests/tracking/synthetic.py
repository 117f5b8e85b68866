"""Synthetic ESA mail logs for the tracking tests: finished messages and messages that never finish."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

_DAY = "Thu Aug 14"


def _stamp(second: int) -> str:
    h, rest = divmod(second % 86400, 3600)
    m, s = divmod(rest, 60)
    return f"{_DAY} {h:02d}:{m:02d}:{s:02d} 2014 Info: "


def finished_message(n: int, second: int) -> list[str]:
    """The 15 lines of one delivered message on its own connection (ICID n, MID n, DCID n)."""
    p = _stamp(second)
    ip = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
    return [
        f"{p}New SMTP ICID {n} interface Data 1 (192.0.2.1) address {ip} "
        f"reverse dns host h{n}.example.net verified yes",
        f"{p}ICID {n} ACCEPT SG UNKNOWNLIST match sbrs[-2.0:10.0] SBRS 1.5",
        f"{p}Start MID {n} ICID {n}",
        f"{p}MID {n} ICID {n} From: <sender{n}@example.net>",
        f"{p}MID {n} ICID {n} RID 0 To: <user{n}@example.com>",
        f"{p}MID {n} Message-ID '<{n}@example.net>'",
        f"{p}MID {n} Subject 'hello {n}'",
        f"{p}MID {n} ready 1234 bytes from <sender{n}@example.net>",
        f"{p}MID {n} matched all recipients for per-recipient policy DEFAULT in the inbound table",
        f"{p}MID {n} queued for delivery",
        f"{p}New SMTP DCID {n} interface 192.0.2.1 address 198.51.100.7 port 25",
        f"{p}Delivery start DCID {n} MID {n} to RID [0]",
        f"{p}Message done DCID {n} MID {n} to RID [0]",
        f"{p}MID {n} RID [0] Response '2.0.0 Ok: queued'",
        f"{p}Message finished MID {n} done",
        f"{p}ICID {n} close",
        f"{p}DCID {n} close",
    ]


def open_message(n: int, second: int) -> list[str]:
    """Three lines of a message that never finishes (its connection never closes either)."""
    p = _stamp(second)
    return [
        f"{p}Start MID {n} ICID {n}",
        f"{p}MID {n} ICID {n} From: <s{n}@example.net>",
        f"{p}MID {n} ICID {n} RID 0 To: <u{n}@example.com>",
    ]


def mixed_lines(open_count: int, finished_count: int) -> Iterator[str]:
    """*open_count* never-finishing and *finished_count* delivered messages, interleaved, ids distinct."""
    ratio = max(1, open_count // max(1, finished_count))
    done = 0
    for i in range(open_count):
        yield from open_message(1_000_000 + i, i // 50)
        if i % ratio == 0 and done < finished_count:
            yield from finished_message(done + 1, i // 50)
            done += 1
    for j in range(done, finished_count):
        yield from finished_message(j + 1, open_count // 50)


def write_log(path: Path, lines: Iterator[str]) -> int:
    """Write *lines* to *path*; return how many."""
    count = 0
    with open(path, "w", encoding="ascii") as out:
        for line in lines:
            out.write(line + "\n")
            count += 1
    return count
