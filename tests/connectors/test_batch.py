"""Batcher: limits by count, bytes and age (with an injected clock)."""

from __future__ import annotations

import pytest

from esalog.connectors.batch import Batcher, BatchLimits, Item


def item(size: int) -> Item:
    return Item(b"x" * size)


def test_bytes_limit_closes_the_batch_before_overflow() -> None:
    """An item that would push the batch past max_bytes starts the next one."""
    batcher = Batcher(BatchLimits(max_events=100, max_bytes=10, max_age=60))
    assert batcher.add(item(4)) is None
    assert batcher.add(item(4)) is None
    full = batcher.add(item(4))
    assert [4, 4] == [len(i.data) for i in full or []]
    assert 1 == len(batcher)


def test_oversized_item_travels_alone() -> None:
    """A single item larger than max_bytes still forms a batch of one."""
    batcher = Batcher(BatchLimits(max_events=100, max_bytes=10, max_age=60))
    assert batcher.add(item(50)) is None
    assert [50] == [len(i.data) for i in batcher.add(item(1)) or []]


def test_count_limit() -> None:
    """full() says when max_events is reached."""
    batcher = Batcher(BatchLimits(max_events=3, max_bytes=10**6, max_age=60))
    for _ in range(3):
        batcher.add(item(1))
    assert batcher.full()
    assert 3 == len(batcher.take())
    assert not batcher.full()


def test_age_limit_uses_the_clock() -> None:
    """due() turns true once the oldest item is max_age old."""
    now = [100.0]
    batcher = Batcher(BatchLimits(max_events=10, max_bytes=10**6, max_age=1.0), clock=lambda: now[0])
    assert not batcher.due()
    batcher.add(item(1))
    now[0] = 100.5
    assert not batcher.due()
    now[0] = 101.0
    assert batcher.due()


@pytest.mark.parametrize(("max_events", "max_bytes"), [(3, 1000), (100, 10), (1, 10), (4, 9)])
def test_add_all_batches_as_add_one_at_a_time(max_events: int, max_bytes: int) -> None:
    """A block of items added at once makes the batches that adding them one by one (taking a batch as soon
    as it is full, as the driver does) makes, and leaves the same pending batch."""
    sizes = [4, 4, 4, 50, 1, 1, 2, 3, 9, 9, 1, 4, 4, 4, 4, 4]
    one_by_one = Batcher(BatchLimits(max_events=max_events, max_bytes=max_bytes, max_age=60))
    expected: list[list[int]] = []
    for size in sizes:
        batch = one_by_one.add(item(size))
        if batch is None and one_by_one.full():
            batch = one_by_one.take()
        if batch is not None:
            expected.append([len(i.data) for i in batch])
    at_once = Batcher(BatchLimits(max_events=max_events, max_bytes=max_bytes, max_age=60))
    got = [[len(i.data) for i in batch] for batch in at_once.add_all([item(size) for size in sizes[:7]])]
    got += [[len(i.data) for i in batch] for batch in at_once.add_all([item(size) for size in sizes[7:]])]
    assert expected == got
    assert [len(i.data) for i in one_by_one.take()] == [len(i.data) for i in at_once.take()]
