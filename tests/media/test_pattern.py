"""The counter in the test pattern reads back after a real VP8 encode and decode (no network)."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import av
import pytest
from av import VideoFrame

from server.media.pattern import (
    COUNTER_MODULUS,
    PatternPainter,
    block_size,
    counter_bits,
    counter_from_bits,
    read_counter,
)

FPS = 15


def vp8_round_trip(frames: list[VideoFrame], bit_rate: int) -> Iterator[VideoFrame]:
    """Encode with libvpx as a real-time sender would, then decode with FFmpeg's VP8 decoder."""
    encoder = av.CodecContext.create("libvpx", "w")
    assert isinstance(encoder, av.VideoCodecContext)
    encoder.width, encoder.height, encoder.pix_fmt = frames[0].width, frames[0].height, "yuv420p"
    encoder.bit_rate = bit_rate
    encoder.framerate = Fraction(FPS)
    encoder.time_base = Fraction(1, FPS)
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    decoder = av.CodecContext.create("vp8", "r")
    assert isinstance(decoder, av.VideoCodecContext)
    for pts, frame in enumerate([*frames, None]):
        if frame is not None:
            frame.pts, frame.time_base = pts, Fraction(1, FPS)
        for packet in encoder.encode(frame):
            yield from decoder.decode(packet)


@pytest.mark.parametrize(
    ("width", "height", "bit_rate"),
    [(320, 240, 300_000), (320, 240, 30_000), (640, 480, 100_000), (96, 64, 20_000)],
)
def test_counter_survives_vp8(width: int, height: int, bit_rate: int) -> None:
    painter = PatternPainter(width, height)
    counters = [n * 7919 % COUNTER_MODULUS for n in range(45)]  # every bit changes often
    decoded = list(vp8_round_trip([painter.paint(n) for n in counters], bit_rate))
    assert len(decoded) == len(counters)
    assert [read_counter(frame) for frame in decoded] == counters


def test_counter_reads_from_the_painted_frame_and_wraps() -> None:
    painter = PatternPainter(320, 240)
    assert read_counter(painter.paint(0)) == 0
    assert read_counter(painter.paint(COUNTER_MODULUS + 5)) == 5


def test_a_frame_without_the_pattern_reads_as_none() -> None:
    black = VideoFrame(width=320, height=240, format="yuv420p")
    for plane in black.planes:
        plane.update(bytes(plane.buffer_size))
    assert read_counter(black) is None
    tiny = VideoFrame(width=64, height=48, format="yuv420p")
    assert read_counter(tiny) is None


def test_the_check_catches_a_flipped_bit() -> None:
    for counter in (0, 1, 12345, COUNTER_MODULUS - 1):
        bits = counter_bits(counter)
        assert counter_from_bits(bits) == counter
        for index in range(len(bits)):
            flipped = [*bits]
            flipped[index] = not flipped[index]
            assert counter_from_bits(flipped) != counter


def test_frames_too_small_or_odd_are_refused() -> None:
    assert block_size(320, 240) == 16
    assert block_size(96, 64) == 8
    for width, height in ((95, 64), (96, 30), (321, 240)):
        with pytest.raises(ValueError, match="frame"):
            block_size(width, height)
