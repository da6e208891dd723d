"""A token bucket. Sans-I/O: the caller passes the time, so tests need no sleeping."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    rate: float  # tokens added per second
    burst: float  # the most tokens the bucket holds
    tokens: float = -1.0
    updated: float = 0.0

    def take(self, now: float, cost: float = 1.0) -> float:
        """Take ``cost`` tokens; returns 0 on success, else the seconds to wait before retrying."""
        if self.tokens < 0:
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate


@dataclass(slots=True)
class KeyedLimiter:
    """One bucket per key (an IP address), with the number of keys bounded."""

    rate: float
    burst: float
    max_keys: int = 100_000
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def take(self, key: str, now: float) -> float:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_full(now)
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst)
        return bucket.take(now)

    def _forget_full(self, now: float) -> None:
        # A bucket that has refilled completely holds no information worth keeping.
        refill = self.burst / self.rate
        for key in [k for k, b in self._buckets.items() if now - b.updated >= refill]:
            del self._buckets[key]
        if len(self._buckets) >= self.max_keys:
            self._buckets.clear()
