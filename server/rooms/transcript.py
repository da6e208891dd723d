"""The chat transcript kept for the export, bounded, in the state.

``SessionState.chat`` keeps the last 200 posts for late joiners, and the log's history is
trimmed (``history_size``, shared with every whiteboard stroke), so neither can give a whole
lesson's chat back. The reducer keeps this compact transcript instead: up to
``MAX_MESSAGES`` posts and ``MAX_CHARS`` characters of text, the oldest dropped first and
counted in ``dropped``. It is never sent to clients; only the export reads it. Snapshots
carry it: a full one (5000 posts of 100 characters) adds about 0.7 MB to each. Each row is
packed once, when its post is added (again when a deletion changes it), and a snapshot joins the
packed rows (``pack``, used by ``state.pack_state``): building and packing 5000 rows for every
snapshot (every ``snapshot_every`` events) cost over a millisecond of the event loop each time,
the largest item of a chatty session's profile after the socket writes.

A deleted post stays in place, marked, with its text removed here too: the text of a deleted
message is kept nowhere once the deletion is applied.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import msgpack

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

    def packed(self) -> bytes:
        packed: bytes = msgpack.packb(self.to_row(), use_bin_type=True)
        return packed

    def to_row(self) -> list[Any]:
        return [
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


@dataclass(slots=True)
class Transcript:
    entries: deque[TranscriptEntry] = field(default_factory=deque)
    dropped: int = 0  # older posts no longer kept
    chars: int = 0  # characters of text held now
    # Each entry's row, packed, in the same order: a snapshot joins them without a Python call
    # per row. Derived from ``entries``, so not compared.
    _packed: deque[bytes] = field(default_factory=deque, repr=False, compare=False)

    def add(self, entry: TranscriptEntry) -> None:
        self.entries.append(entry)
        self._packed.append(entry.packed())
        self.chars += len(entry.text or "")
        while len(self.entries) > MAX_MESSAGES or self.chars > MAX_CHARS:
            self._packed.popleft()
            oldest = self.entries.popleft()
            self.chars -= len(oldest.text or "")
            self.dropped += 1

    def delete(self, message_id: int, by: str | None, ts: int) -> None:
        # Deletions are rare and recent: search from the newest end.
        for back, entry in enumerate(reversed(self.entries), start=1):
            if entry.id == message_id:
                if entry.text is not None:
                    self.chars -= len(entry.text)
                    entry.text, entry.deleted_by, entry.deleted_at = None, by, ts
                    self._packed[-back] = entry.packed()  # the text must leave the snapshot too
                return

    def dump(self) -> dict[str, Any]:
        return {"dropped": self.dropped, "entries": [e.to_row() for e in self.entries]}

    def pack(self) -> list[bytes]:
        """msgpack of ``dump()`` in pieces, the rows as packed when added: joined, the same
        bytes as ``msgpack.packb(self.dump())``."""
        packer = msgpack.Packer(use_bin_type=True)
        head = [
            packer.pack_map_header(2),
            packer.pack("dropped"),
            packer.pack(self.dropped),
            packer.pack("entries"),
            packer.pack_array_header(len(self._packed)),
        ]
        head.extend(self._packed)
        return head

    @classmethod
    def load(cls, data: dict[str, Any]) -> Transcript:
        transcript = cls(dropped=data["dropped"])
        for row in data["entries"]:
            entry = TranscriptEntry(*row)
            transcript.entries.append(entry)
            transcript._packed.append(entry.packed())
            transcript.chars += len(row[5] or "")
        return transcript
