"""Delivery of webhook notices: a bounded queue, a few senders, retries with backoff.

Nothing here ever makes a session wait: the hub only puts a notice in the queue. When the
queue is full (the receiver has been down for long) the oldest notice is dropped and counted:
a live lesson matters more than a late notice. Each notice is tried up to ``attempts`` times,
``timeout`` seconds each, with exponential backoff and jitter between tries (a receiver coming
back is not hit by every worker's retries in the same instant). A 2xx answer is a success; a
4xx other than 408 and 429 is the receiver refusing the notice, and is not retried.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import deque

import httpx

from server.settings import Settings
from server.webhooks.notices import Notice
from server.webhooks.signing import SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

SENDERS = 4  # notices in flight at once: one slow receiver answer does not hold the rest
BACKOFF_FIRST = 0.5  # seconds before the first retry; doubled for each next one
BACKOFF_MAX = 30.0
RETRIED_STATUSES = (408, 429)


class WebhookSender:
    def __init__(self, settings: Settings) -> None:
        assert settings.webhook_url is not None
        assert settings.webhook_secret is not None
        self.url, self._secret = settings.webhook_url, settings.webhook_secret
        self.attempts, self.timeout = settings.webhook_attempts, settings.webhook_timeout
        self._queue: deque[Notice] = deque(maxlen=settings.webhook_queue)
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()  # set when nothing is queued or in flight
        self._busy = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None
        self.dropped = 0  # notices pushed out of a full queue
        self.failed = 0  # notices given up on after their last attempt
        self.delivered = 0

    def put(self, notice: Notice) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1  # the deque drops its oldest itself; we only count it
            if self.dropped == 1 or self.dropped % 100 == 0:
                log.warning("webhook queue full: %d notices dropped so far", self.dropped)
        self._queue.append(notice)
        self._ready.set()

    def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        self._tasks = [asyncio.create_task(self._run()) for _ in range(SENDERS)]

    async def flush(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) until every queued notice was handled."""
        try:
            async with asyncio.timeout(max(timeout, 0)):
                while self._queue or self._busy:
                    self._idle.clear()
                    await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._queue:
            log.warning("webhooks: %d notices not sent at shutdown", len(self._queue))
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        while True:
            while not self._queue:
                self._ready.clear()
                await self._ready.wait()
            notice = self._queue.popleft()
            self._busy += 1
            try:
                await self._deliver(notice)
            except Exception:  # a bug must not silence the other notices
                log.exception("webhook delivery failed (id=%s)", notice.get("id"))
            finally:
                self._busy -= 1
                if not self._queue and not self._busy:
                    self._idle.set()

    async def _deliver(self, notice: Notice) -> None:
        body = json.dumps(notice, separators=(",", ":")).encode()
        for attempt in range(1, self.attempts + 1):
            outcome = await self._try(body)
            if outcome == "done":
                self.delivered += 1
                return
            if outcome == "refused" or attempt == self.attempts:
                break
            await asyncio.sleep(backoff(attempt))
        self.failed += 1
        log.warning("webhook notice not delivered (id=%s type=%s)", notice["id"], notice["type"])

    async def _try(self, body: bytes) -> str:
        assert self._client is not None
        headers = {
            "content-type": "application/json",
            "user-agent": "classbridge-webhooks",
            # Signed anew for each try: a retry minutes later still has a fresh timestamp.
            SIGNATURE_HEADER: sign(self._secret, body, int(time.time())),
        }
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as error:
            log.info("webhook attempt failed: %s", type(error).__name__)
            return "retry"
        if response.is_success:
            return "done"
        if 400 <= response.status_code < 500 and response.status_code not in RETRIED_STATUSES:
            return "refused"
        return "retry"


def backoff(attempt: int) -> float:
    """Seconds to wait after failed try number ``attempt``: doubling, capped, half jittered."""
    step: float = min(BACKOFF_MAX, BACKOFF_FIRST * 2.0 ** (attempt - 1))
    return step / 2 + random.random() * step / 2
