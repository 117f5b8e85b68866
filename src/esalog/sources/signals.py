"""SIGINT and SIGTERM while ``parse`` or ``filter`` reads: stop after the line (or block of lines) under way,
whose events are still written whole, say so, and exit 128 + the signal's number."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, BinaryIO, TypeVar, cast

from esalog.sources.lines import WaitMarkedReads

T = TypeVar("T")

#: The signals that stop reading.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(Exception):
    """A stop signal arrived while reading waited for input (nothing of what it returns is lost)."""


class StopSignals:
    """The handlers of :data:`STOP_SIGNALS` for the time of a ``with`` block.

    The first signal sets ``signum`` and calls ``on_stop`` (the reader stops at its next line or block); a
    read that waits for input (``is_waiting``) is interrupted with :class:`Stopped`. A second signal exits
    at once (the user insists; a write under way may be cut), unless *insist* is false.
    """

    def __init__(self, *, insist: bool = True) -> None:
        self.insist = insist  # a second signal exits at once (a --workers worker's waits for its batch)
        self.signum: int | None = None
        self.on_stop: Callable[[], None] = lambda: None
        self._waiting = False
        self.is_waiting: Callable[[], bool] = lambda: self._waiting
        self.done = 0  # items of until_stopped handled
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        self._previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}
        return self

    def __exit__(self, *_: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.signum is not None:
            if not self.insist:
                return
            print(f"esalog: {signal.Signals(signum).name} again: stopped at once", file=sys.stderr, flush=True)
            os._exit(128 + signum)
        self.signum = signum
        self.on_stop()
        if self.is_waiting():
            raise Stopped(signal.Signals(signum).name)

    def watch(self, source: Any) -> None:
        """Stop *source* (a :class:`~esalog.sources.reader.Source`) at its next batch; interrupt it while it
        waits for input. Stopped already, it stops before its first."""
        def stop_it() -> None:
            source.stop = True

        self.on_stop = stop_it
        self.is_waiting = lambda: bool(source.waiting)
        if self.signum is not None:
            source.stop = True

    def waiting_on(self, handle: BinaryIO) -> BinaryIO:
        """*handle* for reading whose reads are waits a signal may interrupt (:class:`Stopped`)."""
        return cast(BinaryIO, WaitMarkedReads(handle, self._mark_waiting))

    def _mark_waiting(self, waiting: bool) -> None:
        self._waiting = waiting

    def until_stopped(self, items: Iterator[T]) -> Iterator[T]:
        """*items* (lines read one by one) until the first signal; a signal while the next one is awaited ends
        them at once. ``done`` counts those handed on and handled (the consumer asked for the next)."""
        while self.signum is None:
            self._waiting = True
            try:
                item = next(items)
            except (StopIteration, Stopped):
                return
            finally:
                self._waiting = False
            yield item
            self.done += 1

    @property
    def exit_code(self) -> int:
        """128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as a shell reports a process it
        stopped."""
        assert self.signum is not None
        return 128 + self.signum

    def said(self, lines: int, what: str = "their events are written") -> str:
        """The line on stderr: which signal, how many lines were done."""
        assert self.signum is not None
        return (f"esalog: stopped by {signal.Signals(self.signum).name} after {lines:,} lines ({what}; the rest "
                "of the input was not read)")
