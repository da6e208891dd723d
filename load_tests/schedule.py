"""Offered load: chat sends at a fixed aggregate rate, open loop (never waiting for replies)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from load_tests.client import BenchClient
from load_tests.tally import PhaseTally

YIELD_EVERY = 16

Sender = TypeVar("Sender")


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


def deal(
    offsets: Iterable[float], senders: Sequence[Sender], arrival: str, rng: random.Random
) -> Iterator[tuple[float, Sender]]:
    """Each send time with the sender who posts then.

    ``poisson``: a sender drawn at random each time. A Poisson stream split at random gives
    each session a Poisson stream of its own, as independent users make. Dealt in turn instead,
    a session of 10 would post every 10th send of the whole stream, at gaps far more even than
    independent users leave (rarely two posts close together), which is not the load the name
    promises. ``uniform``: in turn, so evenly spaced sends stay evenly spread over sessions.
    """
    for count, offset in enumerate(offsets):
        if arrival == "poisson":
            yield offset, senders[rng.randrange(len(senders))]
        else:
            yield offset, senders[count % len(senders)]


def interleave(senders: Sequence[Sequence[BenchClient]]) -> list[BenchClient]:
    """Senders ordered session by session in turn, so dealing in turn spreads load evenly."""
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
    """Send chat at ``tally.rate`` from ``start_ns`` for ``span`` seconds (``deal`` says who).

    A send that comes due while the generator is busy goes out at once, late: the lateness is
    recorded (``tally.lag_ns``), so a generator that cannot keep up shows in the report.
    """
    offsets = arrival_offsets(tally.rate, span, arrival, rng)
    for count, (offset, sender) in enumerate(deal(offsets, senders, arrival, rng)):
        due = start_ns + int(offset * 1e9)
        await wait_until(due, count)
        sender.send_chat(tally, due, due in tally.window)
