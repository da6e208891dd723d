"""Where a WebSocket frame in a buffer starts and ends (RFC 6455 section 5.2), without a parser.

websockets' sans-I/O parser reads every frame through generators and builds an event object for
it. For the frames nearly every message travels in (final, text or binary, within the size
limit) that was a large share of the reading side's CPU, in the server and in the load
generator alike (docs/performance.md). Both read such frames themselves with ``frame_head``
and give every other frame (a ping, a close, a fragment, anything malformed) to websockets,
starting at a frame boundary: it answers pings, closes and fails connections exactly as before.
"""

from __future__ import annotations

FIN_TEXT, FIN_BINARY = 0x81, 0x82  # FIN set, no RSV bits, opcode 1 or 2
FIN_DATA = (FIN_TEXT, FIN_BINARY)
_CONT, _TEXT, _BINARY = 0, 1, 2
_FIN = 0x80
MASK_KEY_BYTES = 4


def frame_head(data: bytes, at: int) -> tuple[int, bool, int, int] | None:
    """The frame that starts at ``at``: its first byte, whether it is masked, where its payload
    starts (after the masking key) and where it ends, which may lie beyond ``data``; None while
    its header is not all in."""
    size = len(data)
    if size - at < 2:
        return None
    second = data[at + 1]
    length, start = second & 0x7F, at + 2
    if length == 126:
        if size - at < 4:
            return None
        length, start = int.from_bytes(data[at + 2 : at + 4]), at + 4
    elif length == 127:
        if size - at < 10:
            return None
        length, start = int.from_bytes(data[at + 2 : at + 10]), at + 10
    masked = second >= 0x80
    if masked:
        start += MASK_KEY_BYTES
    return data[at], masked, start, start + length


def mid_message_after(first: int, mid_message: bool) -> bool:
    """Whether a fragmented message is still unfinished after a frame whose first byte is
    ``first`` (``mid_message``: whether one was before it). Control frames may come between
    fragments and change nothing."""
    opcode = first & 0x0F
    if opcode in (_TEXT, _BINARY):
        return not first & _FIN
    if opcode == _CONT and first & _FIN:
        return False
    return mid_message


class FrameStart:
    """The start of a frame not all in yet, kept as the pieces it arrives in and joined once
    the frame is whole: re-joining it on every read would copy a large frame that arrives in
    small reads over and over (quadratic in its size)."""

    __slots__ = ("_needed", "_pieces", "_size")

    def __init__(self) -> None:
        self._pieces: list[bytes] = []
        self._size = 0
        self._needed = 0

    def __bool__(self) -> bool:
        return bool(self._pieces)

    def hold(self, start: bytes, needed: int) -> None:
        """Keep ``start`` until ``needed`` bytes are in (0: until anything more comes, for a
        header cut short, which is a few bytes)."""
        self._pieces = [start] if start else []
        self._size, self._needed = len(start), needed

    def add(self, data: bytes) -> bytes | None:
        """``data`` after what is held: all of it joined once ``needed`` bytes are in (and
        nothing held any more), None until then; ``data`` itself when nothing is held."""
        if not self._pieces:
            return data
        self._pieces.append(data)
        self._size += len(data)
        if self._size < self._needed:
            return None
        joined = b"".join(self._pieces)
        self.clear()
        return joined

    def clear(self) -> None:
        self._pieces, self._size, self._needed = [], 0, 0
