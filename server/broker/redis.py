"""``redis://``: the broker for many workers and hosts, with the semantics of ``memory://``.

Appends are one Lua script each (next seq, XADD, PUBLISH: one call per event, never one per
recipient), and those of one loop turn share one round trip (``redis_append``); reads that must
see one consistent moment run as MULTI/EXEC pipelines on one session's keys (one slot). Key names
and scripts are in ``redis_scripts``, live delivery in ``redis_pubsub``. The same class serves
``redis+cluster://`` (``redis_cluster``): SPUBLISH and SSUBSCRIBE instead of PUBLISH and
SUBSCRIBE, no MULTI across slots, and appends through the general client.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any, cast

import msgpack
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError
from redis.typing import EncodableT

from server.broker import redis_scripts as scripts
from server.broker.base import (
    EventListener,
    HistoryGone,
    JoinCodeTarget,
    LogPosition,
    StoredSnapshot,
    VolatileListener,
)
from server.broker.redis_append import AppendPipeline
from server.broker.redis_cluster import cluster_client, is_cluster_url
from server.broker.redis_cluster_pubsub import ClusterChannels
from server.broker.redis_pubsub import (
    ChannelSubscription,
    ProbeTiming,
    SessionChannels,
    Subscriber,
)
from server.broker.redis_scripts import (
    PAYLOAD_FIELD,
    channel_name,
    encode_volatile,
    join_code_key,
    session_keys,
)
from server.broker.redis_workers import RedisWorkerRecords

# redis-py takes one pooled connection per command in flight, and its default pool raises
# "Too many connections" under a burst of appends; a blocking pool makes the burst wait instead.
# A ``?max_connections=N`` in the URL overrides this.
MAX_CONNECTIONS = 64
POOL_TIMEOUT = 10.0  # seconds a command waits for a free connection before failing


def new_epoch() -> str:
    """A fresh history's name. Every append passes one (used only when the log is gone), so
    it comes from the process's seeded generator, not the system's: ``secrets`` costs a
    ``getrandom`` system call per append. Epochs tell histories apart; they guard nothing."""
    return f"{random.getrandbits(32):08x}"


def _seq_of(entry_id: bytes) -> int:
    return int(entry_id.partition(b"-")[0])


READY_TIMEOUT = 1.0  # seconds a readiness probe waits for PING


class RedisBroker(RedisWorkerRecords):
    appends_in_place = False  # each one is a round trip to Redis

    def __init__(
        self, url: str, history_size: int = 1000, *, probe: ProbeTiming | None = None
    ) -> None:
        self.url = url
        self.history_size = history_size
        self.cluster = is_cluster_url(url)
        self._probe = probe
        # Typed as the plain client: the Cluster client answers the same commands.
        self._client: Redis | None = None
        self._channels: SessionChannels | ClusterChannels | None = None
        self._scripts: dict[str, AsyncScript] = {}
        self._appender: AppendPipeline | None = None  # plain redis:// only (redis_append)

    @property
    def client(self) -> Redis:
        if self._client is None:
            raise RuntimeError("the Redis broker is not started")
        return self._client

    async def start(self) -> None:
        client = self._new_client()
        try:
            await self._connect(client)
        except BaseException:
            await client.aclose()
            raise

    def _new_client(self) -> Redis:
        if self.cluster:
            return cast(Redis, cluster_client(self.url, MAX_CONNECTIONS))
        # Raw bytes in and out: payloads are binary, and decoding is the caller's business.
        pool = BlockingConnectionPool.from_url(
            self.url, max_connections=MAX_CONNECTIONS, timeout=POOL_TIMEOUT, decode_responses=False
        )
        return Redis.from_pool(pool)  # the client owns the pool: aclose() closes both

    async def _connect(self, client: Redis) -> None:
        await client.ping()  # fail at startup, not on the first request, when Redis is absent
        # EVALSHA from here on; redis-py reloads a script by itself after Redis lost it (in a
        # Cluster, on the master that lost it).
        sources = {
            "append": scripts.APPEND_SHARDED if self.cluster else scripts.APPEND,
            "position": scripts.POSITION,
            "replace": scripts.REPLACE,
            "save_snapshot": scripts.SAVE_SNAPSHOT,
        }
        self._scripts = {name: client.register_script(src) for name, src in sources.items()}
        for source in sources.values():
            await client.script_load(source)  # a broken script fails here, at startup
        channels = self._new_channels(client)
        await channels.start()
        self._client, self._channels = client, channels
        if not self.cluster:  # a Cluster's appends go to the session's master: the client routes
            self._appender = AppendPipeline(client.connection_pool)

    def _new_channels(self, client: Redis) -> SessionChannels | ClusterChannels:
        if self.cluster:
            return ClusterChannels(cast(Any, client), self._probe)
        pool = client.connection_pool

        def connect() -> AbstractConnection:
            # A connection of its own, outside the pool: a subscribed connection serves
            # nothing else. RESP2, whose pub/sub replies are plain arrays.
            connection: AbstractConnection = pool.connection_class(
                **{**pool.connection_kwargs, "protocol": 2}
            )
            return connection

        return SessionChannels(connect, timing=self._probe)

    async def close(self) -> None:
        if self._appender is not None:
            await self._appender.close()
            self._appender = None
        if self._channels is not None:
            await self._channels.close()
            self._channels = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def ready(self) -> bool:
        if self._client is None:
            return False
        try:
            return bool(await asyncio.wait_for(self._client.ping(), READY_TIMEOUT))
        except Exception:  # unreachable, timed out, refused: all mean "not ready"
            return False

    async def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self._scripts[name](keys=keys, args=args)

    # --- session directory -------------------------------------------------------------------
    async def create_session(
        self, session_id: str, record: bytes, join_codes: dict[str, str]
    ) -> None:
        # Join codes live in other slots than the session (a Cluster refuses a MULTI across
        # slots): write them first and the record last, so the session is reachable only once
        # complete. A creation that fails half-way leaves codes that lead to no record, which
        # a join treats as an unknown code.
        if join_codes:
            async with self.client.pipeline(transaction=False) as pipe:
                for code, class_id in join_codes.items():
                    target = msgpack.packb([session_id, class_id], use_bin_type=True)
                    pipe.set(join_code_key(code), target)
                await pipe.execute()
        await self.client.set(session_keys(session_id).meta, record)

    async def get_session(self, session_id: str) -> bytes | None:
        return cast(bytes | None, await self.client.get(session_keys(session_id).meta))

    async def find_join_code(self, code: str) -> JoinCodeTarget | None:
        stored = cast(bytes | None, await self.client.get(join_code_key(code)))
        if stored is None:
            return None
        session_id, class_id = msgpack.unpackb(stored)
        return JoinCodeTarget(str(session_id), str(class_id))

    # --- the log -----------------------------------------------------------------------------
    async def append(
        self, session_id: str, payload: bytes, *, after: LogPosition | None = None
    ) -> LogPosition:
        keys = session_keys(session_id)
        names = [keys.seq, keys.epoch, keys.log, keys.snap, keys.replaced]
        known = (after.epoch, after.seq) if after is not None else ("", 0)
        args: list[EncodableT] = [payload, self.history_size, new_epoch(), keys.channel, *known]
        if self._appender is None:
            seq, epoch = await self._run("append", names, args)
            return LogPosition(int(seq), epoch.decode())
        sha = self._scripts["append"].sha
        try:
            seq, epoch = await self._appender.evalsha(sha, names, args)
        except NoScriptError:
            # Redis lost its scripts (restarted). Loaded again on the pipeline's own connection,
            # which just answered and so is alive: the pool's idle connections may still be the
            # dead ones (redis-py 8 skips its stale check while maintenance notifications are
            # on), and the first command on each would fail. Callers refused together wake in
            # the order of their replies, so their loads and retries go out in that order too;
            # appends issued meanwhile may land between them. Only one session's order could
            # matter, and it does not here: the hub awaits each append before issuing the next
            # of the same command (hub.py ``_append``), and appends of concurrent commands to
            # one session have no order but the one the log gives them.
            await self._appender.load_script(scripts.APPEND)
            seq, epoch = await self._appender.evalsha(sha, names, args)
        return LogPosition(int(seq), epoch.decode())

    async def position(self, session_id: str) -> LogPosition:
        keys = session_keys(session_id)
        seq, epoch = await self._run(
            "position", [keys.seq, keys.epoch, keys.log, keys.snap], [new_epoch()]
        )
        return LogPosition(int(seq), epoch.decode())

    async def read_since(
        self, session_id: str, after: LogPosition
    ) -> list[tuple[int, bytes]] | HistoryGone:
        keys = session_keys(session_id)
        # One atomic read, so the top, the stream and the overlay describe the same moment.
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.get(keys.epoch)
            pipe.get(keys.seq)
            pipe.xrange(keys.log, min=f"{after.seq + 1}-0")
            pipe.hgetall(keys.replaced)
            epoch, top, entries, replaced = await pipe.execute()
        if epoch is None or top is None:  # lost, or never used: position() starts an epoch
            return HistoryGone(await self.position(session_id))
        here = LogPosition(int(top), epoch.decode())
        if after.epoch != here.epoch or after.seq > here.seq:
            return HistoryGone(here)
        return self._collect(after.seq, here, entries, replaced)

    @staticmethod
    def _collect(
        after: int,
        here: LogPosition,
        entries: list[tuple[bytes, dict[bytes, bytes]]],
        replaced: dict[bytes, bytes],
    ) -> list[tuple[int, bytes]] | HistoryGone:
        """Events ``after+1 .. top``, from the stream or, if replaced, from the overlay; if any
        is in neither, it was trimmed and the client needs a snapshot."""
        found = {_seq_of(entry_id): fields[PAYLOAD_FIELD] for entry_id, fields in entries}
        found.update((int(seq), payload) for seq, payload in replaced.items())
        try:
            return [(seq, found[seq]) for seq in range(after + 1, here.seq + 1)]
        except KeyError:
            return HistoryGone(here)

    async def replace(self, session_id: str, at: LogPosition, payload: bytes) -> None:
        keys = session_keys(session_id)
        await self._run(
            "replace", [keys.log, keys.replaced, keys.epoch], [at.seq, payload, at.epoch]
        )

    async def subscribe(
        self,
        session_id: str,
        listener: EventListener,
        volatile: VolatileListener | None = None,
    ) -> ChannelSubscription:
        if self._channels is None:
            raise RuntimeError("the Redis broker is not started")
        channel = channel_name(session_id)
        subscriber = Subscriber(listener, volatile)
        await self._channels.add(channel, subscriber)
        return ChannelSubscription(self._channels, channel, subscriber)

    async def publish(self, session_id: str, payload: bytes) -> None:
        # The session's own channel: only workers hosting the session receive it, and one
        # PUBLISH reaches all of them however many recipients each holds. In a Cluster,
        # SPUBLISH goes to the session's master only, like the append script's.
        channel, message = session_keys(session_id).channel, encode_volatile(payload)
        if self.cluster:
            await self.client.spublish(channel, message)
        else:
            await self.client.publish(channel, message)

    # --- snapshots ---------------------------------------------------------------------------
    async def save_snapshot(self, session_id: str, snapshot: StoredSnapshot) -> None:
        keys = session_keys(session_id)
        await self._run(
            "save_snapshot",
            [keys.snap, keys.epoch, keys.seq],
            [snapshot.seq, snapshot.epoch, snapshot.payload],
        )

    async def load_snapshot(self, session_id: str) -> StoredSnapshot | None:
        fields = (b"seq", b"epoch", b"payload")
        stored = await self.client.hmget(session_keys(session_id).snap, fields)
        seq, epoch, payload = cast(list[bytes | None], stored)  # raw client: bytes, not str
        if seq is None or epoch is None or payload is None:
            return None
        return StoredSnapshot(int(seq), epoch.decode(), payload)

    # --- recovery (see ``Broker.reseed``) ----------------------------------------------------
    async def reseed(
        self,
        session_id: str,
        known: LogPosition,
        snapshot: bytes,
        marks: Sequence[tuple[int, int]] = (),
        *,
        renew_from: int | None = None,
    ) -> Any:
        # Imported here so this rarely used path stays one appended block of this module.
        from server.broker.base import MovedEvents, Reseeded, ReseedOutcome
        from server.broker.reseed_script import RESEED

        keys = session_keys(session_id)
        script = self.client.register_script(RESEED)  # EVALSHA; reloaded by redis-py if lost
        outcome, top, epoch, *moved = await script(
            keys=[keys.seq, keys.epoch, keys.log, keys.snap, keys.replaced],
            args=[
                known.epoch,
                known.seq,
                new_epoch(),
                snapshot,
                self.history_size,
                "" if renew_from is None else renew_from,
                *(value for mark in marks for value in mark),
            ],
        )
        position, kind = LogPosition(int(top), epoch.decode()), ReseedOutcome(outcome.decode())
        agreed = int(moved[3]) if len(moved) > 3 and int(moved[3]) >= 0 else None
        if not moved or not moved[0]:
            return Reseeded(kind, position, agreed=agreed)
        events = MovedEvents(moved[0].decode(), int(moved[1]), int(moved[2]), position.epoch)
        return Reseeded(kind, position, events, agreed)

    def disruptions(self, session_id: str) -> int:
        # Every pub/sub reader sees a lost link at once (Redis dying closes its connections),
        # before any append can reach a Redis that came back.
        channels = self._channels
        if channels is None:
            return 0
        if isinstance(channels, SessionChannels):
            return channels.losses  # one link carries every session
        return channels.losses_for(channel_name(session_id))

    # --- the media relay (see ``Broker.claim_relay``) ----------------------------------------
    async def claim_relay(self, session_id: str, worker_id: str, ttl_ms: int) -> str:
        # The key carries the session's hash tag: one slot with the rest of the session.
        key = f"cb:{{{session_id}}}:relay"
        script = self.client.register_script(CLAIM_RELAY)  # EVALSHA; reloaded if lost
        holder = await script(keys=[key], args=[worker_id, ttl_ms])
        return cast(bytes, holder).decode()


# Take the claim if free (SET NX PX), refresh it if ours, and answer the holder: one step.
CLAIM_RELAY = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return ARGV[1] end
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return holder
"""
