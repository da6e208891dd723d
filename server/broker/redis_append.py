"""The ``redis://`` broker's appends, auto-pipelined on one connection of their own.

Every event goes through the append script, so its round trip is the broker's hot path. redis-py's
general client pays for each call: a connection taken from the pool and given back, a retry
wrapper, response callbacks. Here the appends issued during one event-loop turn are packed into
one write of EVALSHA commands on a dedicated connection, and one reader task takes the replies in
order (Redis answers a connection's commands in the order written) and hands each caller its
own. Several writes may be in flight at once; nobody waits for a batch to come back before the
next goes out. Commands go out in the order they were issued and Redis runs them in that order,
so appends land in the order of their calls (``RedisBroker.append`` says what a lost script
changes to that).

Failures keep the kinds redis-py's client raises: a connection that fails (refused, reset,
closed by a restarting Redis) or a reply that does not come within the connection's
``socket_timeout`` fails every append written on it and not yet answered with
``redis.exceptions.ConnectionError`` or ``TimeoutError``, and the connection is dropped; the next
append opens a new one. An error reply (``NOSCRIPT`` after Redis lost its scripts, an error of
the script) fails that append only, with the ``ResponseError`` redis-py would raise.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Any

from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import EncodableT

# Seconds a reply may take when the URL turned the socket timeout off (``socket_timeout=0``):
# an answer that never comes must fail its callers, never hang them. Otherwise the URL's
# ``socket_timeout`` (redis-py's default when the URL sets none) bounds each reply, as it bounds
# every command of the general client.
REPLY_TIMEOUT = 10.0

Command = tuple[EncodableT, ...]
Reply = asyncio.Future[Any]


def _failure(error: BaseException) -> RedisError:
    """A fresh exception per caller (one instance raised in many tasks would pile up their
    tracebacks), of the kind redis-py's client raises for the same failure."""
    kind = RedisTimeoutError if isinstance(error, RedisTimeoutError) else RedisConnectionError
    failure = kind(str(error) or type(error).__name__)
    failure.__cause__ = error
    return failure


class _Link:
    """One connection and the replies it owes, oldest first."""

    __slots__ = ("connection", "owed", "reader")

    def __init__(self, connection: AbstractConnection) -> None:
        self.connection = connection
        self.owed: deque[Reply] = deque()
        self.reader: asyncio.Task[None] | None = None


class AppendPipeline:
    """Commands written together per loop turn on one connection, answered in order."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._link: _Link | None = None
        self._queued: list[tuple[Command, Reply]] = []  # waiting for the next write
        self._writer: asyncio.Task[None] | None = None
        # Every reader still running, a dropped connection's too (it is about to see EOF).
        self._readers: set[asyncio.Task[None]] = set()
        self._closed = False

    async def evalsha(self, sha: str, keys: Sequence[str], args: Sequence[EncodableT]) -> Any:
        """The script's reply, as the general client's ``evalsha`` would give it."""
        return await self._call(("EVALSHA", sha, len(keys), *keys, *args))

    async def load_script(self, source: str) -> None:
        """SCRIPT LOAD, in line with the appends (after a ``NoScriptError``)."""
        await self._call(("SCRIPT", "LOAD", source))

    async def _call(self, command: Command) -> Any:
        if self._closed:
            raise RedisConnectionError("the append pipeline is closed")
        loop = asyncio.get_running_loop()
        reply: Reply = loop.create_future()
        self._queued.append((command, reply))
        if self._writer is None:
            # Runs on the next loop turn, after every append issued in this one was queued.
            self._writer = loop.create_task(self._write())
        try:
            return await reply
        except asyncio.CancelledError:
            # Not written yet: it never will be (see _write). Written: the reader still takes
            # its reply off the wire, in order, and drops it.
            reply.cancel()
            raise

    async def _write(self) -> None:
        try:
            while self._queued and not self._closed:
                link = await self._usable_link()
                batch, self._queued = self._queued, []
                # A caller cancelled before its command went out: it is never sent.
                batch = [(command, reply) for command, reply in batch if not reply.done()]
                if not batch:
                    continue
                link.owed.extend(reply for _, reply in batch)
                if link.reader is None:
                    link.reader = asyncio.get_running_loop().create_task(self._read(link))
                    self._readers.add(link.reader)
                    link.reader.add_done_callback(self._readers.discard)
                packed = link.connection.pack_commands(command for command, _ in batch)
                await link.connection.send_packed_command(packed, check_health=False)
        except Exception as error:  # connecting, packing or writing failed
            if self._link is not None:
                await self._break(self._link, error)
            self._fail_queued(error)
        finally:
            self._writer = None

    async def _usable_link(self) -> _Link:
        link = self._link
        if link is not None and not link.owed and await self._went_stale(link.connection):
            # Idle, yet the socket saw EOF or stray bytes: Redis closed it (a restart, a kill
            # of the client). Replaced before anything is written on it.
            await self._break(link, RedisConnectionError("Redis closed the append connection"))
            link = None
        if link is None:
            connection = self._new_connection()
            try:
                await connection.connect_check_health()  # what connect() runs, typed
            except BaseException:  # refused, timed out, or cancelled by close(): no socket left
                await connection.disconnect(nowait=True)
                raise
            link = self._link = _Link(connection)
        return link

    @staticmethod
    async def _went_stale(connection: AbstractConnection) -> bool:
        if not connection.is_connected:
            return True
        try:
            return bool(await connection.can_read())
        except (RedisError, OSError):
            return True

    def _new_connection(self) -> AbstractConnection:
        # Outside the pool, like the pub/sub connections: replies are matched to callers by
        # order, so nothing else may use this connection. Same protocol (RESP) and raw bytes as
        # the pool's connections.
        options = dict(self._pool.connection_kwargs)
        if "socket_timeout" in options and not options["socket_timeout"]:
            options["socket_timeout"] = REPLY_TIMEOUT
        connection: AbstractConnection = self._pool.connection_class(**options)
        return connection

    async def _read(self, link: _Link) -> None:
        """Hand out replies in the order their commands were written, while any are owed."""
        try:
            while link.owed:
                try:
                    # Bounded by the connection's socket_timeout: a reply that does not come
                    # raises redis-py's TimeoutError, and redis-py disconnects.
                    answer: Any = await link.connection.read_response()
                except ResponseError as refusal:  # this command's error; the connection is fine
                    answer = refusal
                if not link.owed:  # broken meanwhile: its callers have failed already
                    return
                reply = link.owed.popleft()
                if reply.done():  # its caller was cancelled; the reply still had to be read
                    continue
                if isinstance(answer, ResponseError):
                    reply.set_exception(answer)
                else:
                    reply.set_result(answer)
        except Exception as error:  # refused, reset, timed out, or a reply it cannot parse
            await self._break(link, error)
        finally:
            link.reader = None

    async def _break(self, link: _Link, error: BaseException) -> None:
        """The connection is done for: fail what it owes and close it (its reader, if any,
        then sees EOF and ends); the next call opens another."""
        if self._link is link:
            self._link = None
        while link.owed:
            reply = link.owed.popleft()
            if not reply.done():
                reply.set_exception(_failure(error))
        await link.connection.disconnect(nowait=True)  # a no-op if redis-py did it already

    def _fail_queued(self, error: BaseException) -> None:
        queued, self._queued = self._queued, []
        for _, reply in queued:
            if not reply.done():
                reply.set_exception(_failure(error))

    async def close(self) -> None:
        """Fail every append not answered yet and close the connection; no task outlives it."""
        self._closed = True
        link = self._link
        tasks = [*self._readers, *([self._writer] if self._writer is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        closed = RedisConnectionError("the Redis broker was closed")
        self._fail_queued(closed)
        if link is not None:
            await link.connection.disconnect()
            await self._break(link, closed)
