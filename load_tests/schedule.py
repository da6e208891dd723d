"""Offered load: chat sends at a fixed aggregate rate, open loop (never waiting for replies)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator, Sequence

from load_tests.client import BenchClient
from load_tests.tally import PhaseTally

YIELD_EVERY = 16


def arrival_offsets(rate: float, span: float, arrival: str, rng: random.Random) -> Iterator[float]:
    """Send times in seconds from the start, over ``span`` seconds; bounded in count.

    ``poisson``: exponential gaps (independent users); ``uniform``: evenly spaced.
    """
    limit = int(rate * span * 2) + 10  # a Poisson count this far above its mean does not happen
    offset = rng.expovariate(rate) if arrival == "poisson" else 0.0
    for _ in range(limit):
        if offset >= span:
            return
        yield offset
        offset += rng.expovariate(rate) if arrival == "poisson" else 1.0 / rate


async def wait_until(due_ns: int, count: int) -> None:
    """Sleep until ``due_ns``, the ``count``-th send's time; one already due goes at once (its
    lateness is the sender's to record), but every YIELD_EVERY-th still yields, so that the
    receivers run even when the generator is behind schedule."""
    delay = due_ns - time.monotonic_ns()
    if delay > 0:
        await asyncio.sleep(delay / 1e9)
    elif count % YIELD_EVERY == 0:
        await asyncio.sleep(0)


def interleave(senders: Sequence[Sequence[BenchClient]]) -> list[BenchClient]:
    """Senders ordered session by session in turn, so round-robin spreads load evenly."""
    width = max((len(row) for row in senders), default=0)
    return [row[i] for i in range(width) for row in senders if i < len(row)]


async def offer_load(
    tally: PhaseTally,
    senders: Sequence[BenchClient],
    start_ns: int,
    span: float,
    arrival: str,
    rng: random.Random,
) -> None:
    """Send chat at ``tally.rate`` from ``start_ns`` for ``span`` seconds, round-robin.

    A send that comes due while the generator is busy goes out at once, late: the lateness is
    recorded (``tally.lag_ns``), so a generator that cannot keep up shows in the report.
    """
    for count, offset in enumerate(arrival_offsets(tally.rate, span, arrival, rng)):
        due = start_ns + int(offset * 1e9)
        await wait_until(due, count)
        senders[count % len(senders)].send_chat(tally, due, due in tally.window)
