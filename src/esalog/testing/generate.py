"""Synthetic ESA mail_logs corpus for the benchmark: realistic mix, interleaved sessions, exact counts.

Lines come from the project's own templates (the shapes of the rules in ``mail_logs.yaml``), not from
the shared corpus. A discrete-event simulation runs many SMTP connections at once: each connection is
a Python generator that yields its next line when the scheduler reaches its time, so ICIDs, MIDs and
DCIDs are assigned when first logged and increase through the file. Per message a few percent end in
each abort category (connection lost, inbound timeout with a 300 s gap, sender quit, policy drop);
some lines are unknown to every rule.

``python -m esalog.testing.generate --lines 100000 --form syslog -o out.log`` writes the corpus and
``out.log.counts.json`` (lines per expected rule id, ``unknown`` for the unmatched ones).

Also here, for tests: small deterministic line sets (:func:`distinct_lines`, :func:`finished_message`,
:func:`open_message`, :func:`mixed_lines`), so tests and the benchmark share one generator.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
from collections import Counter
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

#: Fraction of messages that end in each abort category (the rest are delivered or bounced).
ABORTS = {"connection_lost": 0.02, "inbound_timeout": 0.02, "sender_quit": 0.02, "policy_drop": 0.03}
BOUNCE_RATE = 0.02
REJECT_RATE = 0.08  # connections refused by the HAT
UNKNOWN_RATE = 0.01  # per message: one line that no rule knows
INBOUND_TIMEOUT = 300.0  # seconds of silence before the listener gives up
#: How many connections arrive per simulated second (sets how many interleave).
ARRIVALS_PER_SECOND = 40.0
UNKNOWN_KIND = "unknown"

DOMAINS = ("partner.example", "corp.example", "mail.example.net", "news.example.org", "shop.example.com")
USERS = ("alice", "bob", "carol", "dave", "orders", "billing", "noreply", "sales", "it-support", "ceo")
SUBJECTS = ("Order {n} confirmation", "Re: meeting {n}", "Invoice {n} \\xe2\\x80\\x93 due",
            "Your weekly digest #{n}", "FW: report {n}", "It's the {n}th reminder")
DROPS = ("Dropped by CASE", "Dropped by amp", "Dropped by filter 'drop_zip'",
         "Dropped by content filter 'block_exe' in the inbound table")
COUNTRIES = ("Germany", "United States", "France", "not applicable", "Japan")
CIPHERS = ("ECDHE-RSA-AES256-GCM-SHA384", "TLS_AES_256_GCM_SHA384", "AES128-SHA")


@dataclass
class Ids:
    """Counters for the ids an ESA hands out, each increasing through the log."""

    icid: int = 500_000
    mid: int = 9_000_000
    dcid: int = 700_000
    unknown: int = 0

    def next(self, name: str) -> int:
        value = int(getattr(self, name)) + 1
        setattr(self, name, value)
        return value


#: What a session yields: (expected rule id, body, seconds until its next line, child session or None).
Step = tuple[str, str, float, "Iterator[Step] | None"]


#: The verdict lines of a message's scanning (anti-spam, anti-virus, AMP, Outbreak, URL, SPF/DKIM/DMARC, SDR):
#: (expected rule id, body template). Realistic corpora write them between ``ready`` and the policy match.
VERDICTS = (
    ("spf-verdict", "MID {mid} SPF: mailfrom identity {sender} {spf} (v=spf1)"),
    ("dkim-verdict", "MID {mid} DKIM: {dkim} signature verified (d={domain} s=sel1 i=@{domain})"),
    ("dmarc-result", "MID {mid} DMARC: Message from domain {domain}, DMARC pass (SPF aligned True, DKIM aligned True)"),
    ("sdr-verdict", "MID {mid} SDR: Consolidated Sender Threat Level: {sdr}, Threat Category: N/A, Suspected "
                    "Domain(s) : N/A (other reasons for verdict). Sender Maturity: 30 days (or greater) for domain: "
                    "{domain}"),
    ("antispam-verdict", "MID {mid} using engine: CASE spam {spam}"),
    ("antivirus-verdict", "MID {mid} antivirus {virus}"),
    ("amp-verdict", "MID {mid} AMP file reputation verdict : SKIPPED (no attachment in message)"),
    ("outbreak-verdict", "MID {mid} Outbreak Filters: verdict negative"),
)
URL_VERDICT = ("url-reputation", "MID {mid} URL http://{domain}/offer/{n} has reputation {score} matched "
                                 "Condition: URL Reputation Rule")


@dataclass
class Sim:
    """The random source and id counters shared by every session (*verdicts*: write the scanning lines)."""

    rng: random.Random
    ids: Ids = field(default_factory=Ids)
    verdicts: bool = False

    def addr(self) -> str:
        return f"{self.rng.choice(USERS)}{self.rng.randrange(100)}@{self.rng.choice(DOMAINS)}"

    def ip(self) -> str:
        r = self.rng.randrange
        return f"{r(1, 224)}.{r(256)}.{r(256)}.{r(1, 255)}"

    def gap(self) -> float:
        return self.rng.expovariate(2.0)  # mean 0.5 s between lines of one session

    def connection(self) -> Iterator[Step]:
        """One inbound SMTP connection: 0 (rejected) to 3 messages, then close (or lost)."""
        rng = self.rng
        icid = self.ids.next("icid")
        src = self.ip()
        yield ("connection-opened", f"New SMTP ICID {icid} interface Data 1 (10.20.0.5) address {src} "
               f"reverse dns host mx{icid % 97}.{rng.choice(DOMAINS)} verified {rng.choice(('yes', 'no'))}",
               self.gap(), None)
        if rng.random() < REJECT_RATE:
            yield ("sender-group-reject", f"ICID {icid} REJECT SG BLOCKED_LIST match sbrs[-10.0:-3.0] "
                   f"SBRS -{rng.randrange(30, 100) / 10}", self.gap(), None)
            yield ("connection-closed", f"ICID {icid} close", 0.0, None)
            return
        yield ("sender-group-accept", f"ICID {icid} ACCEPT SG UNKNOWNLIST match sbrs[-2.0:10.0] "
               f"SBRS {rng.randrange(-20, 100) / 10} country {rng.choice(COUNTRIES)}", self.gap(), None)
        if rng.random() < 0.6:
            yield ("tls-inbound-success", f"ICID {icid} TLS success protocol TLSv1.{rng.choice((2, 3))} "
                   f"cipher {rng.choice(CIPHERS)}", self.gap(), None)
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            ended = yield from self.message(icid)
            if ended:
                return
        yield ("connection-closed", f"ICID {icid} close", 0.0, None)

    def message(self, icid: int) -> Generator[Step, None, bool]:
        """One message on connection *icid*; returns True when its abort also ended the connection."""
        rng = self.rng
        roll = rng.random()
        fate = "deliver"
        for name, share in ABORTS.items():
            if roll < share:
                fate = name
                break
            roll -= share
        mid = self.ids.next("mid")
        sender = self.addr()
        yield ("message-start", f"Start MID {mid} ICID {icid}", self.gap(), None)
        yield ("envelope-from", f"MID {mid} ICID {icid} From: <{sender}>", self.gap(), None)
        if fate == "inbound_timeout":
            yield ("envelope-to", f"MID {mid} ICID {icid} RID 0 To:", INBOUND_TIMEOUT, None)
            yield ("message-aborted", f"Message aborted MID {mid} Receiving aborted", 0.0, None)
            yield ("message-finished-aborted", f"Message finished MID {mid} aborted", 0.0, None)
            return False
        rcpts = rng.choice((1, 1, 1, 2, 3))
        for rid in range(rcpts):
            yield ("envelope-to", f"MID {mid} ICID {icid} RID {rid} To: <{self.addr()}>", self.gap(), None)
        if fate == "connection_lost":
            yield ("connection-lost", f"ICID {icid} lost", 0.0, None)
            yield ("message-aborted", f"Message aborted MID {mid} Receiving aborted", 0.0, None)
            yield ("message-finished-aborted", f"Message finished MID {mid} aborted", 0.0, None)
            yield ("connection-closed", f"ICID {icid} close", 0.0, None)
            return True
        if fate == "sender_quit":
            yield ("message-aborted", f"Message aborted MID {mid} Receiving aborted by sender", 0.0, None)
            yield ("message-finished-aborted", f"Message finished MID {mid} aborted", 0.0, None)
            return False
        yield ("message-id", f"MID {mid} Message-ID '<{mid}.{icid}@{rng.choice(DOMAINS)}>'", self.gap(), None)
        yield ("message-subject", f"MID {mid} Subject '{rng.choice(SUBJECTS).format(n=mid % 10_000)}'",
               self.gap(), None)
        yield ("message-ready", f"MID {mid} ready {rng.randrange(900, 2_000_000)} bytes from <{sender}>",
               self.gap(), None)
        if rng.random() < UNKNOWN_RATE:
            n = self.ids.next("unknown")
            yield (UNKNOWN_KIND, f"MID {mid} XBENCH undocumented line {n}", self.gap(), None)
        if self.verdicts:
            yield from self.scanning(mid, sender)
        table = rng.choice(("inbound", "inbound", "outbound"))
        yield ("policy-match", f"MID {mid} matched all recipients for per-recipient policy DEFAULT "
               f"in the {table} table", self.gap(), None)
        if fate == "policy_drop":
            yield ("message-aborted", f"Message aborted MID {mid} {rng.choice(DROPS)}", 0.0, None)
            yield ("message-finished-done", f"Message finished MID {mid} done", self.gap(), None)
            return False
        yield ("message-queued", f"MID {mid} queued for delivery", self.gap(), self.delivery(mid, rcpts))
        return False

    def scanning(self, mid: int, sender: str) -> Iterator[Step]:
        """The verdict lines of one message, a URL verdict for one message in five."""
        rng = self.rng
        facts = {"mid": mid, "sender": sender, "domain": sender.partition("@")[2],
                 "spf": rng.choice(("Pass", "Pass", "SoftFail", "None")), "dkim": rng.choice(("pass", "pass", "fail")),
                 "sdr": rng.choice(("Neutral", "Neutral", "Weak", "Trusted")),
                 "spam": rng.choice(("negative", "negative", "negative", "positive", "suspect")),
                 "virus": rng.choice(("negative",) * 9 + ("positive",)), "n": rng.randrange(1000),
                 "score": rng.choice(("3.0", "-1.2", "7.5"))}
        steps = [*VERDICTS, URL_VERDICT] if rng.random() < 0.2 else VERDICTS
        for kind, template in steps:
            yield (kind, template.format(**facts), rng.expovariate(20.0), None)

    def delivery(self, mid: int, rcpts: int) -> Iterator[Step]:
        """Delivery of a queued message on its own outbound connection (interleaves with the inbound one)."""
        rng = self.rng
        dcid = self.ids.next("dcid")
        rids = ", ".join(str(r) for r in range(rcpts))
        yield ("delivery-connection-opened", f"New SMTP DCID {dcid} interface 10.20.0.5 address {self.ip()} "
               "port 25", self.gap(), None)
        yield ("delivery-start", f"Delivery start DCID {dcid} MID {mid} to RID [{rids}]", self.gap(), None)
        if rng.random() < BOUNCE_RATE:
            yield ("delivery-bounced", f"Bounced: DCID {dcid} MID {mid} to RID 0 - 5.1.0 - Unknown address "
                   f"error ('550', ['<{self.addr()}>... Relaying denied']) []", self.gap(), None)
        else:
            yield ("message-delivered", f"Message done DCID {dcid} MID {mid} to RID [{rids}]", 0.0, None)
            yield ("delivery-response", f"MID {mid} RID [{rids}] Response '2.0.0 Ok: queued as "
                   f"{mid:X}{dcid:X}'", self.gap(), None)
        yield ("message-finished-done", f"Message finished MID {mid} done", self.gap(), None)
        yield ("delivery-connection-closed", f"DCID {dcid} close", 0.0, None)


def simulate(lines: int, seed: int = 7, rate: float = ARRIVALS_PER_SECOND, *, verdicts: bool = False,
             appliances: int = 1, ids: Ids | None = None) -> Iterator[tuple[float, str, str, int]]:
    """Yield ``(seconds since start, expected rule id, body, appliance)`` for *lines* lines in time order.

    *rate* connections arrive per simulated second (a busy ESA: about 40), spread over *appliances*
    (numbered from 0; each connection stays on one); *verdicts* adds each message's scanning lines;
    *ids*: the first ICID, MID and DCID (default :class:`Ids`).
    """
    sim = Sim(random.Random(seed), ids or Ids(), verdicts=verdicts)
    queue: list[tuple[float, int, Iterator[Step], int]] = []
    seq = 0
    arrival = 0.0
    emitted = 0
    while emitted < lines:
        while arrival <= (queue[0][0] if queue else arrival):
            app = sim.rng.randrange(appliances) if appliances > 1 else 0
            heapq.heappush(queue, (arrival, seq, sim.connection(), app))
            seq += 1
            arrival += sim.rng.expovariate(rate)
        now, _, session, app = heapq.heappop(queue)
        step = next(session, None)
        if step is None:
            continue
        kind, body, delay, child = step
        yield now, kind, body, app
        emitted += 1
        heapq.heappush(queue, (now + delay, seq, session, app))
        seq += 1
        if child is not None:
            heapq.heappush(queue, (now + sim.gap(), seq, child, app))
            seq += 1


HEADER = (("header-begin", "Begin Logfile"),
          ("header-version", "Version: 15.5.1-055 SN: 4229C1A2B3C4D5E6F7A8-0B1C"),
          ("header-utc-offset", "Time offset from UTC: 3600 seconds"))
START = datetime(2026, 11, 2, 8, 0, 0)


def ids_at(start: datetime, rate: float = ARRIVALS_PER_SECOND) -> Ids:
    """The first ids of a log starting at *start*: as if the appliance had handed ids out since
    :data:`START` at twice *rate* connections a second (up to three messages and deliveries each), so a
    later file of a rotated series never reuses an earlier file's ids."""
    seconds = max(0.0, (start - START).total_seconds())
    base = Ids()
    return Ids(icid=base.icid + int(seconds * rate * 2), mid=base.mid + int(seconds * rate * 6),
               dcid=base.dcid + int(seconds * rate * 6))


def write_corpus(path: Path, lines: int, form: str = "file", seed: int = 7,
                 host: str = "esa1.example.net", rate: float = ARRIVALS_PER_SECOND, *, verdicts: bool = False,
                 appliances: int = 1, start: datetime = START) -> Counter[str]:
    """Write *lines* lines (file or syslog form) to *path*; return lines per expected rule id.

    Syslog form with several *appliances*: hosts ``esa1`` ... ``esaN`` of *host*'s domain, interleaved.
    *start*: the appliance's clock at the first line; a later *start* also starts the ids later
    (:func:`ids_at`), so files of several starts read like one appliance's rotated logs.
    """
    if appliances > 1 and form == "file":
        raise ValueError("several appliances need the syslog form (a file-form log is one appliance's)")
    counts: Counter[str] = Counter()
    stamp_of: dict[tuple[int, int], str] = {}
    domain = host.partition(".")[2]
    hosts = [host] if appliances == 1 else [f"esa{n + 1}.{domain}" for n in range(appliances)]

    def stamp(seconds: float, app: int) -> str:
        whole = int(seconds)
        text = stamp_of.get((whole, app))
        if text is None:
            moment = start + timedelta(seconds=whole)
            if form == "file":
                text = f"{moment:%a %b} {moment.day:2d} {moment:%H:%M:%S %Y} Info: "
            else:
                text = f"<22>{moment:%b} {moment.day:2d} {moment:%H:%M:%S} {hosts[app]} mail_logs: Info: "
            if len(stamp_of) > appliances:
                stamp_of.clear()
            stamp_of[whole, app] = text
        return text

    with open(path, "w", encoding="utf-8", newline="\n") as out:
        write = out.write
        header = HEADER if form == "file" else ()
        for kind, body in header[:lines]:
            write(stamp(0.0, 0) + body + "\n")
            counts[kind] += 1
        for seconds, kind, body, app in simulate(lines - len(header), seed, rate, verdicts=verdicts,
                                                 appliances=appliances, ids=ids_at(start, rate)):
            write(stamp(seconds, app) + body + "\n")
            counts[kind] += 1
    return counts


def corpus(directory: Path, lines: int, form: str = "file", seed: int = 7, *, verdicts: bool = False,
           appliances: int = 1) -> tuple[Path, Counter[str]]:
    """The corpus of *lines* lines in *directory*, generated once and reused (counts in a JSON beside it)."""
    directory.mkdir(parents=True, exist_ok=True)
    extra = ("-verdicts" if verdicts else "") + (f"-x{appliances}" if appliances > 1 else "")
    path = directory / f"mail-{form}{extra}-{lines}-s{seed}.log"
    counts_path = path.with_name(path.name + ".counts.json")
    if path.exists() and counts_path.exists():
        return path, Counter(json.loads(counts_path.read_text()))
    counts = write_corpus(path, lines, form, seed, verdicts=verdicts, appliances=appliances)
    counts_path.write_text(json.dumps(dict(sorted(counts.items())), indent=1))
    return path, counts


def main() -> None:
    """Command line: write one corpus and its counts."""
    ap = argparse.ArgumentParser(prog="python -m esalog.testing.generate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--form", choices=("file", "syslog"), default="file")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--verdicts", action="store_true", help="add each message's verdict lines (realistic mix)")
    ap.add_argument("--appliances", type=int, default=1, help="syslog form: interleave N appliances")
    ap.add_argument("--start", type=datetime.fromisoformat, default=START, metavar="YYYY-MM-DDTHH:MM:SS",
                    help="the appliance's clock at the first line (default 2026-11-02T08:00:00); a later start "
                         "also starts ICIDs, MIDs and DCIDs later: files of several starts read like one "
                         "appliance's rotated logs")
    ap.add_argument("-o", "--output", type=Path, required=True)
    args = ap.parse_args()
    try:
        counts = write_corpus(args.output, args.lines, args.form, args.seed, verdicts=args.verdicts,
                              appliances=args.appliances, start=args.start)
        counts_path = args.output.with_name(args.output.name + ".counts.json")
        counts_path.write_text(json.dumps(dict(sorted(counts.items())), indent=1))
    except OSError as exc:  # -o in a folder that is not there, or not writable: one line
        ap.exit(2, f"{ap.prog}: error: {exc.filename}: {exc.strerror}\n")
    for kind, n in counts.most_common():
        print(f"{n:>9}  {kind}")


def write_open_messages(path: Path, messages: int) -> None:
    """*messages* messages that start and never finish (two lines each): the tracker's worst case."""
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        write = out.write
        for n in range(messages):
            moment = START + timedelta(seconds=n // 1000)
            stamp = f"{moment:%a %b} {moment.day:2d} {moment:%H:%M:%S %Y} Info: "
            mid, icid = 9_000_000 + n, 500_000 + n
            write(f"{stamp}Start MID {mid} ICID {icid}\n")
            write(f"{stamp}MID {mid} ICID {icid} From: <s{n}@example.com>\n")


# ------------------------------------------------------------------------------------ for tests

#: The two header lines of a file-form log (appliance clock one hour ahead of UTC).
FILE_HEADER = (
    "Mon Nov  2 08:00:00 2026 Info: Begin Logfile\n"
    "Mon Nov  2 08:00:00 2026 Info: Time offset from UTC: 3600 seconds\n"
)


def distinct_lines(count: int, start: int = 0) -> list[str]:
    """*count* distinct ESA mail log lines (file form, newline-terminated), cycling through a message's life."""
    lines = []
    for n in range(start, start + count):
        mid, kind = n // 4, n % 4
        if kind == 0:
            lines.append(f"Mon Nov  2 08:00:01 2026 Info: Start MID {mid} ICID {mid}\n")
        elif kind == 1:
            lines.append(f"Mon Nov  2 08:00:01 2026 Info: MID {mid} ICID {mid} From: <a{n}@example.com>\n")
        elif kind == 2:
            lines.append(f'Mon Nov  2 08:00:02 2026 Info: MID {mid} Subject "hello {n}"\n')
        else:
            lines.append(f"Mon Nov  2 08:00:02 2026 Info: Message finished MID {mid} done\n")
    return lines


def _stamp(second: int) -> str:
    h, rest = divmod(second % 86400, 3600)
    m, s = divmod(rest, 60)
    return f"Thu Aug 14 {h:02d}:{m:02d}:{s:02d} 2014 Info: "


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


def write_lines(path: Path, lines: Iterable[str]) -> int:
    """Write *lines* (without newlines) to *path*; return how many."""
    count = 0
    with open(path, "w", encoding="ascii") as out:
        for line in lines:
            out.write(line + "\n")
            count += 1
    return count


if __name__ == "__main__":
    main()
