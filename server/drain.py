"""A graceful stop: SIGTERM drains a worker before uvicorn shuts it down.

uvicorn's own shutdown closes every WebSocket at once with 1012 and then runs the app's
shutdown. Before that, the drain (bounded by ``drain_timeout`` seconds):

1. refuses what would start anew here: a ``join`` gets the error ``draining`` and close 1012,
   ``POST /api/sessions`` and ``/readyz`` answer 503 (a load balancer stops sending clients);
2. closes every connection with 1012 ``draining`` once the events already queued for it are
   sent (the gateway writes out a closing connection's queue before the close frame), so the
   client reconnects at once, reaches another worker, and resumes from its last event;
3. treats those participants as after a lost connection: each is logged ``left`` only if its
   grace period passes without a connection on any worker (``PresenceKeeper.settle``);
4. sends the webhook notices still queued.

Then uvicorn stops as usual: the hub saves a snapshot of every loaded session. A second Ctrl+C
skips what is left of the drain.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from server.protocol.closecodes import CloseCode
from server.services import Services

log = logging.getLogger(__name__)

DRAIN_SIGNALS = (signal.SIGTERM, signal.SIGINT)
POLL = 0.05  # seconds between looks at the connections still closing


async def drain(services: Services) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + services.settings.drain_timeout
    services.draining = services.hub.draining = True
    gateway = services.gateway
    log.info("draining: %d connections", len(gateway.live) if gateway else 0)
    while gateway is not None and gateway.live and loop.time() < deadline:
        # Again each time: a connection opened since (before the balancer noticed) goes too.
        gateway.close_all(CloseCode.SERVICE_RESTART, "draining")
        await asyncio.sleep(POLL)
    await services.hub.presence_keeper.settle(deadline)
    if services.webhooks is not None:
        await services.webhooks.flush(deadline - loop.time())
    log.info("drained")


Handler = Callable[[int, FrameType | None], Any]


def drain_on_signals(services: Services) -> Callable[[], None]:
    """Put the drain in front of the running server's SIGTERM/SIGINT handlers (uvicorn's);
    returns what puts them back. Signal handlers belong to the main thread: elsewhere (an app
    embedded in another program) nothing is changed."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous: dict[int, Handler] = {}
    for sig in DRAIN_SIGNALS:
        handler = signal.getsignal(sig)
        if callable(handler):
            previous[int(sig)] = handler
    front = _SignalDrain(services, previous)
    for number in previous:
        signal.signal(number, front.on_signal)
    return front.restore


class _SignalDrain:
    """The first signal drains, then passes itself on to the server. During the drain only
    SIGINT (a second Ctrl+C) stops at once: SIGTERM may well come twice, from a process manager
    that signals every process of the service and from the ``--workers`` supervisor after it."""

    def __init__(self, services: Services, previous: dict[int, Handler]) -> None:
        self.services, self.previous = services, previous
        self.loop = asyncio.get_running_loop()
        self.task: asyncio.Task[None] | None = None
        self.stopped = False

    def on_signal(self, sig: int, frame: FrameType | None) -> None:
        self.loop.call_soon_threadsafe(self._start, sig)

    def _start(self, sig: int) -> None:
        if self.task is None:
            self.task = self.loop.create_task(drain(self.services))
            self.task.add_done_callback(lambda done: self._finished(done, sig))
        elif sig == signal.SIGINT:
            log.warning("interrupted again: stopping without waiting for the drain")
            self.stopped = True  # and a third one is uvicorn's: it then quits at once
            self.previous[sig](sig, None)

    def _finished(self, task: asyncio.Task[None], sig: int) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("drain failed; stopping anyway", exc_info=task.exception())
        self._stop_server(sig)

    def _stop_server(self, sig: int) -> None:
        if not self.stopped:
            self.stopped = True
            self.previous[sig](sig, None)

    def restore(self) -> None:
        if self.task is not None:
            self.task.cancel()  # the server is shutting down: a drain still running is moot
        for number, handler in self.previous.items():
            if signal.getsignal(number) == self.on_signal:
                signal.signal(number, handler)
