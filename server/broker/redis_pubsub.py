"""The ``redis://`` broker's live delivery: one pub/sub connection per broker, one channel per
session (never one global channel, never PSUBSCRIBE, so a worker only receives and decodes the
sessions it hosts), and one reader task that decodes each message once and calls the session's
listeners in order.

The reader never awaits anything but the socket: a reader that stalls lets the pub/sub output
buffer grow in Redis until Redis drops the connection (32 MB by default). Listeners are sync
and fast (they hand events to bounded per-connection queues).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import msgpack
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from server.broker.base import EventListener, VolatileListener

log = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT = 10.0  # seconds for Redis to confirm a SUBSCRIBE
POLL_INTERVAL = 5.0  # seconds the reader waits for a message before looking again
MAX_BACKOFF = 5.0  # seconds between reconnect attempts at most


@dataclass(eq=False, slots=True)  # compared by identity: one per subscription
class Subscriber:
    on_event: EventListener
    on_volatile: VolatileListener | None


@dataclass(slots=True)
class _Channel:
    ready: asyncio.Future[None]
    subscribers: list[Subscriber] = field(default_factory=list)


class ChannelSubscription:
    def __init__(self, channels: SessionChannels, name: bytes, subscriber: Subscriber) -> None:
        self._channels = channels
        self._name = name
        self._subscriber = subscriber
        self._closed = False

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._channels.remove(self._name, self._subscriber)


# A session channel carries two shapes of message, told apart by length so that neither needs
# a type field: ``[seq, epoch, payload]`` for a logged event (packed by the append script) and
# ``[payload]`` for a volatile message (packed by ``encode_volatile``).
Delivery = tuple[int, str, bytes] | bytes


def encode_volatile(payload: bytes) -> bytes:
    packed: bytes = msgpack.packb([payload], use_bin_type=True)
    return packed


def decode_delivery(data: object) -> Delivery | None:
    """Lua's cmsgpack packs every string as msgpack str, binary or not, so messages are
    unpacked raw and the epoch decoded here."""
    try:
        unpacked = msgpack.unpackb(data, raw=True)
        if isinstance(unpacked, list) and len(unpacked) == 1 and isinstance(unpacked[0], bytes):
            return unpacked[0]
        seq, epoch, payload = unpacked
        if isinstance(seq, int) and isinstance(epoch, bytes) and isinstance(payload, bytes):
            return seq, epoch.decode(), payload
    except Exception:  # malformed input must not kill the reader; logged below
        pass
    log.error("undecodable message on a session channel; dropped")
    return None


class SessionChannels:
    def __init__(self, client: Redis) -> None:
        self._pubsub: PubSub = client.pubsub()
        self._channels: dict[bytes, _Channel] = {}
        # One future per SUBSCRIBE sent, resolved by its confirmation (they arrive in order).
        self._acks: dict[bytes, deque[asyncio.Future[None]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Connected up front: the reader reads before the first session subscribes.
        await cast(Callable[[], Awaitable[None]], self._pubsub.connect)()  # untyped in redis-py
        self._reader = asyncio.create_task(self._read(), name="redis-broker-reader")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await cast(Callable[[], Awaitable[None]], self._pubsub.aclose)()  # untyped in redis-py
        self._channels.clear()

    async def add(self, name: bytes, subscriber: Subscriber) -> ChannelSubscription:
        """Returns once Redis confirmed the subscription: every event appended from then on
        reaches ``subscriber``, so a caller may subscribe, then read the history it missed."""
        channel = self._channels.get(name)
        first = channel is None
        if channel is None:
            channel = _Channel(asyncio.get_running_loop().create_future())
            self._channels[name] = channel
        # Listen before the confirmation: the reader may deliver events right after it.
        channel.subscribers.append(subscriber)
        try:
            if first:
                await self._subscribe(name, channel.ready)
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
                await asyncio.shield(channel.ready)
        except BaseException:
            await self.remove(name, subscriber)
            raise
        return ChannelSubscription(self, name, subscriber)

    async def _subscribe(self, name: bytes, ready: asyncio.Future[None]) -> None:
        acks = self._acks.setdefault(name, deque())
        acks.append(ready)
        try:
            await self._pubsub.subscribe(name)
        except BaseException:
            # Never sent, so never confirmed: a later SUBSCRIBE's confirmation is not ours.
            acks.remove(ready)
            raise

    async def remove(self, name: bytes, subscriber: Subscriber) -> None:
        channel = self._channels.get(name)
        if channel is None or subscriber not in channel.subscribers:
            return
        channel.subscribers.remove(subscriber)
        if not channel.subscribers:
            del self._channels[name]
            try:
                await self._pubsub.unsubscribe(name)
            except RedisError:  # gone with the connection anyway; stray messages are ignored
                log.warning("could not unsubscribe from %r", name)

    async def _read(self) -> None:
        backoff = 0.1
        while True:
            try:
                message = await self._pubsub.get_message(timeout=POLL_INTERVAL)
            except (RedisError, OSError):
                # redis-py reconnects on the next read and resubscribes every channel; events
                # published meanwhile are lost here and repaired from the stream by seq gaps.
                log.warning("pub/sub connection lost; retrying in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 0.1
            if message is not None:
                try:
                    self._dispatch(message)
                except Exception:  # a bug here must not stop delivery to every session
                    log.exception("pub/sub dispatch failed")

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind, name = message["type"], message["channel"]
        if kind == "subscribe":
            self._confirm(name)
        elif kind == "message":
            channel = self._channels.get(name)
            delivery = decode_delivery(message["data"]) if channel else None
            if channel is None or delivery is None:
                return
            if isinstance(delivery, bytes):
                self._deliver_volatile(channel, delivery)
            else:
                self._deliver(channel, *delivery)

    def _confirm(self, name: bytes) -> None:
        # Resubscriptions after a reconnect are confirmed too, with no future waiting.
        acks = self._acks.get(name)
        if acks:
            future = acks.popleft()
            if not future.done():
                future.set_result(None)
        if not acks:
            self._acks.pop(name, None)

    @staticmethod
    def _deliver(channel: _Channel, seq: int, epoch: str, payload: bytes) -> None:
        for subscriber in list(channel.subscribers):
            try:
                subscriber.on_event(seq, epoch, payload)
            except Exception:  # one broken listener must not starve the others
                log.exception("event listener failed", extra={"seq": seq})

    @staticmethod
    def _deliver_volatile(channel: _Channel, payload: bytes) -> None:
        for subscriber in list(channel.subscribers):
            if subscriber.on_volatile is None:
                continue
            try:
                subscriber.on_volatile(payload)
            except Exception:  # as above
                log.exception("volatile listener failed")
