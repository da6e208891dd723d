"""When what arrives was sent: chat texts and poll questions start with the sender's
``time.monotonic_ns()``; every other event is matched by a key its data carries, under which
the sender booked the send in the run's ``Book`` (one process, one clock)."""

from __future__ import annotations

import time
from typing import Any

Book = dict[tuple[Any, ...], int]  # what a sent message's event is matched by -> sent_ns
STAMP = 20  # digits of a monotonic_ns stamp at the start of a chat text or poll question


def stamp(text: str) -> str:
    return f"{time.monotonic_ns():0{STAMP}d} {text}"


def parse_stamp(text: object) -> int | None:
    if isinstance(text, str) and len(text) > STAMP and text[:STAMP].isdigit():
        return int(text[:STAMP])
    return None


def sent_at(book: Book, s: int, seq: int, kind: str, data: dict[str, Any]) -> int | None:
    """When the event's command was sent (session ``s``), if known."""
    if kind == "chat.posted":
        return parse_stamp(data.get("text"))
    if kind == "poll.created":
        return parse_stamp(data.get("question"))
    if kind == "board.put":
        return book.get(("board", s, (data.get("record") or {}).get("id"), 0))
    if kind == "board.appended":
        return book.get(("board", s, data.get("id"), data.get("offset")))
    if kind in ("hand.raised", "hand.lowered"):
        return book.get((kind, s, data.get("participant")))
    if kind == "poll.answered":
        sent = book.get(("poll.answered", s, data.get("poll"), data.get("by")))
        if sent is not None:
            book[("answer seq", s, seq)] = sent  # for the poll.counts that counts it
        return sent
    if kind == "poll.counts":
        return book.get(("answer seq", s, data.get("as_of")))
    if kind == "poll.closed":
        return book.get(("poll.closed", s, data.get("poll")))
    if kind == "lobby.admitted":
        return book.get(("lobby.admitted", s, data.get("class_id")))
    return None
