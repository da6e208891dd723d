"""The ``redis://`` broker's live delivery: one pub/sub connection per Redis node, one channel per
session (never one global channel, never PSUBSCRIBE, so a worker only receives and decodes the
sessions it hosts), and one reader task per connection that decodes each message once and calls
the session's listeners in order. In a Cluster the same code speaks sharded pub/sub
(SSUBSCRIBE) on each master; ``redis_cluster_pubsub`` routes channels to masters.

The connection is a bare redis-py ``Connection`` rather than redis-py's ``PubSub``: ``PubSub``
reconnects and resubscribes behind our back, and its batched SSUBSCRIBE on reconnect is refused
(CROSSSLOT) when one master serves several slots. Here the reader alone reconnects, then
resubscribes every channel, one command each.

The reader never awaits anything but the socket: a reader that stalls lets the pub/sub output
buffer grow in Redis until Redis drops the connection (32 MB by default). Listeners are sync
and fast (they hand events to bounded per-connection queues).

Subscriptions can die silently (a NAT forgets the connection, a peer vanishes without a FIN):
after ``ProbeTiming.idle`` quiet seconds the reader sends PING (allowed while subscribed; RESP2
answers ``pong``); unanswered after ``ProbeTiming.answer`` seconds, the connection counts as
dead and the reader reconnects and resubscribes. Events published meanwhile are lost here and
repaired from the stream by seq gaps.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, cast

from redis.asyncio.connection import AbstractConnection
from redis.crc import key_slot
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MovedError, RedisError, ResponseError

from server import metrics
from server.broker.base import EventListener, VolatileListener
from server.broker.redis_scripts import decode_delivery

log = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT = 10.0  # seconds for Redis to confirm a SUBSCRIBE
FIRST_BACKOFF = 0.1  # seconds before the first reconnect attempt
MAX_BACKOFF = 5.0  # seconds between reconnect attempts at most
CLOSE_TIMEOUT = 2.0  # seconds ``close`` waits for the reader, then for the disconnect

ConnectionFactory = Callable[[], AbstractConnection]
# Told the channels this connection can no longer serve: unsubscribed by Redis (their slot moved
# to another master), refused with MOVED, or on a connection that failed. Sync, like listeners.
LostChannels = Callable[[list[bytes]], None]
# Told the channels whose events may have come from a Redis that restarted or failed over since
# they were last checked (``Broker.disruptions``): a link that answered was lost, a new link
# answered, or a channel's slot moved. Sync, and before any event of the new link is delivered.
DisruptedChannels = Callable[[list[bytes]], None]


@dataclass(frozen=True, slots=True)
class ProbeTiming:
    idle: float = 15.0  # seconds without any message before the reader sends PING
    answer: float = 5.0  # seconds a PING may go unanswered before the connection counts as dead


@dataclass(frozen=True, slots=True)
class _Dialect:
    """Plain and sharded pub/sub differ only in their words."""

    subscribe: str
    unsubscribe: str
    message: bytes
    confirmed: bytes
    ended: bytes


PLAIN = _Dialect("SUBSCRIBE", "UNSUBSCRIBE", b"message", b"subscribe", b"unsubscribe")
SHARDED = _Dialect("SSUBSCRIBE", "SUNSUBSCRIBE", b"smessage", b"ssubscribe", b"sunsubscribe")


@dataclass(eq=False, slots=True)  # compared by identity: one per subscription
class Subscriber:
    on_event: EventListener
    on_volatile: VolatileListener | None


class ChannelSet(Protocol):
    """Where subscriptions live: one master's connection, or a Cluster's masters."""

    async def add(self, name: bytes, subscriber: Subscriber) -> None: ...

    async def remove(self, name: bytes, subscriber: Subscriber) -> None: ...


class ChannelSubscription:
    def __init__(self, channels: ChannelSet, name: bytes, subscriber: Subscriber) -> None:
        self._channels = channels
        self._name = name
        self._subscriber = subscriber
        self._closed = False

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._channels.remove(self._name, self._subscriber)


@dataclass(slots=True)
class _Channel:
    ready: asyncio.Future[None]
    subscribers: list[Subscriber] = field(default_factory=list)


class SessionChannels:
    def __init__(
        self,
        connect: ConnectionFactory,
        *,
        sharded: bool = False,
        timing: ProbeTiming | None = None,
        on_lost: LostChannels | None = None,
        on_disrupted: DisruptedChannels | None = None,
    ) -> None:
        self._conn = connect()
        self._dialect = SHARDED if sharded else PLAIN
        self._timing = timing or ProbeTiming()
        self._on_lost = on_lost
        self._channels: dict[bytes, _Channel] = {}
        # One future per SUBSCRIBE sent, resolved by its confirmation (they arrive in order).
        self._acks: dict[bytes, deque[asyncio.Future[None]]] = {}
        self._leaving: Counter[bytes] = Counter()  # UNSUBSCRIBEs sent, not yet confirmed
        self._dropped: set[bytes] = set()  # unsubscribed by Redis itself, or refused (MOVED)
        self._live = False  # connected, and every channel's SUBSCRIBE sent on this connection
        # The link answered since it was last (re)made: only such a link can have delivered
        # anything, so only its loss counts. An endpoint that accepts connections and drops
        # them at once (a dying or fenced node) must not count on every retry.
        self._answered = False
        self._recount = False  # a new link after a loss: counted once it answers
        # Links lost or renewed, slots moved: Redis may have restarted or failed over meanwhile
        # (``Broker.disruptions``).
        self._losses = 0
        self._on_disrupted = on_disrupted
        self._backoff = FIRST_BACKOFF
        self._reader: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()

    @property
    def losses(self) -> int:
        return self._losses

    def carries(self, name: bytes) -> bool:
        return name in self._channels

    def subscribe_again(self, name: bytes) -> None:
        """Subscribe once more a channel Redis unsubscribed or refused here (its slot left
        and came back, or the caller's slot map says it never left)."""
        if name not in self._dropped or name not in self._channels:
            return
        self._dropped.discard(name)
        if self._live and self._conn.is_connected:  # else the reader resubscribes it
            self._send_soon([self._dialect.subscribe, name])

    async def start(self) -> None:
        await self._resubscribe()  # connected up front: fail at startup when Redis is absent
        self._reader = asyncio.create_task(self._read(), name="redis-broker-reader")

    async def close(self) -> None:
        """Stop reading and disconnect, in ``CLOSE_TIMEOUT`` at most per step: a reader
        cancelled inside redis-py's read right after Redis restarted was once seen to take
        over a minute to unwind, and a worker's shutdown must not hang on it."""
        for task in list(self._sends):
            task.cancel()
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            await asyncio.wait({reader}, timeout=CLOSE_TIMEOUT)
            if not reader.done():
                log.warning("pub/sub reader still unwinding at close; not waiting for it")
        self._live = False
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._conn.disconnect()
        except (TimeoutError, RedisError, OSError) as error:
            log.warning("pub/sub connection not closed cleanly (%r)", error)
        self._channels.clear()

    async def add(self, name: bytes, subscriber: Subscriber) -> None:
        """Returns once Redis confirmed the subscription: every event appended from then on
        reaches ``subscriber``, so a caller may subscribe, then read the history it missed."""
        channel = self._channels.get(name)
        if channel is None:
            channel = self.adopt(name, [])
        # Listen before the confirmation: the reader may deliver events right after it.
        channel.subscribers.append(subscriber)
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
                await asyncio.shield(channel.ready)
        except BaseException:
            await self.remove(name, subscriber)
            raise

    def adopt(
        self,
        name: bytes,
        subscribers: list[Subscriber],
        ready: asyncio.Future[None] | None = None,
    ) -> _Channel:
        """Take on a channel (new, or moved here from another master) and subscribe to it.

        ``ready``: the moved channel's confirmation, which a subscribe may still wait for:
        the confirmation here completes it."""
        channel = self._channels.get(name)
        if channel is not None:
            channel.subscribers.extend(subscribers)
            if ready is not None and not ready.done():
                waiting = ready  # its subscribe completes with the channel's here
                channel.ready.add_done_callback(lambda _: _resolve(waiting))
            return channel
        if ready is None or ready.done():
            ready = asyncio.get_running_loop().create_future()
        channel = _Channel(ready, list(subscribers))
        self._channels[name] = channel
        if self._live and self._conn.is_connected:
            # Else the reader is reconnecting and subscribes every channel once it is back.
            self._acks.setdefault(name, deque()).append(channel.ready)
            self._send_soon([self._dialect.subscribe, name])
        return channel

    def release(self, name: bytes) -> _Channel | None:
        """Forget a channel Redis no longer serves here (no UNSUBSCRIBE: it is gone already)."""
        self._dropped.discard(name)
        self._acks.pop(name, None)  # its confirmation will come from the master it moves to
        return self._channels.pop(name, None)

    def dropped(self, name: bytes) -> bool:
        return name in self._dropped

    async def remove(self, name: bytes, subscriber: Subscriber) -> None:
        channel = self._channels.get(name)
        if channel is None or subscriber not in channel.subscribers:
            return
        channel.subscribers.remove(subscriber)
        if channel.subscribers:
            return
        del self._channels[name]
        self._dropped.discard(name)
        if self._live and self._conn.is_connected:
            self._leaving[name] += 1
            try:
                await self._conn.send_command(self._dialect.unsubscribe, name, check_health=False)
            except RedisError:  # gone with the connection anyway; stray messages are ignored
                log.warning("could not unsubscribe from %r", name)

    def _send_soon(self, command: list[str | bytes]) -> None:
        # A write of a few bytes: done in a task so that adopt() stays sync for the callers
        # that move channels between masters in one step.
        task = asyncio.create_task(self._send(command))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send(self, command: list[str | bytes]) -> None:
        try:
            await self._conn.send_command(*command, check_health=False)
        except RedisError:  # the reader sees the broken connection and resubscribes
            log.warning("could not send %s; the reader will resubscribe", command[0])

    # --- the reader ------------------------------------------------------------------------------
    async def _read(self) -> None:
        while True:
            try:
                if not self._live:
                    await self._resubscribe()
                    metrics.REDIS_RECONNECTS.inc()  # only after a loss: start() connects first
                    # Counted again once it answers (``_pump``): Redis may have restarted once
                    # more during the backoff, after replicas were checked against the instance
                    # that came back first.
                    self._recount = True
                await self._pump()
            except (RedisError, OSError) as error:
                metrics.REDIS_PUBSUB_ERRORS.inc()
                # Once per link lost, not per failed retry: a master gone for good (its slots
                # moved elsewhere) must not mark every session unchecked every few seconds.
                if self._answered:
                    self._disrupted(list(self._channels))
                self._answered = False
                self._live = False
                await self._conn.disconnect(nowait=True)
                log.warning("pub/sub connection lost (%s); retrying in %.1fs", error, self._backoff)
                if self._on_lost is not None and self._channels:
                    self._on_lost(list(self._channels))  # a Cluster may have moved them
                await asyncio.sleep(self._backoff)
                self._backoff = min(self._backoff * 2, MAX_BACKOFF)

    async def _resubscribe(self) -> None:
        await self._conn.disconnect(nowait=True)  # a fresh socket: no half-known state
        await cast(Callable[[], Awaitable[None]], self._conn.connect)()  # untyped in redis-py
        self._acks.clear()
        self._leaving.clear()
        self._dropped.clear()  # every channel is subscribed below
        for name, channel in self._channels.items():
            if not channel.ready.done():
                self._acks.setdefault(name, deque()).append(channel.ready)
        commands: list[list[str | bytes]] = [
            [self._dialect.subscribe, name] for name in self._channels
        ]
        self._live = True  # from here on, adopt() sends its own SUBSCRIBE
        if commands:  # one write; in a Cluster one SSUBSCRIBE per channel (slots differ)
            await self._conn.send_packed_command(self._conn.pack_commands(commands), False)

    async def _pump(self) -> None:
        probing = False
        while True:
            wait = self._timing.answer if probing else self._timing.idle
            try:
                reply = await self._conn.read_response(timeout=wait, push_request=True)
            except ResponseError as error:  # an error reply is about one command, not the link
                self._refused(error)
                continue
            if reply is None:  # nothing for ``wait`` seconds
                if probing:
                    raise RedisConnectionError(f"no answer to PING within {wait:.1f}s")
                await self._conn.send_command("PING", check_health=False)
                probing = True
                continue
            probing = False  # any traffic shows the connection is alive
            self._backoff = FIRST_BACKOFF
            if not self._answered:
                self._answered = True
                if self._recount:  # before this reply's event, if it is one, is delivered
                    self._recount = False
                    self._disrupted(list(self._channels))
            try:
                self._dispatch(reply)
            except Exception:  # a bug here must not stop delivery to every session
                log.exception("pub/sub dispatch failed")

    def _disrupted(self, names: list[bytes]) -> None:
        self._losses += 1
        if self._on_disrupted is not None:
            self._on_disrupted(names)

    def _refused(self, error: ResponseError) -> None:
        # redis-py strips the word MOVED from the message: the error's class tells.
        if isinstance(error, MovedError) and self._on_lost is not None:
            # An SSUBSCRIBE reached a master that no longer serves the channel's slot.
            moved = [n for n in self._channels if key_slot(n) == error.slot_id]
            self._dropped.update(moved)
            self._disrupted(moved)  # the slot's new master may lack the old one's last writes
            self._on_lost(moved)
        else:
            # It names no channel (CLUSTERDOWN for one slot, an ACL refusal): starting the
            # link over would refuse it again and take every other session's events with it.
            log.error("Redis refused a pub/sub command: %s", error)

    def _dispatch(self, reply: object) -> None:
        if not isinstance(reply, list) or len(reply) < 3:
            return  # ``pong`` answers our probe: nothing to do
        kind, name, data = reply[0], reply[1], reply[2]
        if kind == self._dialect.message:
            channel = self._channels.get(name)
            delivery = decode_delivery(data) if channel else None
            if channel is None or delivery is None:
                return
            if isinstance(delivery, bytes):
                _deliver_volatile(channel.subscribers, delivery)
            else:
                _deliver(channel.subscribers, *delivery)
        elif kind == self._dialect.confirmed:
            self._confirm(name)
        elif kind == self._dialect.ended:
            self._ended(name)

    def _confirm(self, name: bytes) -> None:
        acks = self._acks.get(name)
        if acks:
            future = acks.popleft()
            if not future.done():
                future.set_result(None)
        if not acks:
            self._acks.pop(name, None)

    def _ended(self, name: bytes) -> None:
        if self._leaving[name] > 0:
            self._leaving[name] -= 1  # the confirmation of our own UNSUBSCRIBE
            if not self._leaving[name]:
                del self._leaving[name]
        elif name in self._channels and self._on_lost is not None:
            # Redis unsubscribed us itself: in a Cluster, the channel's slot left this master.
            self._dropped.add(name)
            self._disrupted([name])  # as for MOVED
            self._on_lost([name])


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _deliver(subscribers: list[Subscriber], seq: int, epoch: str, payload: bytes) -> None:
    for subscriber in list(subscribers):
        try:
            subscriber.on_event(seq, epoch, payload)
        except Exception:  # one broken listener must not starve the others
            log.exception("event listener failed", extra={"seq": seq})


def _deliver_volatile(subscribers: list[Subscriber], payload: bytes) -> None:
    for subscriber in list(subscribers):
        if subscriber.on_volatile is None:
            continue
        try:
            subscriber.on_volatile(payload)
        except Exception:  # as above
            log.exception("volatile listener failed")
