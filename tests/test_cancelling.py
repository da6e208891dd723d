"""Stopping helper tasks: their cancellation is absorbed, the caller's own is not."""

from __future__ import annotations

import asyncio

import pytest

from server.cancelling import cancel_and_wait


async def _forever() -> None:
    await asyncio.Event().wait()


async def _slow_to_stop(stopping: asyncio.Event) -> None:
    """A helper whose cleanup takes a while after it is cancelled (closing a peer connection)."""
    try:
        await asyncio.Event().wait()
    finally:
        stopping.set()
        await asyncio.sleep(0.05)


async def test_the_tasks_are_cancelled_and_waited_for() -> None:
    tasks = [asyncio.create_task(_forever()) for _ in range(3)]
    await asyncio.sleep(0)

    await cancel_and_wait(*tasks)

    assert all(task.cancelled() for task in tasks)


async def test_an_error_a_task_ended_with_is_raised() -> None:
    async def broken() -> None:
        raise ValueError("broken helper")

    task = asyncio.create_task(broken())
    await asyncio.sleep(0)
    with pytest.raises(ValueError, match="broken helper"):
        await cancel_and_wait(task)


async def test_a_cancellation_of_the_caller_while_it_waits_is_passed_on() -> None:
    stopping = asyncio.Event()
    helper = asyncio.create_task(_slow_to_stop(stopping))
    carried_on: list[str] = []

    async def close() -> None:
        await cancel_and_wait(helper)
        carried_on.append("went on to its next step")

    closing = asyncio.create_task(close())
    await stopping.wait()  # the helper is cleaning up; close() waits for it
    closing.cancel()  # a shutdown

    with pytest.raises(asyncio.CancelledError):
        await closing
    assert carried_on == []


async def test_a_caller_already_being_cancelled_still_waits_for_every_task() -> None:
    helpers: list[asyncio.Task[None]] = []

    async def owner() -> None:
        helpers.extend(asyncio.create_task(_slow_to_stop(asyncio.Event())) for _ in range(2))
        try:
            await _forever()
        finally:
            await cancel_and_wait(*helpers)

    task = asyncio.create_task(owner())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(helpers) == 2
    assert all(helper.done() for helper in helpers)
