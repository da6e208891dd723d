"""What one connection may send, per second: token buckets per kind of message.

Every message but a cursor uses the general budget; chat, signals, typing hints, reactions and
board operations each have one of their own on top. Cursors have a separate, silent budget: a
pointer moves at the screen's rate, and a position over budget is simply dropped (a newer one
follows), never answered with an error and never charged to the messages that matter.
"""

from __future__ import annotations

import time

from server.errors import RateLimited
from server.protocol.board import is_board_command
from server.protocol.classroom import Reaction
from server.protocol.messages import ChatSend, ClientMessage
from server.protocol.peer import Cursor, Signal, Typing
from server.ratelimit import TokenBucket
from server.settings import Limits

# Cursor positions a connection may send per second before the extra ones are dropped: a
# fast screen's pointer events, with room to spare; what is sent on is coalesced anyway.
CURSORS_PER_SECOND = 120.0
# Reactions a connection may send: a child tapping a button again and again must not flood
# every screen of the session (each reaction is shown to everyone else for a moment).
REACTIONS_PER_SECOND = 1.0
REACTIONS_BURST = 5


class ConnectionBudgets:
    """A connection's buckets, each made when first charged: most connections sit idle, and
    one that never draws or signals carries no bucket for it (docs/performance.md)."""

    __slots__ = ("_buckets", "_limits")

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._buckets: dict[str, TokenBucket] = {}

    def _bucket(self, kind: str) -> TokenBucket:
        bucket = self._buckets.get(kind)
        if bucket is None:  # a new bucket starts full, as if made with the connection
            bucket = self._buckets[kind] = TokenBucket(*_rate_and_burst(self._limits, kind))
        return bucket

    def charge(self, message: ClientMessage) -> None:
        """Take what ``message`` costs, or raise ``RateLimited`` (nothing else is taken then
        from the kind's own budget)."""
        if isinstance(message, Cursor):
            return  # see cursor_fits
        _take(self._bucket("messages"), "too many messages")
        own = _own_budget(message)
        if own is not None:
            kind, what = own
            _take(self._bucket(kind), what)

    def cursor_fits(self) -> bool:
        return self._bucket("cursors").take(time.monotonic()) == 0


def _rate_and_burst(limits: Limits, kind: str) -> tuple[float, float]:
    rates = {
        "messages": (limits.messages_per_second, limits.messages_burst),
        "chat": (limits.chat_per_second, limits.chat_burst),
        # Negotiating one peer connection takes an offer, an answer and a burst of candidates.
        "signals": (limits.signals_per_second, limits.signals_burst),
        "typing": (limits.typing_per_second, limits.typing_burst),
        # A stroke being drawn appends every 30-50 ms; moving and editing come on top.
        "board_ops": (limits.board_ops_per_second, limits.board_ops_burst),
        "cursors": (CURSORS_PER_SECOND, CURSORS_PER_SECOND),
        "reactions": (REACTIONS_PER_SECOND, REACTIONS_BURST),
    }
    return rates[kind]


def _own_budget(message: ClientMessage) -> tuple[str, str] | None:
    if isinstance(message, ChatSend):
        return "chat", "too many chat messages"
    if isinstance(message, Signal):
        return "signals", "too many signals"
    if isinstance(message, Typing):
        return "typing", "too many typing notices"
    if isinstance(message, Reaction):
        return "reactions", "too many reactions"
    if is_board_command(message):
        return "board_ops", "too many board operations"
    return None


def _take(bucket: TokenBucket, what: str) -> None:
    wait = bucket.take(time.monotonic())
    if wait > 0:
        raise RateLimited(f"{what}: slow down", retry_after=wait)
