"""Frame bounds found without a parser, checked against frames websockets itself serializes."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from server.frame_head import FIN_BINARY, FIN_TEXT, FrameStart, frame_head, mid_message_after


def serialized(
    payload: bytes, opcode: Opcode = Opcode.TEXT, fin: bool = True, mask: bool = False
) -> bytes:
    return Frame(opcode, payload, fin).serialize(mask=mask)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70_000])
@pytest.mark.parametrize("mask", [False, True])
def test_the_bounds_of_a_frame_of_each_length_encoding(size: int, mask: bool) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    before = serialized(b"ahead", Opcode.BINARY)  # the frame starts inside the buffer
    data = before + serialized(payload, mask=mask)
    head = frame_head(data, len(before))
    assert head is not None
    first, masked, start, end = head
    assert (first, masked, end) == (FIN_TEXT, mask, len(data))
    assert end - start == size
    if not mask:
        assert data[start:end] == payload


@pytest.mark.parametrize(("size", "length_bytes"), [(300, 2), (70_000, 8)])
def test_a_header_cut_anywhere_is_not_read_and_the_payload_may_be_missing(
    size: int, length_bytes: int
) -> None:
    data = serialized(b"x" * size, Opcode.BINARY, mask=True)  # 2 + length + 4 bytes of header
    for cut in range(2 + length_bytes):
        assert frame_head(data[:cut], 0) is None
    head = frame_head(data[: 2 + length_bytes], 0)  # the length is in, not the key nor the data
    start = 2 + length_bytes + 4
    assert head == (FIN_BINARY, True, start, start + size)


def test_the_first_byte_carries_fin_rsv_and_opcode_as_sent() -> None:
    data = serialized(b"part", Opcode.TEXT, fin=False) + b"\xc1\x00"  # then RSV1 set
    first = frame_head(data, 0)
    assert first is not None
    assert first[0] == 0x01
    second = frame_head(data, first[3])
    assert second is not None
    assert second[0] == 0xC1


@pytest.mark.parametrize(
    ("frames", "unfinished"),
    [
        ([(Opcode.TEXT, True)], False),
        ([(Opcode.TEXT, False)], True),
        ([(Opcode.BINARY, False), (Opcode.PING, True)], True),
        ([(Opcode.TEXT, False), (Opcode.CONT, False), (Opcode.PONG, True)], True),
        ([(Opcode.TEXT, False), (Opcode.CONT, False), (Opcode.CONT, True)], False),
        ([(Opcode.TEXT, False), (Opcode.CLOSE, True), (Opcode.CONT, True)], False),
        ([(Opcode.PING, True)], False),
    ],
)
def test_a_fragmented_message_is_unfinished_until_its_final_continuation(
    frames: list[tuple[Opcode, bool]], unfinished: bool
) -> None:
    mid_message = False
    for opcode, fin in frames:
        mid_message = mid_message_after(serialized(b"", opcode, fin)[0], mid_message)
    assert mid_message is unfinished


def test_a_frame_start_gives_the_frame_back_once_whole_and_is_then_empty() -> None:
    frame = serialized(b"y" * 5000, Opcode.BINARY) + serialized(b"next")
    held = FrameStart()
    held.hold(frame[:100], 5004)  # 4 bytes of header, 5000 of payload
    pieces = [frame[at : at + 700] for at in range(100, len(frame), 700)]
    results = [held.add(piece) for piece in pieces]
    assert results[:-1] == [None] * (len(pieces) - 1)
    assert results[-1] == frame  # what came after the frame is in it too, in order
    assert not held


def test_a_cut_header_is_given_back_with_the_next_read_and_clear_forgets() -> None:
    held = FrameStart()
    held.hold(b"\x81", 0)
    assert held
    assert held.add(b"\x03abc") == b"\x81\x03abc"
    held.hold(b"\x82\x7e", 0)
    held.clear()
    assert not held
    data = b"\x81\x01a"
    assert held.add(data) is data  # nothing held: the read itself, not a copy
