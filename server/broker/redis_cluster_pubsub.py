"""Sharded pub/sub on a Redis Cluster: a message published with SPUBLISH reaches only the
subscribers connected to the master that owns the channel's slot. So the broker keeps one
``SessionChannels`` (one connection, one reader, one idle probe) per master it has sessions on,
and subscribes each session's channel on the master that owns its slot.

redis-py's ``ClusterPubSub`` is not used: its reader polls the masters' connections one after
the other, each with the read timeout, so a quiet master delays a busy one; and it re-routes
channels only after some other command happened to refresh the slot map.

When a slot moves (resharding, or a replica promoted after its master failed), the old master
unsubscribes our connection from the slot's channels itself (SUNSUBSCRIBE), answers MOVED, or
stops answering. The channels are then told lost; this module refreshes the slot map and moves
each channel, with its subscribers, to the master that owns it now. Events published during
the move are lost here; replicas repair them from the stream by seq gaps, as after a reconnect.
A channel Redis unsubscribed whose slot the fresh map still puts on the same master (the slot
came back, or the map lags behind the move) is subscribed there again, at most about once per
``MOVE_RETRY`` while that master keeps refusing it.
"""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio.cluster import ClusterNode
from redis.exceptions import RedisClusterException, RedisError

from server.broker.redis_cluster import GatedRedisCluster, node_connection
from server.broker.redis_pubsub import ProbeTiming, SessionChannels, Subscriber
from server.cancelling import cancel_and_wait

log = logging.getLogger(__name__)

MOVE_RETRY = 0.5  # seconds between attempts to re-home lost channels (a failover takes a while)
MAX_MOVE_RETRY = 5.0


class ClusterChannels:
    def __init__(self, cluster: GatedRedisCluster, timing: ProbeTiming | None = None) -> None:
        self._cluster = cluster
        self._timing = timing
        self._masters: dict[str, SessionChannels] = {}  # node name -> its channels
        self._home: dict[bytes, str] = {}  # channel -> node name it is subscribed on
        self._lost: set[bytes] = set()
        self._mover: asyncio.Task[None] | None = None
        # Per channel, the ``_disruptions`` count at its last disruption. One counter for all
        # channels, so a channel's stamp never comes back to a value it had before.
        self._disruptions = 0
        self._stamps: dict[bytes, int] = {}
        # When each channel was last subscribed again on the master that dropped it: a slot
        # map that lags behind a move must not make that a loop of refusals.
        self._asked_again: dict[bytes, float] = {}

    def losses_for(self, name: bytes) -> int:
        """Changes whenever the link that carries ``name`` may have met another Redis; a
        channel not subscribed here reads the newest count (its first subscription may
        follow a disruption the caller did not see)."""
        return self._stamps.get(name, self._disruptions)

    async def start(self) -> None:
        pass  # a master's connection opens with its first session

    async def close(self) -> None:
        if self._mover is not None:
            await cancel_and_wait(self._mover)
        for channels in self._masters.values():
            await channels.close()
        self._masters.clear()
        self._home.clear()
        self._stamps.clear()
        self._lost.clear()
        self._asked_again.clear()

    async def add(self, name: bytes, subscriber: Subscriber) -> None:
        self._stamps.setdefault(name, self._disruptions)
        try:
            home = self._home.get(name)
            if home is None or home not in self._masters:
                # A channel already subscribed stays where it is until a move says otherwise.
                home = await self._master_for(name)
                self._home[name] = home
            channels = self._masters[home]
            if not channels.carries(name):
                # Joining a link whose earlier losses it was not counted in: if any link was
                # lost since its stamp (this one, maybe), it is checked again. No await from
                # here to the adoption inside ``add``.
                self._stamps[name] = self._disruptions
            await channels.add(name, subscriber)
        except BaseException:
            # Moved meanwhile, the channel (with this subscriber) may be on another master.
            await self.remove(name, subscriber)
            home = self._home.get(name)
            carrier = self._masters.get(home) if home is not None else None
            if carrier is None or not carrier.carries(name):
                self._stamps.pop(name, None)  # subscribed nowhere: nothing to count for it
                self._home.pop(name, None)
                self._asked_again.pop(name, None)
            raise

    async def remove(self, name: bytes, subscriber: Subscriber) -> None:
        home = self._home.get(name)
        channels = self._masters.get(home) if home is not None else None
        if channels is None:
            return
        await channels.remove(name, subscriber)
        # Unless subscribed again meanwhile, here or (moved) elsewhere.
        if self._home.get(name) == home and not channels.carries(name):
            self._home.pop(name, None)
            self._stamps.pop(name, None)
            self._asked_again.pop(name, None)

    async def _master_for(self, name: bytes) -> str:
        node = self._owner(name)
        if node.name not in self._masters:
            channels = SessionChannels(
                lambda: node_connection(node),
                sharded=True,
                timing=self._timing,
                on_lost=self._on_lost,
                on_disrupted=self._on_disrupted,
            )
            await channels.start()
            if node.name in self._masters:  # another subscribe connected first; keep one
                await channels.close()
            else:
                self._masters[node.name] = channels
                # A first link to this master: it may have restarted, or been promoted from a
                # replica that lagged, since what the caller read from it before subscribing.
                # The channels that join the link take the new count (``add``).
                self._on_disrupted([])
        return node.name

    def _owner(self, name: bytes) -> ClusterNode:
        node = self._cluster.get_node_from_key(name.decode())
        if node is None:
            raise RedisError(f"no master serves {name!r}")
        return node

    def _on_disrupted(self, names: list[bytes]) -> None:
        self._disruptions += 1
        for name in names:
            if name in self._stamps:
                self._stamps[name] = self._disruptions

    # --- moving channels after a slot moved -----------------------------------------------------
    def _on_lost(self, names: list[bytes]) -> None:
        # Called by a reader, which must not wait: the move runs in a task of its own.
        self._lost.update(names)
        if self._mover is None or self._mover.done():
            self._mover = asyncio.create_task(self._move_lost(), name="redis-cluster-rehome")

    async def _move_lost(self) -> None:
        delay = MOVE_RETRY
        while self._lost:
            try:
                await self._cluster.nodes_manager.initialize()  # the slot map, fresh
                for name in list(self._lost):
                    self._lost.discard(name)
                    await self._rehome(name)
            except (RedisError, RedisClusterException, OSError) as error:  # the map: not Redis's
                log.warning("could not re-home lost channels (%s); retrying in %.1fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_MOVE_RETRY)

    def _subscribe_again(self, home: str, name: bytes) -> None:
        channels = self._masters[home]
        if not channels.dropped(name):
            return  # its link was lost: the reader resubscribes it
        now = asyncio.get_running_loop().time()
        if now - self._asked_again.get(name, float("-inf")) < MOVE_RETRY:
            self._lost.add(name)
            raise RedisError(f"the slot map still places {name!r} on {home}")  # after a delay
        channels.subscribe_again(name)
        self._asked_again[name] = now

    async def _rehome(self, name: bytes) -> None:
        old = self._home.get(name)
        if old is None:
            return  # closed meanwhile
        try:
            new = await self._master_for(name)
        except BaseException:
            self._lost.add(name)  # tried again after the retry delay
            raise
        if new == old:
            # After a lost link its reader resubscribes. After Redis unsubscribed it (the slot
            # left and came back, or the map lags behind a move) it is asked for again here;
            # refused again (MOVED), it comes back as lost.
            self._subscribe_again(old, name)
            return
        self._asked_again.pop(name, None)
        channel = self._masters[old].release(name)
        if channel is not None and channel.subscribers:
            # Counted as a disruption: the new master's link may be older than its last restart
            # (a failover's promoted replica, restarted before this worker heard of it).
            self._on_disrupted([name])
            self._masters[new].adopt(name, channel.subscribers, channel.ready)
            self._home[name] = new
            log.info("session channel %r moved to %s", name, new)
