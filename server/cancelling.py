"""Stopping helper tasks without swallowing the caller's own cancellation.

``task.cancel()`` followed by ``with suppress(CancelledError): await task`` is the usual way to
stop a task, and it has a flaw: should the caller itself be cancelled while it waits (a
shutdown cancels every task at once, ``asyncio.run`` on its way out does), the same
``suppress`` swallows that cancellation too. The caller then carries on with its next ``await``
as though nothing had happened, and a shutdown can hang on it.
"""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(*tasks: asyncio.Future[Any]) -> None:
    """Cancel ``tasks`` and wait until each has ended. Their cancellation is expected and
    absorbed; any other error a task ended with is raised. A cancellation of the caller while
    it waits is passed on, not absorbed."""
    for task in tasks:
        task.cancel()
    caller = asyncio.current_task()
    # A caller already being cancelled (stopping its helpers in a ``finally``) still waits for
    # them all; only a cancellation that arrives during the wait is passed on at once.
    already = caller.cancelling() if caller is not None else 0
    for task in tasks:
        try:
            await task
        except asyncio.CancelledError:
            if caller is not None and caller.cancelling() > already:
                raise  # the caller's own: it is being stopped as well
