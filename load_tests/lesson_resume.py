"""Reconnecting and resuming, as a real SDK does (docs/protocol.md sections 8, 9 and 17).

A simulated participant whose connection breaks (a close it did not ask for, or a lost TCP
connection: 1006, 1011, 1012, 4008, 4009 ...) opens a new connection after a short, bounded
backoff and joins again with ``resume: {seq, epoch}``, its position in the session's log.
``history_reset`` (4009) is retried at once, as the protocol asks. Codes that mean "stop"
(removed, ended, barred, a refused token ...) are not retried.

What a client receives is kept in *segments*: a segment starts with a welcome that carries a
snapshot (the first join, or a resume answered with ``"snapshot"``) and goes on across every
resume answered with ``"events"``. Within a segment the seq check holds the server to its word:
every event it may see after the snapshot arrives once and in order. A snapshot resume ends
the segment at the position the client resumed from: what happened between that position and
the new snapshot is in the snapshot, not in events, and cannot be checked one by one.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from load_tests.lesson_client import LessonClient

# Close codes after which a client must not come back on its own (section 17).
FINAL = frozenset({1000, 4002, 4003, 4004, 4005, 4006, 4007, 4010, 4011, 4012, 4014, 4015, 4016})
HISTORY_RESET = 4009
FIRST_BACKOFF = 0.1  # seconds before the second attempt (the first after 4009 is at once)
MAX_BACKOFF = 2.0
GIVE_UP = 45.0  # seconds a client keeps trying before it counts as never back
ATTEMPT_TIMEOUT = 10.0  # one connect + join + welcome


@dataclass(slots=True)
class Segment:
    """Events received since one snapshot (see the module's docstring)."""

    epoch: str
    base: int  # the snapshot's seq: the events above it are owed to the client
    seqs: list[int] = field(default_factory=list)
    end: int | None = None  # the position a snapshot resume cut it at; None: still open


@dataclass(slots=True)
class Outage:
    """One lost connection of one client, and its way back."""

    client: str
    code: int | None  # the close code (1006: no close frame)
    lost_ns: int
    back_ns: int | None = None  # the welcome of the resumed connection; None: never back
    attempts: int = 0
    resumed: str = ""  # "events" or "snapshot" (the welcome's ``resume``)

    @property
    def back_s(self) -> float | None:
        return None if self.back_ns is None else (self.back_ns - self.lost_ns) / 1e9


def resumable(code: int | None) -> bool:
    return code not in FINAL


def backoff(attempt: int, code: int | None, rng: random.Random) -> float:
    """Seconds to wait before ``attempt`` (0 first): doubling, bounded, with jitter so that
    a worker's clients do not all come back in the same millisecond."""
    if attempt == 0:
        return 0.0 if code == HISTORY_RESET else rng.uniform(0.0, FIRST_BACKOFF)
    grown: float = FIRST_BACKOFF * 2.0 ** (attempt - 1)
    return min(MAX_BACKOFF, grown) * rng.uniform(0.5, 1.0)


async def come_back(client: LessonClient, outage: Outage, rng: random.Random) -> None:
    """Reconnect and resume until a welcome, bounded by GIVE_UP seconds."""
    deadline = outage.lost_ns + int(GIVE_UP * 1e9)
    while time.monotonic_ns() < deadline and not client.closing:
        await asyncio.sleep(backoff(outage.attempts, outage.code, rng))
        outage.attempts += 1
        try:
            outage.resumed = await client.resume(ATTEMPT_TIMEOUT)
        except (OSError, ConnectionError, TimeoutError, ValueError):
            continue  # refused, closed before the welcome (the broker is down), too slow
        outage.back_ns = time.monotonic_ns()
        return
