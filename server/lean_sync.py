"""An event and a queue for per-connection use: nothing allocated while nobody waits.

``asyncio.Event`` and ``asyncio.Queue`` each hold ``collections.deque`` objects (one for an
event; three, plus an event, for a queue) of about 700 bytes apiece, from creation on. Every
WebSocket connection had two events and a queue: some 5 KB, a sixth of what an idle joined
connection cost the server (docs/performance.md, "Idle connections"). These keep a plain list
of waiters, made only when someone waits, and otherwise behave the same for one event loop.

Each remembers the loop of its first wait: on Python 3.11 every ``asyncio.get_running_loop()``
is a ``getpid()`` system call, and a connection's inbound queue is waited on once per message
(4 % of the server's CPU in the chat fan-out benchmark). One object serves one connection, on
the loop that accepted it.
"""

from __future__ import annotations

import asyncio
from typing import Generic, Literal, TypeVar

T = TypeVar("T")


def _wake_first(waiters: list[asyncio.Future[None]] | None) -> None:
    for waiter in waiters or ():
        if not waiter.done():
            waiter.set_result(None)
            return


async def _wait_on(waiters: list[asyncio.Future[None]], loop: asyncio.AbstractEventLoop) -> None:
    waiter = loop.create_future()
    waiters.append(waiter)
    try:
        await waiter
    finally:
        waiters.remove(waiter)


class LeanEvent:
    """``asyncio.Event``'s ``set``, ``clear``, ``is_set`` and ``wait``."""

    __slots__ = ("_loop", "_waiters", "flag")

    def __init__(self) -> None:
        self.flag = False  # what is_set() says, read directly where every call counts
        self._waiters: list[asyncio.Future[None]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def is_set(self) -> bool:
        return self.flag

    def set(self) -> None:
        """Wake every waiter (each one that wakes finds the event set, as with asyncio's)."""
        if self.flag:
            return
        self.flag = True
        for waiter in self._waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self.flag = False

    async def wait(self) -> Literal[True]:
        if self.flag:
            return True
        if self._waiters is None:
            self._waiters = []
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        await _wait_on(self._waiters, self._loop)
        return True


class LeanQueue(Generic[T]):
    """An unbounded ``asyncio.Queue``'s ``put_nowait``, ``get``, ``empty`` and ``qsize``."""

    __slots__ = ("_getters", "_items", "_loop")

    def __init__(self) -> None:
        # A WebSocket's inbound queue holds one message at a time (reading pauses until the
        # app takes it), so a list's pop(0) costs nothing a deque would save.
        self._items: list[T] = []
        self._getters: list[asyncio.Future[None]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        _wake_first(self._getters)

    async def get(self) -> T:
        while not self._items:
            if self._getters is None:
                self._getters = []
            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            try:
                await _wait_on(self._getters, self._loop)
            except asyncio.CancelledError:
                # Like asyncio.Queue: a wake-up this getter will not use goes to the next one.
                if self._items:
                    _wake_first(self._getters)
                raise
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)
