"""The state of hands and polls as the reducer keeps it (rules: hands.py and polls.py).

Kept apart from the rules so that ``state.py`` can hold these records without importing the
rules (which read ``SessionState``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class RaisedHand:
    participant: str
    raised_at: int  # ms since the Unix epoch, stamped by the worker that decided the raise

    def to_wire(self) -> dict[str, Any]:
        return {"participant": self.participant, "raised_at": self.raised_at}


@dataclass(slots=True)
class Poll:
    id: int  # the seq of its ``poll.created``: unique and the same on every replica
    question: str
    options: list[str]
    multiple: bool
    anonymous: bool
    created_by: str
    created_at: int
    closed_by: str | None = None
    closed_at: int = 0
    closed_seq: int = 0  # the seq of its ``poll.closed``; 0 while open
    # participant id -> the indexes chosen. For anonymous polls too: one answer per student
    # needs to know who answered, but who never leaves the server (polls.py says how).
    answers: dict[str, list[int]] = field(default_factory=dict)
    last_answer_seq: int = 0  # the seq of the last answer counted
    published_as_of: int = 0  # the highest ``as_of`` of the totals logged (counts or close)

    @property
    def closed(self) -> bool:
        return self.closed_seq > 0

    def counts(self) -> list[int]:
        counts = [0] * len(self.options)
        for choices in self.answers.values():
            for choice in choices:
                counts[choice] += 1
        return counts


def dump_hands(hands: list[RaisedHand]) -> list[list[Any]]:
    return [[hand.participant, hand.raised_at] for hand in hands]


def load_hands(rows: list[list[Any]]) -> list[RaisedHand]:
    return [RaisedHand(*row) for row in rows]


def dump_polls(polls: dict[int, Poll]) -> list[list[Any]]:
    return [
        [
            p.id,
            p.question,
            list(p.options),
            p.multiple,
            p.anonymous,
            p.created_by,
            p.created_at,
            p.closed_by,
            p.closed_at,
            p.closed_seq,
            {pid: list(choices) for pid, choices in p.answers.items()},
            p.last_answer_seq,
            p.published_as_of,
        ]
        for p in polls.values()
    ]


def load_polls(rows: list[list[Any]]) -> dict[int, Poll]:
    return {row[0]: Poll(*row) for row in rows}
