"""A board in a welcome: a summary in the session snapshot, then its records in chunks.

A board of thousands of strokes is far bigger than one frame may be. So the welcome names the
boards (id, title, access, how many records) and the records follow in ``board.records``
messages, each small enough for one frame, before any later event. The budget is measured in
JSON (the larger of the two encodings for these records); a single record larger than the
budget (possible only with a very small frame limit) goes alone.
"""

from __future__ import annotations

import json
from typing import Any

from server.rooms.board.model import Board
from server.rooms.state import SessionState

CHUNK_OVERHEAD = 200  # bytes for the message around the records: type, board id, flags


def board_summaries(state: SessionState) -> list[dict[str, Any]]:
    return [
        {
            "id": board.id,
            "title": board.title,
            "access": board.access.to_wire(),
            "records": len(board.records),
            # Both are needed to apply later events exactly as the server does: z of the next
            # put (the top record may have been deleted) and ids that may not be put again.
            "top_z": board.top_z,
            "tombstones": list(board.tombstones),
        }
        for board in state.boards.values()
    ]


def record_chunks(board: Board, frame_bytes: int) -> list[list[dict[str, Any]]]:
    """The board's records, bottom to top, split into lists that each fit one frame."""
    budget = max(frame_bytes - CHUNK_OVERHEAD, 1)
    chunks: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    used = 0
    for record in board.ordered():
        wire = record.to_wire()
        text = json.dumps(wire, ensure_ascii=False, separators=(",", ":"))
        size = len(text.encode()) + 1  # bytes, not characters: sticky notes hold any script
        if current and used + size > budget:
            chunks.append(current)
            current, used = [], 0
        current.append(wire)
        used += size
    if current:
        chunks.append(current)
    return chunks
