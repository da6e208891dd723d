"""LeanEvent and LeanQueue behave like asyncio.Event and Queue where the server uses them."""

from __future__ import annotations

import asyncio

import pytest

from server.lean_sync import LeanEvent, LeanQueue


async def test_event_wakes_every_waiter_and_stays_set() -> None:
    event = LeanEvent()
    waiters = [asyncio.create_task(event.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)

    event.set()
    assert await asyncio.gather(*waiters) == [True, True, True]
    assert event.is_set()
    assert await event.wait() is True  # set: returns at once


async def test_cleared_event_blocks_again() -> None:
    event = LeanEvent()
    event.set()
    event.clear()
    assert not event.is_set()
    waiter = asyncio.create_task(event.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    event.set()
    assert await waiter is True


async def test_a_cancelled_wait_leaves_no_waiter_behind() -> None:
    event = LeanEvent()
    waiter = asyncio.create_task(event.wait())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert event._waiters == []


async def test_queue_hands_items_out_in_order() -> None:
    queue: LeanQueue[int] = LeanQueue()
    assert queue.empty()
    queue.put_nowait(1)
    queue.put_nowait(2)
    assert queue.qsize() == 2
    assert await queue.get() == 1
    assert await queue.get() == 2
    assert queue.empty()


async def test_queue_get_waits_for_a_put() -> None:
    queue: LeanQueue[str] = LeanQueue()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not getter.done()
    queue.put_nowait("hello")
    assert await getter == "hello"


async def test_each_put_wakes_one_getter() -> None:
    queue: LeanQueue[int] = LeanQueue()
    getters = [asyncio.create_task(queue.get()) for _ in range(2)]
    await asyncio.sleep(0)
    queue.put_nowait(7)
    await asyncio.sleep(0)
    assert sum(g.done() for g in getters) == 1
    queue.put_nowait(8)
    assert sorted(await asyncio.gather(*getters)) == [7, 8]


async def test_a_cancelled_getter_passes_its_item_on() -> None:
    queue: LeanQueue[int] = LeanQueue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait(1)  # wakes the first getter...
    first.cancel()  # ...which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(second, 1.0) == 1
