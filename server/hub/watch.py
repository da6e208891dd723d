"""Background duties of a worker: check replicas against their logs; say it is alive, and
sweep the connections of workers that stopped saying so.

Pub/sub can lose a message without a trace (a subscription dropped and restored, a Redis
restart). A gap shows as soon as a later event arrives; a lost *last* event would not, and
a quiet session would sit one event behind. So every ``repair_interval`` seconds each replica's
seq is compared with its log's top, and what it lacks is read from the history.
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

CatchUp = Callable[[str, SessionReplica], Awaitable[None]]


async def watch_replicas(
    broker: Broker, replicas: dict[str, SessionReplica], catch_up: CatchUp, limits: Limits
) -> None:
    while True:
        await asyncio.sleep(limits.repair_interval)
        for session_id, replica in list(replicas.items()):
            try:
                top = await broker.position(session_id)
                if top.epoch == replica.epoch and top.seq > replica.state.seq:
                    log.info(
                        "replica behind its log; reading %s events", top.seq - replica.state.seq
                    )
                    await catch_up(session_id, replica)
            except Exception:  # the broker is away: the next round tries again
                log.warning("replica check failed (session=%s)", session_id)


Sweep = Callable[[list[tuple[str, str]]], Awaitable[None]]


async def heartbeat_and_sweep(broker: Broker, worker_id: str, sweep: Sweep, limits: Limits) -> None:
    """A worker killed with -9 closes nothing: its connections stay recorded and its
    participants "present". Every live worker beats every ``worker_heartbeat`` seconds; a worker
    silent for ``worker_timeout`` is claimed by exactly one other, which removes its records
    and logs ``left`` for whoever has no connection left anywhere."""
    while True:
        now = time.time()
        try:
            await broker.heartbeat(worker_id, now)
            for dead in await broker.claim_dead_workers(now - limits.worker_timeout):
                log.warning("sweeping the connections of silent worker %s", dead)
                await sweep(await broker.take_worker_connections(dead))
        except Exception:  # the broker is away: the next beat tries again
            log.warning("heartbeat or sweep failed (worker=%s)", worker_id)
        await asyncio.sleep(limits.worker_heartbeat)
