"""Batching by event count, bytes and age; the unit a sink sends is a list of :class:`Item`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class Item:
    """One event on its way: its wire bytes, where its document starts in them, and its line ticket."""

    __slots__ = ("data", "doc_start", "ticket")

    def __init__(self, data: bytes, ticket: Any = None, doc_start: int = 0) -> None:
        self.data = data  # what goes on the wire for this event (a sink joins these)
        self.ticket = ticket  # the input line it came from (checkpoint bookkeeping), or None
        self.doc_start = doc_start  # the event's JSON document is data[doc_start:] without its newline

    @property
    def doc(self) -> bytes:
        """The event as one JSON document (for the dead-letter file), cut from the wire bytes on demand."""
        end = len(self.data) - 1 if self.data.endswith(b"\n") else len(self.data)
        return self.data[self.doc_start : end]

    def __repr__(self) -> str:
        return f"Item({self.doc[:60]!r}...)"


@dataclass(frozen=True)
class BatchLimits:
    """When a batch is full or old enough to send."""

    max_events: int = 10_000
    max_bytes: int = 1_000_000
    max_age: float = 1.0


class Batcher:
    """Accumulates items; ``add`` returns a full batch when a limit is reached, ``due`` checks age."""

    __slots__ = ("_clock", "_items", "_size", "_started", "limits")

    def __init__(self, limits: BatchLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._items: list[Item] = []
        self._size = 0
        self._started = 0.0

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: Item) -> list[Item] | None:
        """Add *item*; return the previous batch when *item* would push it past a limit, else None.

        An item that alone exceeds ``max_bytes`` still travels (alone): the server decides.
        """
        size = len(item.data)
        out = None
        if self._items and (
            self._size + size > self.limits.max_bytes or len(self._items) >= self.limits.max_events
        ):
            out = self.take()
        if not self._items:
            self._started = self._clock()
        self._items.append(item)
        self._size += size
        return out

    def add_all(self, items: list[Item]) -> list[list[Item]]:
        """Add *items* in order, as :meth:`add` one at a time then taking a batch that is :meth:`full`
        would: the batches completed on the way (one call for a block of lines)."""
        max_bytes, max_events = self.limits.max_bytes, self.limits.max_events
        out: list[list[Item]] = []
        pending, size = self._items, self._size
        for item in items:
            length = len(item.data)
            if pending and (size + length > max_bytes or len(pending) >= max_events):
                out.append(pending)
                pending, size = [], 0
            if not pending:
                self._started = self._clock()
            pending.append(item)
            size += length
        if len(pending) >= max_events:
            out.append(pending)
            pending, size = [], 0
        self._items, self._size = pending, size
        return out

    def full(self) -> bool:
        """Whether the pending batch reached the event limit (send it without waiting for more)."""
        return len(self._items) >= self.limits.max_events

    def due(self) -> bool:
        """Whether the pending batch is older than ``max_age``."""
        return bool(self._items) and self._clock() - self._started >= self.limits.max_age

    def take(self) -> list[Item]:
        """The pending items (possibly empty); the batcher starts over."""
        items, self._items, self._size = self._items, [], 0
        return items
