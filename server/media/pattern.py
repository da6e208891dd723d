"""The synthetic class's picture: a moving gradient with a frame counter that survives VP8.

The counter is drawn in the top-left corner as 24 square blocks, two rows of 12, each black or
white: 20 bits of counter (most significant first) and a 4-bit check. Blocks are 16x16 pixels
when the frame is large enough, the size of a VP8 macroblock, so a lossy encoder smears their
edges but never turns a block's middle grey. The reader averages the middle of each block,
refuses blocks that came out grey, and refuses a word whose check does not match, so a frame
it cannot read gives ``None`` rather than a wrong number. Only the luma plane carries the
counter: chroma is subsampled and coarser after compression.

Pure byte arithmetic on av frames (no numpy), cheap next to the VP8 encoder.
"""

from __future__ import annotations

from av import VideoFrame

COUNTER_BITS = 20
CHECK_BITS = 4
BLOCKS_PER_ROW = 12
BLOCK_ROWS = 2
COUNTER_MODULUS = 1 << COUNTER_BITS  # at 15 fps the counter wraps after about 19 hours
LARGEST_BLOCK = 16  # one VP8 macroblock
SMALLEST_BLOCK = 8
BLACK, WHITE = 16, 235  # video-range luma
# A block's middle must average clearly to one side: compression moves it a little, not this far.
DARK_BELOW, LIGHT_ABOVE = 96, 156
_CHECK_SALT = 0b1010  # an all-black corner (counter 0, check 0) must not read as frame 0
_GRADIENT_PERIOD = 220  # luma levels 16..235
_GRADIENT_STEP = 3  # pixels the gradient moves per frame: the encoder sees motion


def block_size(width: int, height: int) -> int:
    """The side of a counter block for a frame of this size; ValueError when too small."""
    size = min(LARGEST_BLOCK, width // BLOCKS_PER_ROW, height // (2 * BLOCK_ROWS))
    if size < SMALLEST_BLOCK or width % 2 or height % 2:
        raise ValueError(
            f"frame {width}x{height}: needs even sides, at least "
            f"{SMALLEST_BLOCK * BLOCKS_PER_ROW}x{SMALLEST_BLOCK * 2 * BLOCK_ROWS}"
        )
    return size


def _check(value: int) -> int:
    nibbles = sum(value >> shift & 0xF for shift in range(0, COUNTER_BITS, 4))
    return (nibbles ^ _CHECK_SALT) & 0xF


def counter_bits(counter: int) -> list[bool]:
    """The blocks' colours, left to right then top to bottom: True is white."""
    value = counter % COUNTER_MODULUS
    word = value << CHECK_BITS | _check(value)
    width = COUNTER_BITS + CHECK_BITS
    return [bool(word >> (width - 1 - i) & 1) for i in range(width)]


def counter_from_bits(bits: list[bool]) -> int | None:
    word = 0
    for bit in bits:
        word = word << 1 | bit
    value = word >> CHECK_BITS
    return value if word & 0xF == _check(value) else None


def _block_origins(size: int) -> list[tuple[int, int]]:
    """(x, y) of each counter block, in bit order."""
    return [
        (column * size, row * size) for row in range(BLOCK_ROWS) for column in range(BLOCKS_PER_ROW)
    ]


class PatternPainter:
    """Paints frame ``n`` of the pattern: a diagonal luma gradient moving with ``n``, pale
    fixed colour in chroma, and ``n`` in the counter blocks."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.block = block_size(width, height)
        self._origins = _block_origins(self.block)
        span = width + height + _GRADIENT_PERIOD
        self._gradient = bytes(BLACK + i % _GRADIENT_PERIOD for i in range(span))
        probe = VideoFrame(width=width, height=height, format="yuv420p")
        self._strides = [plane.line_size for plane in probe.planes]
        self._chroma = [
            self._flat_plane(self._strides[1], height // 2, width // 2, 96),
            self._flat_plane(self._strides[2], height // 2, width // 2, 160),
        ]

    @staticmethod
    def _flat_plane(stride: int, rows: int, width: int, value: int) -> bytes:
        return (bytes([value]) * width + bytes(stride - width)) * rows

    def paint(self, counter: int) -> VideoFrame:
        frame = VideoFrame(width=self.width, height=self.height, format="yuv420p")
        frame.planes[0].update(bytes(self._luma(counter)))
        frame.planes[1].update(self._chroma[0])
        frame.planes[2].update(self._chroma[1])
        return frame

    def _luma(self, counter: int) -> bytearray:
        stride, width = self._strides[0], self.width
        padding = bytes(stride - width)
        shift = counter * _GRADIENT_STEP % _GRADIENT_PERIOD
        plane = bytearray(
            b"".join(
                self._gradient[y + shift : y + shift + width] + padding for y in range(self.height)
            )
        )
        size = self.block
        for (x, y), white in zip(self._origins, counter_bits(counter), strict=True):
            run = bytes([WHITE if white else BLACK]) * size
            for row in range(y, y + size):
                plane[row * stride + x : row * stride + x + size] = run
        return plane


def read_counter(frame: VideoFrame) -> int | None:
    """The counter painted into ``frame`` (after any encode/decode), or None if unreadable."""
    try:
        size = block_size(frame.width, frame.height)
    except ValueError:
        return None
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    plane = frame.planes[0]
    luma, stride = bytes(plane), plane.line_size
    margin = size // 4  # read the middle half of each block: edges blur
    bits: list[bool] = []
    for x, y in _block_origins(size):
        total = 0
        for row in range(y + margin, y + size - margin):
            start = row * stride + x + margin
            total += sum(luma[start : start + size - 2 * margin])
        mean = total / (size - 2 * margin) ** 2
        if DARK_BELOW <= mean <= LIGHT_ABOVE:
            return None
        bits.append(mean > LIGHT_ABOVE)
    return counter_from_bits(bits)
