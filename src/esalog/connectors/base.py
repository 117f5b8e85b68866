"""The one sink contract: outcomes, counters, dead letters and the driver that delivers batches.

A sink describes itself only: how one event travels (:meth:`Sink.encode_item`), how a batch is sent
and what the answer means (:meth:`Sink.send`, returning an :class:`Outcome`), and optionally how
pending acknowledgements are polled. The :class:`Driver` does the rest, once for every sink:
batching, a bounded queue with back-pressure, a sender thread, retries with the shared
:class:`~esalog.connectors.retry.RetryPolicy`, splitting on "too large", dead letters, counters and
the line ledger that moves the checkpoint.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from esalog.connectors.batch import Batcher, BatchLimits, Item
from esalog.connectors.retry import RetriesExhausted, RetryPolicy
from esalog.errors import warn
from esalog.parsers.record import Record
from esalog.sources.checkpoint import Ledger, LineTicket
from esalog.writing import append_whole, write_all

# ------------------------------------------------------------------------------------------ outcomes


@dataclass(frozen=True)
class Delivered:
    """Every item of the batch is safely with the server."""


@dataclass(frozen=True)
class Retry:
    """Nothing was taken; send the whole batch again after a backoff (or ``retry_after`` seconds)."""

    reason: str
    retry_after: float | None = None


@dataclass(frozen=True)
class RetryPartial:
    """Only ``items`` must be sent again; ``rejected`` go to the dead letter; the rest was delivered.

    ``backoff`` is False when the resend is not a server problem (HEC ``invalid-event-number``).
    """

    items: tuple[Item, ...]
    reason: str
    rejected: tuple[tuple[Item, str], ...] = ()
    retry_after: float | None = None
    backoff: bool = True


@dataclass(frozen=True)
class Reject:
    """These items are refused for good (item, server's reason); the rest was delivered."""

    items: tuple[tuple[Item, str], ...]


@dataclass(frozen=True)
class Split:
    """The request was too large: send each half on its own (a single item is rejected)."""

    reason: str


@dataclass(frozen=True)
class Stop:
    """Sending cannot succeed (bad token, wrong URL): stop everything, the reason says what to fix."""

    reason: str


@dataclass(frozen=True)
class Pending:
    """Received but not yet confirmed: poll ``key`` with :meth:`Sink.poll` (HEC indexer acks)."""

    key: Hashable


Outcome = Delivered | Retry | RetryPartial | Reject | Split | Stop | Pending

# -------------------------------------------------------------------------------------------- stats


@dataclass
class SinkStats:
    """Delivery counters; at the end received == acknowledged + dead_lettered + failed."""

    received: int = 0  # events handed to the sink
    sent: int = 0  # events written into requests (every attempt counts)
    acknowledged: int = 0  # events the server confirmed (each counted once)
    retried: int = 0  # events sent again
    dead_lettered: int = 0  # events refused for good (written to the dead letter with the reason)
    failed: int = 0  # events given up on (retries exhausted, stopped, interrupted)

    def as_dict(self) -> dict[str, int]:
        """The counters by name (``--stats``)."""
        return asdict(self)

    @property
    def undelivered(self) -> int:
        """Events that will not be delivered: dead-lettered or given up on."""
        return self.dead_lettered + self.failed

    @property
    def pending(self) -> int:
        """Events handed over and not yet resolved (0 after a complete close: the invariant)."""
        return self.received - self.acknowledged - self.dead_lettered - self.failed

    def summary(self, sink: str, command: str = "ship") -> str:
        """The counters in one line of the closing report."""
        return (
            f"esalog {command}: {sink}: {self.received} received, {self.sent} sent, "
            f"{self.acknowledged} acknowledged, {self.retried} retried, "
            f"{self.dead_lettered} dead-lettered, {self.failed} failed"
        )


# ----------------------------------------------------------------------------------------- the sink


class Sink(ABC):
    """What a connector implements; everything else is shared."""

    #: short name used in counters, messages and dead letters
    name: str = "sink"
    #: default batch limits (overridable from the command line)
    limits: BatchLimits = BatchLimits()

    def open(self) -> None:  # noqa: B027 - optional hook
        """Prepare (health checks, templates); raise SinkError when sending cannot work."""

    @abstractmethod
    def encode_item(self, record: Record, origin: str, index: int, ticket: Any) -> Item:
        """One event as it travels; *origin* + *index* identify it (deterministic ids)."""

    def encode_lines(self, records: Sequence[Record], ends: Sequence[int], origin: Callable[[int], str],
                     tickets: Sequence[Any]) -> list[Item]:
        """The items of consecutive lines, as :meth:`encode_item` makes them: line *n*'s events are
        ``records[ends[n - 1]:ends[n]]``, from ``origin(n)``, with ``tickets[n]``."""
        items: list[Item] = []
        append, encode = items.append, self.encode_item
        start = 0
        for line, (end, ticket) in enumerate(zip(ends, tickets, strict=True)):
            if end == start + 1:  # the usual line: one event
                append(encode(records[start], origin(line), 0, ticket))
            elif end > start:
                where = origin(line)
                for number, record in enumerate(records[start:end]):
                    append(encode(record, where, number, ticket))
            start = end
        return items

    @abstractmethod
    def send(self, items: Sequence[Item]) -> Outcome:
        """Send one batch and say what happened (transport errors become :class:`Retry`)."""

    def fits(self, items: Sequence[Item]) -> bool:
        """Whether a request of *items* is small enough for what the server refused before (HTTP 413)."""
        return True

    def poll(self, keys: Sequence[Hashable]) -> set[Hashable]:
        """Of the :class:`Pending` keys, those now confirmed (only sinks with acknowledgements)."""
        return set()

    @property
    def max_concurrency(self) -> int:
        """How many batches may be in flight at once (1 keeps the output in input order)."""
        return 1

    @property
    def ack_timeout(self) -> float:
        """Seconds after which a pending batch counts as lost and is sent again."""
        return 300.0

    @property
    def ack_interval(self) -> float:
        """Seconds between two polls of pending acknowledgements."""
        return 10.0

    def reopen(self) -> None:  # noqa: B027 - optional hook
        """Reopen the files it appends to before its next write (SIGHUP, after logrotate moved them).
        Called from a signal handler: it only asks."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and files."""


# ------------------------------------------------------------------------------------- dead letters


class DeadLetter:
    """NDJSON file of events not delivered: ``{"time","sink","outcome","reason","line","event"}`` per line.

    ``line`` is the input line the event came from, as read (absent for events no line gave, such as the
    summaries at the end of input): the replay source, kept also when ``--no-original`` drops
    ``event.original`` from the events themselves.
    """

    def __init__(self, path: str | None, sink: str) -> None:
        self.path = path
        self.sink = sink
        self._descriptor: int | None = None  # the file, open for appending (unbuffered)
        self.first_reasons: list[str] = []  # for the closing message when there is no file
        self._lock = threading.Lock()
        self.error: str | None = None  # the last write error (disk full, permissions changed)
        self.unwritten = 0  # entries that could not be written
        self._reopen = False

    def write(self, entries: Iterable[tuple[Item, str]], outcome: str) -> int:
        """Append one line per (item, reason); returns how many were kept (all without a file).

        A write error (disk full, permissions changed while running) never raises: it is warned about
        once, counted in ``unwritten``, and the entries not kept are not counted as written.
        """
        n = 0
        now = orjson.dumps(datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"))
        head = (
            b'{"time":' + now + b',"sink":' + orjson.dumps(self.sink) + b',"outcome":' + orjson.dumps(outcome)
        )
        lines: list[bytes] = []
        for item, reason in entries:
            n += 1
            if len(self.first_reasons) < 5 and reason not in self.first_reasons:
                self.first_reasons.append(reason)
            line = getattr(item.ticket, "line", None)  # the input line: what a replay reads
            kept = b',"line":' + orjson.dumps(line.decode("utf-8", "replace")) if line is not None else b""
            lines.append(head + b',"reason":' + orjson.dumps(reason) + kept + b',"event":' + item.doc + b"}\n")
        if self.path and lines:
            with self._lock:
                if self._reopen:
                    self._reopen = False
                    self.close()
                try:
                    self._append(b"".join(lines))
                except OSError as exc:
                    self._broken(exc)
                    self.unwritten += n
                    return 0
        return n

    def _append(self, data: bytes) -> None:
        """*data* at the end of the file, whole or not at all: what of it got in before a failure (disk
        full) is cut off again, so the file never holds a torn entry."""
        assert self.path is not None
        if self._descriptor is None:
            if self.path == "-":  # stdout (never with --to stdout: refused at start)
                sys.stdout.flush()
                self._descriptor = sys.stdout.fileno()
            else:
                self._descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fd = self._descriptor
        if self.path == "-":
            write_all(fd, data)
            return
        append_whole(fd, data)

    def reopen(self) -> None:
        """Reopen the file before the next entry (SIGHUP, after logrotate moved it); only asks."""
        self._reopen = True

    def _broken(self, exc: OSError) -> None:
        error = f"cannot write the dead letter {self.path}: {exc.strerror or exc}"
        if error != self.error:
            warn(error + "; the events it should hold are counted as failed (a rerun sends them again)")
        self.error = error
        self.close()

    def close(self) -> None:
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is not None and self.path != "-":
            with contextlib.suppress(OSError):
                os.close(descriptor)


# ------------------------------------------------------------------------------------------- driver

@dataclass(frozen=True)
class RetryState:
    """What one sender is retrying: why, how often, how long it has waited, how much budget is left."""

    reason: str
    attempts: int  # failed attempts so far
    waited: float  # backoff chosen so far, the wait now under way included
    budget: float  # --retry-budget (0: no limit)
    events: int
    since: float

    def describe(self, sink: str) -> str:
        """The retry in one line of the retry report: why, attempts, backoff and budget left."""
        left = (f"{max(0.0, self.budget - self.waited):.0f}s left of --retry-budget" if self.budget
                else "no budget limit")
        return (f"{sink}: retrying {self.events:,} events: {self.reason}; {self.attempts} attempts failed, "
                f"{self.waited:.0f}s of backoff, {left}")


_STOP = object()
#: Defaults of the delivery settings (:class:`~esalog.connectors.config.DeliveryConfig` takes them)
QUEUE_BATCHES = 4
CONCURRENCY = 2
#: Batches sent and awaiting their acknowledgement (HEC indexer acks) before a sender waits for some
MAX_PENDING = 64


class Driver:
    """Batches events, queues batches (bounded: ``submit`` blocks when full), delivers on a thread."""

    def __init__(
        self,
        sink: Sink,
        *,
        limits: BatchLimits | None = None,
        policy: RetryPolicy | None = None,
        dead_letter: DeadLetter | None = None,
        ledger: Ledger | None = None,
        queue_batches: int = QUEUE_BATCHES,
        concurrency: int = CONCURRENCY,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_progress: Callable[[], None] | None = None,
    ) -> None:
        self.sink = sink
        self.batcher = Batcher(limits or sink.limits, clock)
        self.policy = policy or RetryPolicy()
        self.dead_letter = dead_letter or DeadLetter(None, sink.name)
        self.ledger = ledger
        self.stats = SinkStats()
        self.fatal: str | None = None
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_batches)
        self._abort = threading.Event()
        self._no_retry = threading.Event()
        self._wake = threading.Event()  # set by abort and give_up_retries: ends a backoff wait at once
        self._sleep = sleep or self._wake.wait
        self._retrying: dict[int, RetryState] = {}
        self._clock = clock
        # ack key -> (items, when sent, when first sent: resends after the ack timeout keep it)
        self._pending: dict[Hashable, tuple[list[Item], float, float]] = {}
        self._last_poll = 0.0
        self._on_progress = on_progress
        self._stats_lock = threading.Lock()
        senders = max(1, min(concurrency, sink.max_concurrency))
        self._threads = [
            threading.Thread(target=self._run, name=f"esalog-{sink.name}-sender-{n}", daemon=True)
            for n in range(senders)
        ]
        self.error: BaseException | None = None

    # ------------------------------------------------------------------ producer side (main thread)

    def start(self) -> None:
        """Start the sender threads."""
        for thread in self._threads:
            thread.start()

    def _senders_alive(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def submit(self, record: Record, origin: str, index: int, ticket: LineTicket | None) -> None:
        """Hand one event over; blocks while the queue is full (back-pressure)."""
        self.stats.received += 1
        batch = self.batcher.add(self.sink.encode_item(record, origin, index, ticket))
        if batch is not None:
            self._put(batch)
        elif self.batcher.full():
            self._put(self.batcher.take())

    def submit_lines(self, records: Sequence[Record], ends: Sequence[int], origin: Callable[[int], str],
                     tickets: Sequence[LineTicket | None]) -> None:
        """Hand over the events of consecutive lines at once (see :meth:`Sink.encode_lines`), batched as
        :meth:`submit` batches them one by one; blocks while the queue is full."""
        items = self.sink.encode_lines(records, ends, origin, tickets)
        self.stats.received += len(items)
        for batch in self.batcher.add_all(items):
            self._put(batch)

    def tick(self) -> None:
        """Send the pending batch if it is old enough (call when input is idle)."""
        if self.batcher.due():
            self._put(self.batcher.take())

    def _put(self, batch: list[Item]) -> None:
        while True:
            if not self._senders_alive() and self._threads[0].ident is not None:
                # the senders died: nothing will ever drain the queue
                self._fail(batch, f"sender stopped: {self.error or self.fatal}")
                return
            try:
                self._queue.put(batch, timeout=0.5)
                return
            except queue.Full:
                continue

    def close(self, timeout: float | None = None) -> None:
        """Send what is left and wait for the sender to finish (the flush on EOF or signal)."""
        rest = self.batcher.take()
        if rest:
            self._put(rest)
        for _ in self._threads:
            self._put_stop()
        for thread in self._threads:
            thread.join(timeout)
        if self._senders_alive():  # pragma: no cover - only with a timeout
            self.abort()
            for thread in self._threads:
                thread.join()
        self.sink.close()
        self.dead_letter.close()

    def _put_stop(self) -> None:
        while self._senders_alive():
            try:
                self._queue.put(_STOP, timeout=0.5)
                return
            except queue.Full:
                continue

    def abort(self) -> None:
        """Stop retrying at once and send nothing more; whatever is not delivered counts as failed."""
        self._abort.set()
        self._no_retry.set()
        self._wake.set()

    def reopen_files(self) -> None:
        """SIGHUP: the sink's output file and the dead letter are reopened before their next write, so
        logrotate can move them (a signal handler may call this)."""
        self.sink.reopen()
        self.dead_letter.reopen()

    def give_up_retries(self) -> None:
        """Send what is queued once more, but retry nothing: a request that fails now counts as failed."""
        self._no_retry.set()
        self._wake.set()

    @property
    def aborted(self) -> bool:
        return self._abort.is_set()

    def retrying(self) -> RetryState | None:
        """The longest-running retry of any sender now, or None when nothing is being retried."""
        states = list(self._retrying.values())
        return min(states, key=lambda state: state.since) if states else None

    def awaiting(self) -> tuple[int, float] | None:
        """Events sent and not acknowledged yet (HEC indexer acknowledgement), and the seconds since the
        oldest of them was first sent; None when nothing waits."""
        entries = list(self._pending.values())  # (a copy: the senders change it)
        if not entries:
            return None
        return sum(len(items) for items, _, _ in entries), self._clock() - min(first for _, _, first in entries)

    # ------------------------------------------------------------------- sender side (own thread)

    def _run(self) -> None:
        try:
            while True:
                try:
                    batch = self._queue.get(timeout=self._wait_time())
                except queue.Empty:
                    self._poll_pending(force=False)
                    continue
                if batch is _STOP:
                    break
                self._deliver(batch)
                self._poll_pending(force=False)
                while len(self._pending) >= MAX_PENDING and not self.aborted:
                    self._poll_pending(force=True, wait=True)
            while self._pending and not self.aborted:
                self._poll_pending(force=True, wait=True)
            self._fail_pending("interrupted before acknowledgement")
        except BaseException as exc:  # pragma: no cover - a bug; reported, never silent
            self.error = exc
            self.fatal = self.fatal or f"internal error in the sender: {exc!r}"
            self._drain_failed()
            raise

    def _wait_time(self) -> float | None:
        if not self._pending:
            return None
        return max(0.05, self._last_poll + self.sink.ack_interval - self._clock())

    def _drain_failed(self) -> None:
        while True:
            try:
                batch = self._queue.get_nowait()
            except queue.Empty:
                return
            if batch is not _STOP:
                self._fail(batch, f"not sent: {self.fatal}")

    def _deliver(self, items: list[Item], first_sent: float | None = None) -> None:
        """Send *items* until each is delivered, dead-lettered or given up on (*first_sent*: a resend of
        items never acknowledged, first sent then)."""
        try:
            self._deliver_retrying(items, first_sent)
        finally:
            self._retrying.pop(threading.get_ident(), None)

    def _deliver_retrying(self, items: list[Item], first_sent: float | None = None) -> None:
        policy = self.policy.reset()
        pending = items
        started = self._clock()
        reason = ""
        while pending:
            if self.fatal:
                self._fail(pending, f"not sent: {self.fatal}")
                return
            if self.aborted:
                self._fail(pending, "interrupted before delivery")
                return
            if policy.attempts and self._no_retry.is_set():
                self._fail(pending, f"interrupted while retrying: {reason}")
                return
            if len(pending) > 1 and not self.sink.fits(pending):  # a size refused before: split first
                half = len(pending) // 2
                self._deliver_retrying(pending[:half], first_sent)
                self._deliver_retrying(pending[half:], first_sent)
                return
            self._add("sent", len(pending))
            try:
                outcome = self.sink.send(pending)
            except Exception as exc:  # a bug reading an answer: one error line, the events counted failed
                outcome = Stop(f"internal error in the {self.sink.name} sink: {type(exc).__name__}: {exc}")
            if isinstance(outcome, Delivered):
                self._acknowledge(pending)
                return
            if isinstance(outcome, Pending):
                now = self._clock()
                self._pending[outcome.key] = (pending, now, now if first_sent is None else first_sent)
                return
            if isinstance(outcome, Reject):
                refused = {id(item) for item, _ in outcome.items}
                self._acknowledge([i for i in pending if id(i) not in refused])
                self._reject(outcome.items)
                return
            if isinstance(outcome, Stop):
                self.fatal = outcome.reason
                self._fail(pending, outcome.reason)
                return
            if isinstance(outcome, Split):
                if len(pending) == 1:
                    self._reject([(pending[0], outcome.reason)])
                else:
                    half = len(pending) // 2
                    self._deliver_retrying(pending[:half], first_sent)
                    self._deliver_retrying(pending[half:], first_sent)
                return
            if isinstance(outcome, RetryPartial):
                again = {id(item) for item in outcome.items}
                refused = {id(item) for item, _ in outcome.rejected}
                self._acknowledge([i for i in pending if id(i) not in again and id(i) not in refused])
                self._reject(outcome.rejected)
                pending = list(outcome.items)
                if not outcome.backoff:
                    self._add("retried", len(pending))
                    continue
                reason, retry_after = outcome.reason, outcome.retry_after
            else:  # Retry
                reason, retry_after = outcome.reason, outcome.retry_after
            if self._no_retry.is_set():
                self._fail(pending, f"interrupted while retrying: {reason}")
                return
            try:
                policy = policy.next(retry_after, reason)
            except RetriesExhausted as exc:
                self._fail(pending, str(exc))
                return
            self._retrying[threading.get_ident()] = RetryState(
                reason, policy.attempts, policy.waited, policy.budget, len(pending), started)
            self._add("retried", len(pending))
            self._sleep(policy.delay)

    def _poll_pending(self, *, force: bool, wait: bool = False) -> None:
        if not self._pending:
            return
        now = self._clock()
        if not force and now - self._last_poll < self.sink.ack_interval:
            return
        if wait:
            delay = self._last_poll + self.sink.ack_interval - now
            if delay > 0:
                self._sleep(delay)
                if self.aborted:
                    return
                now = self._clock()
        self._last_poll = now
        confirmed = self.sink.poll(list(self._pending))
        for key in confirmed:
            entry = self._pending.pop(key, None)
            if entry is not None:
                self._acknowledge(entry[0])
        expired = [
            key for key, (_, sent_at, _) in self._pending.items() if now - sent_at >= self.sink.ack_timeout
        ]
        budget = self.policy.budget
        for key in expired:
            items, _, first_sent = self._pending.pop(key)
            # resent until --retry-budget is spent beyond the first ack timeout (an indexer that never
            # acknowledges would otherwise be fed the same events forever), and never after a signal
            if self._no_retry.is_set() or (budget and now - first_sent >= self.sink.ack_timeout + budget):
                self._fail(items, f"not acknowledged {now - first_sent:.1f}s after it was first sent "
                                  "(--hec-ack-timeout, --retry-budget)")
                continue
            self._add("retried", len(items))
            self._deliver(items, first_sent)

    def _fail_pending(self, reason: str) -> None:
        for items, _, _ in self._pending.values():
            self._fail(items, reason)
        self._pending.clear()

    # --------------------------------------------------------------------------------- finalisation

    def _acknowledge(self, items: Sequence[Item]) -> None:
        if not items:
            return
        self._add("acknowledged", len(items))
        self._resolve(items, ok=True)

    def _reject(self, entries: Iterable[tuple[Item, str]]) -> None:
        entries = list(entries)
        if not entries:
            return
        kept = self.dead_letter.write(entries, "rejected")
        if kept == len(entries):
            self._add("dead_lettered", kept)
            # refused for good and kept in the dead letter: the line is done with
            self._resolve([item for item, _ in entries], ok=True)
        else:  # refused, and the dead letter could not keep them: given up on, sent again by a rerun
            self._add("failed", len(entries))
            self._resolve([item for item, _ in entries], ok=False)

    def _fail(self, items: Sequence[Item], reason: str) -> None:
        if not items:
            return
        self.dead_letter.write(((item, reason) for item in items), "failed")
        self._add("failed", len(items))
        self._resolve(items, ok=False)

    def _add(self, counter: str, amount: int) -> None:
        """Counters touched by several sender threads (``received`` is the reader's alone)."""
        with self._stats_lock:
            setattr(self.stats, counter, getattr(self.stats, counter) + amount)

    def _resolve(self, items: Sequence[Item], ok: bool) -> None:
        if self.ledger is not None:
            self.ledger.resolve(items, ok)
        if self._on_progress is not None:
            try:
                self._on_progress()
            except Exception as exc:  # a progress hook (the checkpoint writer) never stops delivery
                warn(f"after a delivered batch: {type(exc).__name__}: {exc}")


class RetryReporter:
    """While a sink is retrying (down, unreachable, throttling, a full disk) or events wait for their
    acknowledgement, a warning line at once and then at most one every *interval* seconds: what failed, the
    attempt, the time left of the retry budget (or how long the events have waited) and the counts, so a dead
    sink never looks like a hang. ``extra`` adds the command's own counts (the listener's queue)."""

    def __init__(self, driver: Driver, interval: float, extra: Callable[[], str] | None = None) -> None:
        self.driver = driver
        self.interval = interval
        self.extra = extra
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="esalog-retry-reporter", daemon=True)

    def start(self) -> RetryReporter:
        """Start reporting (on a daemon thread); returns itself."""
        self._thread.start()
        return self

    def line(self) -> str | None:
        """The warning line now, or None when nothing is being retried or has waited an interval for its
        acknowledgement."""
        driver = self.driver
        state = driver.retrying()
        if state is not None:
            head = state.describe(driver.sink.name)
        else:
            awaiting = driver.awaiting()
            if awaiting is None or awaiting[1] < self.interval:
                return None
            head = (f"{driver.sink.name}: waiting for the acknowledgement of {awaiting[0]:,} events, the oldest "
                    f"sent {awaiting[1]:.0f}s ago (sent again after {driver.sink.ack_timeout:g}s, "
                    "--hec-ack-timeout; given up once --retry-budget is spent)")
        stats = driver.stats
        text = (f"{head}; {stats.received:,} received, "
                f"{stats.acknowledged:,} delivered, {stats.pending:,} pending")
        extra = self.extra() if self.extra is not None else ""
        return text + (f", {extra}" if extra else "")

    def _run(self) -> None:
        # looked at every quarter second: the first failure is said at once, then at most once per interval
        said = -float("inf")
        while not self._stop.wait(min(self.interval, 0.25)):
            now = time.monotonic()
            if now - said < self.interval:
                continue
            text = self.line()
            if text is not None:
                warn(text)
                said = now

    def stop(self) -> None:
        self._stop.set()
