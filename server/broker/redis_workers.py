"""The ``redis://`` broker's records of live connections across workers, and the workers'
heartbeats: who holds which connection, who is alive, and the sweep of a dead worker's
connections (claimed by exactly one other worker). A part of ``RedisBroker``, kept apart
because it is presence, not the log.

Keys: ``cb:{sid}:conns`` (connection key -> participant, the session's slot),
``cb:worker:<id>:conns`` (what one worker holds) and ``cb:workers`` (heartbeats). The commands
touch several slots, so they are separate commands or non-transactional pipelines, which
redis-py splits per node in a Cluster.
"""

from __future__ import annotations

from typing import cast

from redis.asyncio import Redis

from server.broker.redis_scripts import WORKERS_KEY, session_keys, worker_connections_key


class RedisWorkerRecords:
    @property
    def client(self) -> Redis:
        raise NotImplementedError  # RedisBroker provides the started client

    async def add_connection(
        self, session_id: str, connection_key: str, participant_id: str
    ) -> None:
        worker = connection_key.partition(":")[0]
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hset(session_keys(session_id).conns, connection_key, participant_id)
            pipe.sadd(worker_connections_key(worker), f"{session_id} {connection_key}")
            await pipe.execute()

    async def remove_connection(self, session_id: str, connection_key: str) -> None:
        worker = connection_key.partition(":")[0]
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hdel(session_keys(session_id).conns, connection_key)
            pipe.srem(worker_connections_key(worker), f"{session_id} {connection_key}")
            await pipe.execute()

    async def heartbeat(self, worker_id: str, now: float) -> None:
        await self.client.zadd(WORKERS_KEY, {worker_id: now})

    async def claim_dead_workers(self, silent_since: float) -> list[str]:
        found = await self.client.zrangebyscore(WORKERS_KEY, "-inf", silent_since)
        silent = cast(list[bytes], found)  # raw client: members come back as bytes
        # ZREM answers 1 to one caller only: that caller sweeps the worker, exactly once.
        return [w.decode() for w in silent if await self.client.zrem(WORKERS_KEY, w) == 1]

    async def take_worker_connections(self, worker_id: str) -> list[tuple[str, str]]:
        key = worker_connections_key(worker_id)
        records = cast(list[bytes], await self.client.smembers(key))
        taken = []
        for record in records:
            session_id, _, connection_key = record.decode().partition(" ")
            conns = session_keys(session_id).conns
            participant = await self.client.hget(conns, connection_key)
            await self.client.hdel(conns, connection_key)
            if participant is not None:
                taken.append((session_id, cast(bytes, participant).decode()))
        await self.client.delete(key)
        return taken

    async def count_connections(self, session_id: str, participant_id: str) -> int:
        # A session holds a few hundred connections at most: reading them all is one call.
        held = await self.client.hvals(session_keys(session_id).conns)
        return cast(list[bytes], held).count(participant_id.encode())
