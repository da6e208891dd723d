"""Client messages handled in the callback that read them, without waking the connection's task.

Through ASGI each message a client sends costs: uvicorn queues it and pauses reading (an epoll
change), the connection's task wakes on a later loop turn, takes it through uvicorn's and
Starlette's ``receive``, resumes reading (another epoll change), and only then handles it. A
chat post or a stroke is handled the same way whoever calls the handler, and with memory://
the handling most often never waits for anything (docs/performance.md).

So once a connection has joined, on a broker whose appends complete in place (memory://),
``ClassbridgeWebSocketProtocol`` (server/websocket_protocol.py) hands each complete message to
``take_now`` first, from its ``data_received``. The gateway runs its usual handler there (the
same rights, budgets, log and reducer: nothing is skipped) with ``run_now``, as the
connection's task: code that asks for the current task (a timeout) gets that task, just as
when the task runs the handler itself. When the handler has to wait all the same (a lock held
by another connection's join), ``wake_for_rest`` has the connection's task woken, and it runs
the rest (``finish``) before any later message, which queue for it meanwhile.
"""

from __future__ import annotations

import asyncio
import asyncio.tasks
import contextvars
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol

from server.protocol.codec import Frame

# How asyncio itself marks a task as the one running (CPython 3.11 to 3.13 have them). They are
# not public: on a Python without them this path stays off and every message goes through
# the connection's task, as uvicorn would have it.
_enter_task: Callable[[asyncio.AbstractEventLoop, asyncio.Task[Any]], None] | None = getattr(
    asyncio.tasks, "_enter_task", None
)
_leave_task: Callable[[asyncio.AbstractEventLoop, asyncio.Task[Any]], None] | None = getattr(
    asyncio.tasks, "_leave_task", None
)

DIRECT_RECEIVE = "classbridge.direct_receive"  # the scope extension naming the protocol object
# The key of the ASGI message ``wake_for_rest`` queues: not a client's message.
REST_OF_MESSAGE = "classbridge.rest_of_message"


class DirectReceiver(Protocol):
    """The server's side: who gets each message first (None: every message goes to ASGI)."""

    take_now: Callable[[Frame], bool] | None

    def wake_for_rest(self) -> None:
        """Queue, for the app, a ``websocket.receive`` message that holds ``REST_OF_MESSAGE``."""
        ...


def direct_receiver(scope: Mapping[str, Any]) -> DirectReceiver | None:
    """The protocol object of a connection whose server offers this; None otherwise (or when
    this Python lacks what ``run_now`` needs)."""
    if _enter_task is None or _leave_task is None:
        return None
    offered = (scope.get("extensions") or {}).get(DIRECT_RECEIVE)
    receiver = offered.get("receiver") if isinstance(offered, dict) else None
    return receiver if receiver is not None and hasattr(receiver, "take_now") else None


class Finished:
    """What a coroutine run by ``run_now`` returned without waiting."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class Waiting:
    """A coroutine ``run_now`` started, and what it waits on: ``finish`` runs the rest."""

    __slots__ = ("coroutine", "waiting_on")

    def __init__(self, coroutine: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        self.coroutine = coroutine
        self.waiting_on = waiting_on


def run_now(
    coroutine: Coroutine[Any, Any, Any], context: contextvars.Context, task: asyncio.Task[Any]
) -> Finished | Waiting:
    """Run ``coroutine`` up to its first wait, in ``context`` and as ``task`` (which must not be
    running: it waits for the next message). An exception it raises is raised here."""
    assert _enter_task is not None  # see direct_receiver
    assert _leave_task is not None
    loop = task.get_loop()
    _enter_task(loop, task)
    try:
        waiting_on = context.run(coroutine.send, None)
    except StopIteration as finished:
        return Finished(finished.value)
    finally:
        _leave_task(loop, task)
    return Waiting(coroutine, waiting_on)


async def finish(
    waiting: Waiting,
    context: contextvars.Context,
    cancelled: asyncio.CancelledError | None = None,
) -> Any:
    """The rest of a coroutine ``run_now`` started, run by the task it was started as, in the
    same ``context``.

    An asyncio coroutine waits by yielding the future it waits on (or None: one loop turn). It
    is waited for here, in its place, and the coroutine resumed once it is done: it then reads
    the future's result, or its exception, itself. A cancellation of this task (a timeout the
    coroutine set, a shutdown) cancels what it waits on and goes into it, as for a task; so does
    ``cancelled``, one the task received before it could call this."""
    coroutine, waiting_on = waiting.coroutine, waiting.waiting_on
    while True:
        if cancelled is None:
            try:
                if waiting_on is None:
                    await asyncio.sleep(0)
                elif isinstance(waiting_on, asyncio.Future):
                    waiting_on._asyncio_future_blocking = False
                    await asyncio.wait((waiting_on,))  # done either way; never raises its error
                else:
                    coroutine.close()
                    raise RuntimeError(f"a coroutine run now yielded {waiting_on!r}")
            except asyncio.CancelledError as error:
                cancelled = error
        if cancelled is not None and isinstance(waiting_on, asyncio.Future):
            waiting_on.cancel()
        try:
            if cancelled is not None:
                waiting_on = context.run(coroutine.throw, cancelled)
            else:
                waiting_on = context.run(coroutine.send, None)
        except StopIteration as finished:
            return finished.value
        cancelled = None
