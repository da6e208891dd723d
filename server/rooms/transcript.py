"""The chat transcript kept for the export, bounded, in the state.

``SessionState.chat`` keeps the last 200 posts for late joiners, and the log's history is
trimmed (``history_size``, shared with every whiteboard stroke), so neither can give a whole
lesson's chat back. The reducer keeps this compact transcript instead: up to
``MAX_MESSAGES`` posts and ``MAX_CHARS`` characters of text, the oldest dropped first and
counted in ``dropped``. It is never sent to clients; only the export reads it. Snapshots
carry it: a full one (5000 posts of 100 characters) adds about 0.7 MB and 5 ms to each.

A deleted post stays in place, marked, with its text removed here too: the text of a deleted
message is kept nowhere once the deletion is applied.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

MAX_MESSAGES = 5000
MAX_CHARS = 1_000_000


@dataclass(slots=True)
class TranscriptEntry:
    id: int  # the seq of the post, as in ChatMessage
    sender: str
    class_id: str
    ts: int
    to: str | None
    text: str | None  # None once deleted
    deleted_by: str | None = None
    deleted_at: int | None = None
    group: str | None = None  # a breakout group's chat; rows of older snapshots have none
    # Every snapshot dumps the whole transcript (up to 5000 rows, every ``snapshot_every``
    # events): each row is built once and kept until the entry changes (a deletion).
    _row: list[Any] | None = field(default=None, repr=False, compare=False)

    def to_row(self) -> list[Any]:
        if self._row is not None:
            return self._row
        self._row = [
            self.id,
            self.sender,
            self.class_id,
            self.ts,
            self.to,
            self.text,
            self.deleted_by,
            self.deleted_at,
            self.group,
        ]
        return self._row


@dataclass(slots=True)
class Transcript:
    entries: deque[TranscriptEntry] = field(default_factory=deque)
    dropped: int = 0  # older posts no longer kept
    chars: int = 0  # characters of text held now

    def add(self, entry: TranscriptEntry) -> None:
        self.entries.append(entry)
        self.chars += len(entry.text or "")
        while len(self.entries) > MAX_MESSAGES or self.chars > MAX_CHARS:
            oldest = self.entries.popleft()
            self.chars -= len(oldest.text or "")
            self.dropped += 1

    def delete(self, message_id: int, by: str | None, ts: int) -> None:
        # Deletions are rare and recent: search from the newest end.
        for entry in reversed(self.entries):
            if entry.id == message_id:
                if entry.text is not None:
                    self.chars -= len(entry.text)
                    entry.text, entry.deleted_by, entry.deleted_at = None, by, ts
                    entry._row = None
                return

    def dump(self) -> dict[str, Any]:
        return {"dropped": self.dropped, "entries": [e.to_row() for e in self.entries]}

    @classmethod
    def load(cls, data: dict[str, Any]) -> Transcript:
        transcript = cls(dropped=data["dropped"])
        for row in data["entries"]:
            transcript.entries.append(TranscriptEntry(*row))
            transcript.chars += len(row[5] or "")
        return transcript
