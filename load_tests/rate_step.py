"""What every rate step shares, whoever generates its load: when its first send is due and
its measured window, the MONITOR sample in its warm-up, and the bounded drain after it."""

from __future__ import annotations

import asyncio
import time

from load_tests.redis_monitor import script_shares
from load_tests.servers import Target
from load_tests.tally import PhaseTally, Window

START_DELAY_NS = 50_000_000  # between setting a rate up and its first send
DRAIN_POLL = 0.02
SETTLE = 0.1  # after the drain: time for a late duplicate to show up before the check
MONITOR_SECONDS = 0.5  # the most of each warm-up spent sampling Redis with MONITOR


def step_timing(delay_ns: int, warmup: float, duration: float) -> tuple[int, Window]:
    """When a step's first send is due (``delay_ns`` from now), and its measured window: the
    ``duration`` seconds after the ``warmup``."""
    start = time.monotonic_ns() + delay_ns
    measure_from = start + int(warmup * 1e9)
    return start, Window(measure_from, measure_from + int(duration * 1e9))


def monitor_sample(
    target: Target, start_ns: int, warmup: float
) -> asyncio.Task[dict[str, float] | None] | None:
    """A MONITOR sample in the middle of the warm-up, well clear of the measured window."""
    if target.redis is None or warmup <= 0:
        return None
    seconds = min(MONITOR_SECONDS, warmup / 3)
    begin = start_ns + int(warmup / 3 * 1e9)
    return asyncio.create_task(script_shares(target.redis.port, begin, seconds))


async def drain(tally: PhaseTally, clients_per_session: int, timeout: float) -> float:
    """Wait until every ack is in and every acked message reached every client (bounded)."""
    started = time.monotonic()
    for _ in range(int(timeout / DRAIN_POLL) + 1):
        done = tally.unique_deliveries >= tally.expected_deliveries(clients_per_session)
        if tally.pending_acks <= 0 and done:
            break
        await asyncio.sleep(DRAIN_POLL)
    return time.monotonic() - started
