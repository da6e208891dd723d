"""Open the two stations of each pair so that, with several workers, they sit on DIFFERENT
workers: every signal then crosses the broker (Redis) on its way to the partner.

The workers share one listening socket and the kernel hands a new connection to whichever
accepts first, so a client cannot ask for a worker. Instead: open the first station's
WebSocket, find from /proc which worker process holds its server end (spread.py), then open
the second one, look again, and reconnect it until it lands on another worker: at most
``attempts`` connections, and the pair stays unsplit if none did. The sockets are opened
before the join, so a reconnection costs no join, no presence and no join-rate budget.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from load_tests.procstat import descendants
from load_tests.servers import Target
from load_tests.signal_client import SignalClient
from load_tests.spread import process_of_peer

CONNECT_TIMEOUT = 10.0
JOIN_TIMEOUT = 15.0
LOOKUP_TRIES = 20  # the accepted socket shows in /proc at once; a few looks cover a slow one
LOOKUP_POLL = 0.01


@dataclass(frozen=True, slots=True)
class Placement:
    pairs: int
    split: int | None  # pairs whose stations sit on different workers; None with one worker
    connections: int  # WebSockets opened to get there (2 per pair when nothing was retried)
    unknown: int  # connections whose worker could not be found in /proc
    workers: dict[str, int] = field(default_factory=dict)  # worker pid -> stations it holds


async def _worker_of(client: SignalClient, pids: list[int], port: int) -> int | None:
    peer = client.local_port
    for _ in range(LOOKUP_TRIES):
        if peer is not None and (pid := process_of_peer(pids, port, peer)) is not None:
            return pid
        await asyncio.sleep(LOOKUP_POLL)
    return None


async def place_pairs(
    target: Target, pairs: list[tuple[SignalClient, SignalClient]], attempts: int
) -> Placement:
    """Open every station's WebSocket (not joined yet), the pairs split where possible."""
    assert target.pid is not None, "spawned servers only"
    pids = [pid for pid in descendants(target.pid) if pid != target.pid]
    split_wanted = target.workers > 1
    connections = unknown = split = 0
    held: dict[str, int] = {}
    for first, second in pairs:
        await first.open(target.ws_url, CONNECT_TIMEOUT)
        connections += 1
        if not split_wanted:
            await second.open(target.ws_url, CONNECT_TIMEOUT)
            connections += 1
            continue
        home = await _worker_of(first, pids, target.port)
        unknown += home is None
        other = None
        for _ in range(attempts):
            await second.open(target.ws_url, CONNECT_TIMEOUT)
            connections += 1
            other = await _worker_of(second, pids, target.port)
            unknown += other is None
            if home is not None and other is not None and other != home:
                split += 1
                break
        for pid in (home, other):
            held[str(pid)] = held.get(str(pid), 0) + 1
    return Placement(len(pairs), split if split_wanted else None, connections, unknown, held)


async def join_pairs(
    pairs: list[tuple[SignalClient, SignalClient]], tokens: list[list[str]]
) -> None:
    """Join every opened station, then tell each the participant id of its partner."""
    async with asyncio.TaskGroup() as group:  # one failed join cancels the others
        for (first, second), (token_a, token_b) in zip(pairs, tokens, strict=True):
            group.create_task(first.join(token_a, JOIN_TIMEOUT))
            group.create_task(second.join(token_b, JOIN_TIMEOUT))
    for first, second in pairs:
        first.partner, second.partner = second.participant_id, first.participant_id
