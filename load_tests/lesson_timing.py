"""When what arrives was sent: chat texts and poll questions start with the sender's
``time.monotonic_ns()``; every other event is matched by a key its data carries, under which
the sender booked the send in the run's ``Book`` (one process, one clock)."""

from __future__ import annotations

import time
from typing import Any

Identity = tuple[Any, ...]  # what an event is matched by (``event_identity``)
Book = dict[Identity, int]  # what a sent message's event is matched by -> sent_ns
STAMP = 20  # digits of a monotonic_ns stamp at the start of a chat text or poll question
STAMPED = {"chat.posted": "text", "poll.created": "question"}  # kind -> the stamped field


def stamp(text: str) -> str:
    return f"{time.monotonic_ns():0{STAMP}d} {text}"


def parse_stamp(text: object) -> int | None:
    if isinstance(text, str) and len(text) > STAMP and text[:STAMP].isdigit():
        return int(text[:STAMP])
    return None


def event_identity(s: int, kind: str, data: dict[str, Any]) -> Identity | None:
    """What names the event (session ``s``) among its session's: the key its sender booked
    the send under, or the stamped text. Also what an ack is checked against (``check_seqs``)."""
    if kind in STAMPED:
        return (kind, s, data.get(STAMPED[kind]))
    if kind == "board.put":
        return ("board", s, (data.get("record") or {}).get("id"), 0)
    if kind == "board.appended":
        return ("board", s, data.get("id"), data.get("offset"))
    if kind in ("hand.raised", "hand.lowered"):
        return (kind, s, data.get("participant"))
    if kind == "poll.answered":
        return (kind, s, data.get("poll"), data.get("by"))
    if kind == "poll.closed":
        return (kind, s, data.get("poll"))
    if kind == "lobby.admitted":
        return (kind, s, data.get("class_id"))
    return None


def snapshot_identities(s: int, session: dict[str, Any]) -> list[tuple[int, Identity]]:
    """The events a welcome's snapshot still names by seq: a chat post's id and a poll's id
    are the seqs that made them (docs/protocol.md), with what ``event_identity`` gives."""
    found: list[tuple[int, Identity]] = []
    for kind, listed in (("chat.posted", "chat"), ("poll.created", "polls")):
        for entry in session.get(listed) or ():
            if isinstance(entry, dict) and type(entry.get("id")) is int:
                found.append((entry["id"], (kind, s, entry.get(STAMPED[kind]))))
    return found


def command_identity(s: int, command: str, message: dict[str, Any]) -> Identity | None:
    """The identity of the event a stamped command makes (the others are sent with theirs)."""
    if command == "chat.send":
        return ("chat.posted", s, message.get("text"))
    if command == "poll.create":
        return ("poll.created", s, message.get("question"))
    return None


def sent_at(book: Book, s: int, seq: int, kind: str, data: dict[str, Any]) -> int | None:
    """When the event's command was sent (session ``s``), if known."""
    if kind in STAMPED:
        return parse_stamp(data.get(STAMPED[kind]))
    if kind == "poll.counts":
        return book.get(("answer seq", s, data.get("as_of")))
    identity = event_identity(s, kind, data)
    sent = None if identity is None else book.get(identity)
    if kind == "poll.answered" and sent is not None:
        book[("answer seq", s, seq)] = sent  # for the poll.counts that counts it
    return sent
