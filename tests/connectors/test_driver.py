"""Driver: the shared delivery loop, driven by a scripted in-memory sink (no network, no sleeping)."""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import orjson

from esalog.connectors.base import (
    DeadLetter,
    Delivered,
    Driver,
    Outcome,
    Pending,
    Reject,
    Retry,
    RetryPartial,
    Sink,
    Split,
    Stop,
)
from esalog.connectors.batch import BatchLimits, Item
from esalog.connectors.retry import RetryPolicy
from esalog.sources.checkpoint import Entry, Ledger


class ScriptedSink(Sink):
    """Answers each send with the next scripted outcome (a callable of the items), then Delivered."""

    name = "scripted"

    def __init__(self, script: list[Any], limits: BatchLimits | None = None) -> None:
        self.script = list(script)
        self.limits = limits or BatchLimits(max_events=10, max_bytes=10**6, max_age=60)
        self.received: list[int] = []  # event numbers delivered, in order
        self.sends: list[list[int]] = []
        self.acked_keys: set[Hashable] = set()

    def encode_item(self, event: dict[str, Any], origin: str, index: int, ticket: Any) -> Item:
        data = orjson.dumps(event)
        return Item(data, ticket)

    def send(self, items: Sequence[Item]) -> Outcome:
        numbers = [orjson.loads(i.data)["n"] for i in items]
        self.sends.append(numbers)
        outcome = self.script.pop(0)(items) if self.script else Delivered()
        delivered = set(numbers)
        if isinstance(outcome, Retry | Stop | Split | Pending):
            delivered = set()
        elif isinstance(outcome, RetryPartial):
            delivered -= {orjson.loads(i.data)["n"] for i in outcome.items}
            delivered -= {orjson.loads(i.data)["n"] for i, _ in outcome.rejected}
        elif isinstance(outcome, Reject):
            delivered -= {orjson.loads(i.data)["n"] for i, _ in outcome.items}
        self.received.extend(n for n in numbers if n in delivered)
        return outcome

    def poll(self, keys: Sequence[Hashable]) -> set[Hashable]:
        return {k for k in keys if k in self.acked_keys}

    @property
    def ack_interval(self) -> float:
        return 0.0


def run(
    sink: ScriptedSink,
    count: int,
    dead_letter: DeadLetter | None = None,
    ledger: Ledger | None = None,
    policy: RetryPolicy | None = None,
) -> tuple[Driver, list[float]]:
    sleeps: list[float] = []
    driver = Driver(
        sink,
        policy=policy or RetryPolicy(jitter=0.0),
        dead_letter=dead_letter,
        ledger=ledger,
        sleep=sleeps.append,
    )
    driver.start()
    for n in range(count):
        ticket = ledger.open_line((1, 1), "k", "f", n + 1, 1) if ledger else None
        driver.submit({"n": n}, "o", 0, ticket)
    driver.close()
    return driver, sleeps


def test_retry_then_delivered_with_backoff_and_retry_after() -> None:
    """Two retries (one with Retry-After) then success: every event once, sleeps as the policy says."""
    sink = ScriptedSink([lambda items: Retry("503"), lambda items: Retry("429", retry_after=3.0)])
    driver, sleeps = run(sink, 10)
    assert list(range(10)) == sink.received
    assert [0.5, 3.0] == sleeps
    assert (10, 30, 10, 20) == (
        driver.stats.received,
        driver.stats.sent,
        driver.stats.acknowledged,
        driver.stats.retried,
    )


def test_partial_retry_resends_only_the_listed_items(tmp_path: Path) -> None:
    """RetryPartial: the rest counts as delivered, rejected ones reach the dead letter with the reason."""
    sink = ScriptedSink(
        [
            lambda items: RetryPartial(
                tuple(items[5:]), "429 items", rejected=((items[4], "mapper_parsing_exception"),)
            )
        ]
    )
    dead = DeadLetter(str(tmp_path / "dlq.ndjson"), "scripted")
    driver, _ = run(sink, 10, dead_letter=dead)
    assert [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [5, 6, 7, 8, 9]] == sink.sends
    assert [0, 1, 2, 3, 5, 6, 7, 8, 9] == sorted(sink.received)
    lines = [orjson.loads(x) for x in (tmp_path / "dlq.ndjson").read_bytes().splitlines()]
    assert [({"n": 4}, "mapper_parsing_exception", "rejected")] == [
        (x["event"], x["reason"], x["outcome"]) for x in lines
    ]
    assert (9, 1, 0) == (driver.stats.acknowledged, driver.stats.dead_lettered, driver.stats.failed)


def test_split_halves_until_single_item_is_rejected() -> None:
    """Split on a batch of 4 sends halves; a single item that is still too large is dead-lettered."""
    too_large = {3}

    def answer(items: Sequence[Item]) -> Outcome:
        numbers = {orjson.loads(i.data)["n"] for i in items}
        return Split("413") if numbers & too_large else Delivered()

    sink = ScriptedSink([answer] * 10, limits=BatchLimits(max_events=4, max_bytes=10**6, max_age=60))
    driver, _ = run(sink, 4)
    assert [[0, 1, 2, 3], [0, 1], [2, 3], [2], [3]] == sink.sends
    assert (3, 1) == (driver.stats.acknowledged, driver.stats.dead_lettered)


def test_stop_fails_everything_after() -> None:
    """Stop (bad token) marks the run fatal; later batches are not sent and count as failed."""
    sink = ScriptedSink(
        [lambda items: Stop("HEC refused the token")],
        limits=BatchLimits(max_events=5, max_bytes=10**6, max_age=60),
    )
    driver, _ = run(sink, 20)
    assert 1 == len(sink.sends)
    assert ("HEC refused the token", 20, 0) == (driver.fatal, driver.stats.failed, driver.stats.acknowledged)


def test_exhausted_retries_fail_and_block_the_checkpoint() -> None:
    """A batch given up on counts as failed and the ledger never commits past it."""
    sink = ScriptedSink(
        [lambda items: Delivered()] + [lambda items: Retry("down")] * 5,
        limits=BatchLimits(max_events=5, max_bytes=10**6, max_age=60),
    )
    ledger = Ledger()
    driver, sleeps = run(sink, 10, ledger=ledger, policy=RetryPolicy(jitter=0.0, max_attempts=2))
    assert (5, 5) == (driver.stats.acknowledged, driver.stats.failed)
    assert 2 == len(sleeps)
    assert {(1, 1): Entry("f", "k", 5)} == ledger.committed


def test_pending_acks_are_polled_and_resent_on_timeout() -> None:
    """A Pending batch is acknowledged when polled as confirmed; an unconfirmed one is resent on timeout."""

    class AckSink(ScriptedSink):
        @property
        def ack_timeout(self) -> float:
            return 0.0  # the first poll already finds the lost batch expired

    sink = AckSink(
        [lambda items: Pending("a"), lambda items: Pending("lost")],
        limits=BatchLimits(max_events=5, max_bytes=10**6, max_age=60),
    )
    sink.acked_keys = {"a"}
    driver, _ = run(sink, 10)
    assert [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [5, 6, 7, 8, 9]] == sink.sends
    assert (10, 5, 0) == (driver.stats.acknowledged, driver.stats.retried, driver.stats.failed)


def test_back_pressure_bounds_the_queue() -> None:
    """With a stalled sink, submit blocks once queue_batches batches wait: memory stays bounded."""
    gate = threading.Event()
    sink = ScriptedSink([], limits=BatchLimits(max_events=1, max_bytes=10**6, max_age=60))
    original = sink.send
    sink.send = lambda items: (gate.wait(), original(items))[1]  # type: ignore[method-assign]
    driver = Driver(sink, queue_batches=2, sleep=lambda s: None)
    driver.start()
    submitted = []

    def produce() -> None:
        for n in range(10):
            driver.submit({"n": n}, "o", 0, None)
            submitted.append(n)

    producer = threading.Thread(target=produce)
    producer.start()
    producer.join(timeout=1.0)
    # one batch in the sender, two in the queue, one in the batcher, the producer blocked on the next
    assert producer.is_alive()
    assert len(submitted) <= 5
    gate.set()
    producer.join()
    driver.close()
    assert list(range(10)) == sink.received


def test_ledger_commits_only_fully_resolved_prefix() -> None:
    """A line with two events commits only when both are resolved, and only after earlier lines."""
    ledger = Ledger()
    first = ledger.open_line((1, 2), "k", "a", 10, 2)
    second = ledger.open_line((1, 2), "k", "a", 20, 1)
    items = [Item(b"", first), Item(b"", first), Item(b"", second)]
    ledger.resolve([items[2]], ok=True)
    assert {} == ledger.committed
    ledger.resolve([items[0]], ok=True)
    assert {} == ledger.committed
    ledger.resolve([items[1]], ok=True)
    assert {(1, 2): Entry("a", "k", 20)} == ledger.committed


def test_concurrent_senders_out_of_order_still_commit_in_order() -> None:
    """Two senders, the first batch slower than the second: all delivered once, counters add up, and
    the checkpoint only covers the prefix of lines that are all acknowledged."""
    release_first = threading.Event()

    class TwoAtOnce(ScriptedSink):
        @property
        def max_concurrency(self) -> int:
            return 2

        def send(self, items: Sequence[Item]) -> Outcome:
            if orjson.loads(items[0].data)["n"] == 0:
                release_first.wait(timeout=10)
            return super().send(items)

    sink = TwoAtOnce([], limits=BatchLimits(max_events=5, max_bytes=10**6, max_age=60))
    ledger = Ledger()
    driver = Driver(sink, ledger=ledger, concurrency=2, sleep=lambda s: None)
    driver.start()
    for n in range(10):
        driver.submit({"n": n}, "o", 0, ledger.open_line((1, 1), "k", "f", n + 1, 1))
    deadline = threading.Event()
    for _ in range(200):  # bounded wait for the second batch to be acknowledged
        if driver.stats.acknowledged >= 5:
            break
        deadline.wait(0.01)
    assert {} == ledger.committed  # the second batch is done, the first is not: nothing to commit
    release_first.set()
    driver.close()
    assert list(range(10)) == sorted(sink.received)
    assert (10, 10, 0) == (driver.stats.sent, driver.stats.acknowledged, driver.stats.failed)
    assert {(1, 1): Entry("f", "k", 10)} == ledger.committed


def test_a_sink_that_raises_stops_with_every_event_counted() -> None:
    """An exception in a sink's send (a bug reading an unexpected answer) stops delivery like a fatal
    answer: one reason, the batch counted failed and the checkpoint kept before it. Before, the sender
    thread died with a traceback and the batch it held was counted nowhere (received != the sum)."""

    def broken(items: Sequence[Item]) -> Outcome:
        raise ValueError("invalid literal for int() with base 10: 'zz'")

    sink = ScriptedSink([lambda items: Delivered(), broken], limits=BatchLimits(max_events=5, max_bytes=10**6,
                                                                                max_age=60))
    ledger = Ledger()
    driver, _ = run(sink, 15, ledger=ledger)
    assert (driver.stats.acknowledged, driver.stats.failed, driver.stats.pending) == (5, 10, 0)
    assert driver.fatal == "internal error in the scripted sink: ValueError: invalid literal for int() with base 10: 'zz'"
    assert {(1, 1): Entry("f", "k", 5)} == ledger.committed
