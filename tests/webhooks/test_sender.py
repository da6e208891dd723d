"""The webhook queue (server/webhooks/sender.py): bounded, dropping the oldest when full."""

from __future__ import annotations

from server.settings import settings_from_env
from server.webhooks.notices import notice
from server.webhooks.sender import BACKOFF_MAX, WebhookSender, backoff


async def test_a_full_queue_drops_the_oldest_and_counts_it() -> None:
    settings = settings_from_env(
        {},
        webhook_url="http://127.0.0.1:9/hooks",
        webhook_secret="whsec-0123456789abcdef",
        webhook_queue=3,
    )
    sender = WebhookSender(settings)  # not started: nothing leaves the queue
    for n in range(5):
        sender.put(notice(f"s:{n}", "participant.left", "s", n, 0, {}))
    assert sender.dropped == 2
    assert [queued["id"] for queued in sender._queue] == ["s:2", "s:3", "s:4"]
    assert not await sender.flush(0.05)  # still queued: a bounded wait says so


def test_the_backoff_doubles_with_jitter_and_is_capped() -> None:
    for attempt in range(1, 12):
        step = min(BACKOFF_MAX, 0.5 * 2 ** (attempt - 1))
        assert step / 2 <= backoff(attempt) <= step
