"""Retry policy as a frozen value: capped exponential backoff with jitter; ``Retry-After`` wins.

The policy holds configuration and history (the delays already chosen). ``next()`` returns a new
policy with one more attempt recorded, or raises :class:`RetriesExhausted` when the attempt count or
the time budget is spent. Decisions are pure; the random source is injected so tests are exact.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from esalog.errors import SinkError


class RetriesExhausted(SinkError):
    """The policy allows no further attempt."""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or HTTP date); None if absent/invalid."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait before each new attempt of one request, and when to give up.

    ``delay`` of attempt *n* (1-based) is ``min(cap, initial * factor ** (n - 1))``, scaled by a
    random factor in ``[1 - jitter, 1]``; a ``Retry-After`` hint replaces it (bounded by ``initial``
    and ``max_retry_after``). Giving up: after ``max_attempts`` retries (0 = no limit) or once the sum of
    delays would exceed ``budget`` seconds (0 = no limit).
    """

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    jitter: float = 0.5
    max_attempts: int = 0
    budget: float = 300.0
    max_retry_after: float = 120.0
    history: tuple[float, ...] = ()
    rng: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    @property
    def attempts(self) -> int:
        """Retries scheduled so far."""
        return len(self.history)

    @property
    def delay(self) -> float:
        """The wait before the latest scheduled retry (0 before any)."""
        return self.history[-1] if self.history else 0.0

    @property
    def waited(self) -> float:
        """Total of the scheduled waits."""
        return sum(self.history)

    def backoff(self, attempt: int) -> float:
        """The un-jittered backoff of retry number *attempt* (1-based)."""
        return min(self.cap, self.initial * self.factor ** (attempt - 1))

    def next(self, retry_after: float | None = None, reason: str = "") -> RetryPolicy:
        """The policy after scheduling one more retry; raises RetriesExhausted when none is allowed."""
        attempt = self.attempts + 1
        if self.max_attempts and attempt > self.max_attempts:
            raise RetriesExhausted(f"gave up after {self.attempts} retries: {reason}".rstrip(": "))
        if retry_after is not None:  # at least ``initial``: a server saying "0" forever still spends the budget
            delay = min(max(retry_after, self.initial), self.max_retry_after)
        else:
            delay = self.backoff(attempt) * (1.0 - self.jitter * self.rng())
        if self.budget and self.waited + delay > self.budget:
            why = f"gave up after {self.attempts} retries ({self.waited:.1f}s budget spent"
            if retry_after is not None and delay > self.initial:  # the server's wait, not the backoff, ended it
                capped = (f"; esalog waits {self.max_retry_after:g}s at most"
                          if retry_after > self.max_retry_after else "")
                why += (f"; the server asked to wait {retry_after:g}s (Retry-After{capped}), more than the "
                        f"{self.budget - self.waited:g}s left of --retry-budget")
            raise RetriesExhausted(f"{why}): {reason}".rstrip(": "))
        return replace(self, history=(*self.history, delay))

    def reset(self) -> RetryPolicy:
        """The same configuration with an empty history (for the next request)."""
        return replace(self, history=())
