"""Background duties of a worker: check replicas against their logs; say it is alive, and
sweep the connections of workers that stopped saying so.

Pub/sub can lose a message without a trace (a subscription dropped and restored, a Redis
restart). A gap shows as soon as a later event arrives; a lost *last* event would not, and
a quiet session would sit one event behind. So every ``repair_interval`` seconds each replica's
seq is compared with its log's top, and what it lacks is read from the history. The same check
notices a log that lost history (another epoch, or a top below the replica's seq) and starts a
recovery (``hub/recovery.py``). While the broker is away the check runs every
``OUTAGE_INTERVAL`` seconds, so a lost history is noticed soon after the broker is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from server.broker.base import Broker
from server.hub.replica import SessionReplica
from server.settings import Limits

log = logging.getLogger(__name__)

OUTAGE_INTERVAL = 0.5  # seconds between checks while the broker does not answer

Check = Callable[[str, SessionReplica], Awaitable[None]]


def _stop_if_cancelled() -> None:
    """Python 3.11's ``wait_for`` can swallow a cancellation that meets a result (an append
    applied just as the hub closes): a loop that went on would keep the shutdown waiting."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def watch_replicas(replicas: dict[str, SessionReplica], check: Check, limits: Limits) -> None:
    interval = limits.repair_interval
    while True:
        await asyncio.sleep(interval)
        interval = limits.repair_interval
        for session_id, replica in list(replicas.items()):
            try:
                await check(session_id, replica)
            except Exception:  # the broker is away: look again soon
                log.warning("replica check failed (session=%s)", session_id)
                interval = min(interval, OUTAGE_INTERVAL)
        _stop_if_cancelled()


Sweep = Callable[[list[tuple[str, str]]], Awaitable[None]]


async def heartbeat_and_sweep(broker: Broker, worker_id: str, sweep: Sweep, limits: Limits) -> None:
    """A worker killed with -9 closes nothing: its connections stay recorded and its
    participants "present". Every live worker beats every ``worker_heartbeat`` seconds; a worker
    silent for ``worker_timeout`` is claimed by exactly one other, which removes its records
    and logs ``left`` for whoever has no connection left anywhere."""
    # After an outage every worker's last beat is old: only a worker that has been beating for
    # ``worker_timeout`` (so the others had as long to beat again) may call anyone dead.
    beating_since: float | None = None
    while True:
        now = time.time()
        try:
            await broker.heartbeat(worker_id, now)
            beating_since = now if beating_since is None else beating_since
            if now - beating_since >= limits.worker_timeout:
                for dead in await broker.claim_dead_workers(now - limits.worker_timeout):
                    log.warning("sweeping the connections of silent worker %s", dead)
                    await sweep(await broker.take_worker_connections(dead))
        except Exception:  # the broker is away: the next beat tries again
            log.warning("heartbeat or sweep failed (worker=%s)", worker_id)
            beating_since = None
        _stop_if_cancelled()
        await asyncio.sleep(limits.worker_heartbeat)
