"""The idle probe of ``redis://``'s pub/sub connection: a subscription that died without a word
(a NAT or firewall forgot it, a peer vanished without closing) is found by an unanswered PING,
and the broker reconnects and resubscribes by itself.

A silent death is made here with a real TCP relay between the broker and a real Redis that,
when told, keeps every open connection up but stops passing bytes: no FIN, no RST, no error,
exactly what a dropped NAT entry looks like from the client. New connections pass."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from server.broker.base import Broker
from server.broker.redis import RedisBroker
from server.broker.redis_pubsub import ProbeTiming
from tests.broker.conftest import BrokerFactory, Recorder
from tests.redis_server import RedisServer

FAST = ProbeTiming(idle=0.2, answer=0.3)
ATTEMPTS = 50
PAUSE = 0.1  # seconds each attempt waits for its event


class SilentRelay:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.connections = 0
        # When set, a connection is closed as soon as its client subscribes: a node that lets
        # clients connect and drops them before it answers anything they came for.
        self.drop_subscribers = False
        self.accepted = asyncio.Event()  # set on each connection accepted
        self._muted: list[asyncio.Event] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def mute_open_connections(self) -> None:
        for muted in self._muted:
            muted.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.accepted.set()
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        muted = asyncio.Event()
        self._muted.append(muted)
        self._writers += [writer, up_writer]
        client_side = asyncio.create_task(self._pass(reader, up_writer, muted, writer))
        server_side = asyncio.create_task(self._pass(up_reader, writer, muted))
        self._tasks.update((client_side, server_side))

    async def _pass(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        muted: asyncio.Event,
        client: asyncio.StreamWriter | None = None,
    ) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                if client is not None and self.drop_subscribers and b"SUBSCRIBE" in data:
                    client.close()  # and the upstream side below: nothing was passed on
                    break
                if not muted.is_set():  # muted: swallowed, and the socket stays open
                    sink.write(data)
                    await sink.drain()
        with contextlib.suppress(OSError):
            sink.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._writers:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if self._server is not None:
            await self._server.wait_closed()


async def append_until_heard(writer: Broker, heard: Recorder, count: int) -> None:
    """Append to s1 until ``heard`` has ``count`` deliveries: the ones appended while its
    subscription was down never reach it."""
    for attempt in range(ATTEMPTS):
        await writer.append("s1", f"after {attempt}".encode())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(heard.wait_for(count), PAUSE)
            return


async def relayed_broker(
    redis_server: RedisServer, relay: SilentRelay, probe: ProbeTiming = FAST
) -> RedisBroker:
    port = await relay.start()
    broker = RedisBroker(f"redis://127.0.0.1:{port}/0", probe=probe)
    await broker.start()
    return broker


async def test_a_silently_dead_subscription_is_found_and_replaced(
    make_redis_broker: BrokerFactory,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer, relay = await make_redis_broker(), SilentRelay(redis_server.port)
    worker = await relayed_broker(redis_server, relay)
    try:
        heard = Recorder()
        await worker.subscribe("s1", heard)
        await writer.append("s1", b"before")
        await heard.wait_for(1)
        opened = relay.connections
        with caplog.at_level(logging.WARNING, logger="server.broker"):
            relay.mute_open_connections()
            # Only the writer talks to Redis, straight, never through the relay: nothing but
            # the worker's own probe can notice that its subscription is dead.
            await append_until_heard(writer, heard, 2)
        assert len(heard.received) >= 2, "no event arrived after the connection went silent"
        assert "no answer to PING" in caplog.text
        assert relay.connections > opened  # a new connection, subscribed again
    finally:
        await worker.close()
        await relay.close()


async def test_a_quiet_live_subscription_is_probed_and_kept(
    make_redis_broker: BrokerFactory, redis_server: RedisServer
) -> None:
    """Answered probes keep the connection: nothing reconnects while Redis answers PING."""
    writer, relay = await make_redis_broker(), SilentRelay(redis_server.port)
    worker = await relayed_broker(redis_server, relay)
    try:
        heard = Recorder()
        await worker.subscribe("s1", heard)
        opened = relay.connections
        await asyncio.sleep(5 * (FAST.idle + FAST.answer))  # several probe rounds, all quiet
        await writer.append("s1", b"still here")
        assert [d[2] for d in await heard.wait_for(1)] == [b"still here"]
        assert relay.connections == opened
    finally:
        await worker.close()
        await relay.close()


async def test_a_killed_subscription_comes_back_by_itself(
    make_redis_broker: BrokerFactory, redis_server: RedisServer
) -> None:
    """Redis closes the pub/sub connection (CLIENT KILL TYPE pubsub); the next events arrive
    with no other traffic from the worker to set things moving."""
    worker, writer = await make_redis_broker(), await make_redis_broker()
    heard = Recorder()
    await worker.subscribe("s1", heard)
    admin = await make_redis_broker()
    assert isinstance(admin, RedisBroker)
    assert await admin.client.client_kill_filter(_type="pubsub") >= 1
    await append_until_heard(writer, heard, 1)
    assert heard.received, "no event arrived after Redis closed the subscription"


async def test_a_link_dropped_before_it_answers_counts_once(
    make_redis_broker: BrokerFactory, redis_server: RedisServer
) -> None:
    """A lost link counts as a disruption once (``Broker.disruptions``), and a new one once it
    answers. Links that are made and dropped before Redis answered anything delivered
    nothing: retrying them for a while must not make every session check its history again
    on each retry."""
    writer, relay = await make_redis_broker(), SilentRelay(redis_server.port)
    # Probes slow enough that a busy machine never takes a live link for a dead one: the
    # counts below are exact.
    worker = await relayed_broker(redis_server, relay, ProbeTiming(idle=5.0, answer=5.0))
    admin = await make_redis_broker()
    assert isinstance(admin, RedisBroker)
    try:
        heard = Recorder()
        await worker.subscribe("s1", heard)
        await writer.append("s1", b"before")
        await heard.wait_for(1)
        before = worker.disruptions("s1")
        relay.drop_subscribers = True
        opened = relay.connections
        assert await admin.client.client_kill_filter(_type="pubsub") >= 1
        async with asyncio.timeout(10):
            while relay.connections < opened + 4:  # four links made and dropped at least
                relay.accepted.clear()
                await relay.accepted.wait()
        assert worker.disruptions("s1") == before + 1  # the link lost, not the retries
        relay.drop_subscribers = False
        await append_until_heard(writer, heard, 2)
        assert len(heard.received) >= 2, "no event arrived after the links came back"
        assert worker.disruptions("s1") == before + 2  # and the link that answered
    finally:
        await worker.close()
        await relay.close()
