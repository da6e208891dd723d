"""Token buckets with explicit times: no sleeping, no clock."""

from __future__ import annotations

import pytest

from server.ratelimit import KeyedLimiter, TokenBucket


def test_bucket_starts_full_and_allows_a_burst() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    assert [bucket.take(100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(100.0) == pytest.approx(0.5)


def test_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    for _ in range(3):
        bucket.take(0.0)
    assert bucket.take(0.25) == pytest.approx(0.25)  # half a token back; half still missing
    assert bucket.take(0.5) == 0.0
    assert bucket.take(0.5) == pytest.approx(0.5)


def test_bucket_never_holds_more_than_its_burst() -> None:
    bucket = TokenBucket(rate=10.0, burst=2)
    bucket.take(0.0)
    allowed = [bucket.take(1_000.0) for _ in range(3)]
    assert allowed[:2] == [0.0, 0.0]
    assert allowed[2] > 0


def test_a_refused_take_costs_nothing() -> None:
    bucket = TokenBucket(rate=1.0, burst=1)
    bucket.take(0.0)
    for _ in range(5):
        assert bucket.take(0.5) == pytest.approx(0.5)
    assert bucket.take(1.0) == 0.0


def test_bucket_with_a_larger_cost() -> None:
    bucket = TokenBucket(rate=1.0, burst=5)
    assert bucket.take(0.0, cost=4) == 0.0
    assert bucket.take(0.0, cost=4) == pytest.approx(3.0)
    assert bucket.take(3.0, cost=4) == 0.0


def test_keyed_limiter_keeps_one_bucket_per_key() -> None:
    limiter = KeyedLimiter(rate=1.0, burst=2)
    assert [limiter.take("10.0.0.1", 0.0) for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("10.0.0.1", 0.0) == pytest.approx(1.0)
    assert limiter.take("10.0.0.2", 0.0) == 0.0  # another address is not affected


def test_keyed_limiter_bounds_its_keys() -> None:
    limiter = KeyedLimiter(rate=1.0, burst=2, max_keys=3)
    for n in range(100):
        limiter.take(f"10.0.0.{n}", float(n) / 10)
        assert len(limiter._buckets) <= 3


def test_keyed_limiter_forgets_full_buckets_first() -> None:
    limiter = KeyedLimiter(rate=1.0, burst=2, max_keys=3)
    limiter.take("old", 0.0)  # refilled by t=2
    for _ in range(3):
        limiter.take("busy", 9.0)  # empty at t=10
    limiter.take("recent", 9.5)
    limiter.take("new", 10.0)  # full: only "old" holds nothing worth keeping
    assert set(limiter._buckets) == {"busy", "recent", "new"}
    # "busy" kept its state: one token refilled since t=9, not a fresh bucket of two.
    assert limiter.take("busy", 10.0) == 0.0
    assert limiter.take("busy", 10.0) > 0


def test_keyed_limiter_forgets_the_least_recently_seen_key() -> None:
    """Cycling through many addresses evicts old ones, never everyone's state at once."""
    limiter = KeyedLimiter(rate=1.0, burst=2, max_keys=2)
    limiter.take("a", 0.0)
    limiter.take("b", 0.0)
    limiter.take("a", 0.0)  # "a" is now the most recently seen, with no tokens left
    limiter.take("c", 0.0)
    assert set(limiter._buckets) == {"a", "c"}
    assert limiter.take("a", 0.0) > 0  # still limited: its bucket was kept
