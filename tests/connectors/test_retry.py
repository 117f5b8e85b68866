"""RetryPolicy: exact backoff sequences, cap, jitter, Retry-After, exhaustion."""

from __future__ import annotations

import pytest

from esalog.connectors.retry import RetriesExhausted, RetryPolicy, parse_retry_after


def no_jitter(**kw: float) -> RetryPolicy:
    return RetryPolicy(jitter=0.0, rng=lambda: 0.0, **kw)  # type: ignore[arg-type]


def schedule(policy: RetryPolicy, n: int) -> list[float]:
    out = []
    for _ in range(n):
        policy = policy.next()
        out.append(policy.delay)
    return out


def test_exponential_sequence_is_capped() -> None:
    """Delays double from ``initial`` and stop growing at ``cap``."""
    assert [0.5, 1.0, 2.0, 4.0, 5.0, 5.0] == schedule(no_jitter(initial=0.5, cap=5.0, budget=0), 6)


def test_jitter_scales_down_within_bounds() -> None:
    """Full jitter of 0.5 with rng()=1 halves the delay; rng()=0 keeps it."""
    low = RetryPolicy(initial=1.0, jitter=0.5, rng=lambda: 1.0).next()
    high = RetryPolicy(initial=1.0, jitter=0.5, rng=lambda: 0.0).next()
    assert (0.5, 1.0) == (low.delay, high.delay)


def test_retry_after_wins_and_is_bounded() -> None:
    """A Retry-After hint replaces the backoff, but never beyond ``max_retry_after`` nor below ``initial``."""
    policy = no_jitter(initial=0.5, max_retry_after=10.0)
    assert 7.0 == policy.next(retry_after=7).delay
    assert 10.0 == policy.next(retry_after=3600).delay
    assert 0.5 == policy.next(retry_after=0).delay  # "0" forever must still spend the budget


def test_policy_is_a_value() -> None:
    """next() returns a new policy; the original keeps its empty history."""
    policy = no_jitter()
    later = policy.next().next()
    assert (0, 2) == (policy.attempts, later.attempts)
    assert 0 == later.reset().attempts


def test_exhausted_by_attempts() -> None:
    """max_attempts retries are allowed, the next raises with the reason."""
    policy = no_jitter(max_attempts=2, budget=0).next().next()
    with pytest.raises(RetriesExhausted, match="after 2 retries: HTTP 503"):
        policy.next(reason="HTTP 503")


def test_exhausted_by_budget() -> None:
    """The sum of waits may not exceed the budget."""
    policy = no_jitter(initial=1.0, cap=100, budget=3.5).next().next()  # waited 1 + 2
    with pytest.raises(RetriesExhausted, match="budget"):
        policy.next()


@pytest.mark.parametrize(
    ("header", "expected"),
    [("5", 5.0), (None, None), ("soon", None), ("Thu, 01 Jan 2026 00:00:10 GMT", 10.0)],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    """Delta seconds and HTTP dates are understood; anything else is ignored."""
    now = 1767225600.0  # 2026-01-01T00:00:00Z
    assert expected == parse_retry_after(header, now=now)
