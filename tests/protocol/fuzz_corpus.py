"""What the fuzz tests start from: the golden frames, and a seeded maker of hostile frames.

``FrameMaker`` uses a plain ``random.Random`` (not hypothesis): the live gateway test sends its
frames from an event loop, and a seed makes a failing run repeatable.
"""

from __future__ import annotations

import json
import random
from typing import Any

from server.protocol.codec import Frame, WireFormat, encode_message
from server.protocol.messages import CLIENT_TYPES, SERVER_TYPES
from tests.protocol.golden_files import GOLDEN, read_golden

MSGPACK, JSON = WireFormat.MSGPACK, WireFormat.JSON


def _golden_frames() -> list[tuple[str, WireFormat, Frame]]:
    """Every stored frame (client and server messages, events) in both formats."""
    frames = []
    for path in sorted(GOLDEN.rglob("*")):
        if path.name.endswith(".msgpack.hex"):
            frames.append((path.name, MSGPACK, read_golden(path, MSGPACK)))
        elif path.suffix == ".json":
            frames.append((path.name, JSON, read_golden(path, JSON)))
    return frames


GOLDEN_FRAMES = _golden_frames()
# The golden maps of client messages, the starting points of the structural mutations.
CLIENT_GOLDEN: list[dict[str, Any]] = [
    document
    for _, wire_format, frame in GOLDEN_FRAMES
    if wire_format is JSON
    and isinstance(document := json.loads(frame), dict)
    and document.get("type") in CLIENT_TYPES
]
ALL_TYPES = sorted({*CLIENT_TYPES, *SERVER_TYPES, "", "join ", "JOIN", "chat.send\x00"})
KEYS = ["type", "id", "token", "text", "to", "resume", "seq", "epoch", "board", "ops", "points"]


class FrameMaker:
    """Hostile frames for one connection's wire format: random bytes and text, random values,
    golden messages mutated at any depth, golden frames spliced, and a few oversize frames."""

    def __init__(self, seed: int, max_frame_bytes: int) -> None:
        self.random = random.Random(seed)
        self.max_frame_bytes = max_frame_bytes

    def frame(self, wire_format: WireFormat) -> Frame:
        kind = self.random.choices(
            ["bytes", "text", "value", "mutated", "spliced", "golden", "oversize"],
            weights=[10, 10, 15, 35, 15, 10, 1],
        )[0]
        if kind == "bytes":
            return self.random.randbytes(self.random.randint(0, 300))
        if kind == "text":
            return self._text(0, 0x2FFF, 80)
        if kind == "oversize":
            return "x" * (self.max_frame_bytes + 1 + self.random.randint(0, 100))
        if kind == "spliced":
            return self._spliced(wire_format)
        document = self.value() if kind == "value" else self._golden()
        if kind == "mutated":
            document = self._mutated(document)
        try:
            return encode_message(document, wire_format)
        except (OverflowError, TypeError, ValueError):
            # Not representable in this format (bytes in JSON): send a valid message instead.
            return encode_message(self._golden(), wire_format)

    def value(self, depth: int = 0) -> Any:
        choice = self.random.randint(0, 9 if depth < 3 else 7)
        match choice:
            case 0:
                return None
            case 1:
                return self.random.choice([True, False])
            case 2:
                return self.random.choice([0, -1, 1, 2**31, 2**53 + 1, -(2**63), 2**64 - 1])
            case 3:
                return self.random.choice([0.5, -1e308, 1e-300, float("nan"), float("inf")])
            case 4:
                return self._text(32, 0x10FFF, 20)
            case 5:
                return self.random.randbytes(self.random.randint(0, 10))
            case 6 | 7:
                return self.random.choice(ALL_TYPES)
            case 8:
                return [self.value(depth + 1) for _ in range(self.random.randint(0, 4))]
            case _:
                size = self.random.randint(0, 4)
                return {self._key(): self.value(depth + 1) for _ in range(size)}

    def _text(self, low: int, high: int, longest: int) -> str:
        size = self.random.randint(0, longest)
        return "".join(chr(self.random.randint(low, high)) for _ in range(size))

    def _key(self) -> str:
        return self.random.choice(KEYS) if self.random.random() < 0.7 else str(self.value(3))[:8]

    def _golden(self) -> dict[str, Any]:
        copy: dict[str, Any] = json.loads(json.dumps(self.random.choice(CLIENT_GOLDEN)))
        return copy  # a deep copy: mutations must not reach the corpus

    def _mutated(self, document: Any) -> Any:
        for _ in range(self.random.randint(1, 4)):
            if not isinstance(document, dict):
                return document
            node: Any = document
            while isinstance(node, (dict, list)) and node and self.random.random() < 0.5:
                key = self.random.choice(list(node) if isinstance(node, dict) else range(len(node)))
                child = node[key]
                if not isinstance(child, (dict, list)) or not child:
                    break
                node = child
            self._mutate_node(node)
        return document

    def _mutate_node(self, node: Any) -> None:
        action = self.random.choice(["replace", "delete", "add", "retype"])
        if isinstance(node, dict):
            if action == "retype":
                node["type"] = self.random.choice(ALL_TYPES)
            elif action == "delete" and node:
                del node[self.random.choice(list(node))]
            elif action == "add" or not node:
                node[self._key()] = self.value()
            else:
                node[self.random.choice(list(node))] = self.value()
        elif isinstance(node, list) and node:
            node[self.random.randrange(len(node))] = self.value()

    def _spliced(self, wire_format: WireFormat) -> Frame:
        _, golden_format, frame = self.random.choice(GOLDEN_FRAMES)
        data = bytearray(frame if isinstance(frame, bytes) else frame.encode())
        for _ in range(self.random.randint(1, 4)):
            at = self.random.randint(0, len(data))
            if self.random.random() < 0.5 and data:
                data[at % len(data)] ^= 1 << self.random.randint(0, 7)
            else:
                data[at:at] = self.random.randbytes(self.random.randint(1, 6))
        if golden_format is JSON and wire_format is JSON:
            return data.decode("utf-8", "replace")
        return bytes(data) if wire_format is MSGPACK else data.decode("latin-1")
