"""Golden files: frames stored as the exact bytes the server writes, one file per wire format.

A JSON frame is stored as its UTF-8 text with no newline added; a msgpack frame as lowercase
hex with one trailing newline. ``CLASSBRIDGE_REGEN_GOLDEN=1`` makes the tests rewrite the files
instead of trusting them (see examples.py for when and how), after which the diff is reviewed.
"""

from __future__ import annotations

import os
from pathlib import Path

from server.protocol.codec import Frame, WireFormat

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("CLASSBRIDGE_REGEN_GOLDEN") == "1"


def golden_path(directory: Path, name: str, wire_format: WireFormat) -> Path:
    suffix = ".msgpack.hex" if wire_format is WireFormat.MSGPACK else ".json"
    return directory / f"{name}{suffix}"


def write_golden(path: Path, frame: Frame) -> None:
    if isinstance(frame, bytes):
        path.write_text(frame.hex() + "\n", encoding="ascii")
    else:
        path.write_bytes(frame.encode("utf-8"))  # exactly the codec's text, no newline added


def read_golden(path: Path, wire_format: WireFormat) -> Frame:
    if wire_format is WireFormat.MSGPACK:
        return bytes.fromhex(path.read_text(encoding="ascii"))
    return path.read_bytes().decode("utf-8")


def golden_frame(path: Path, frame: Frame, wire_format: WireFormat) -> Frame:
    """The stored frame at ``path``; when regenerating, ``frame`` is written there first."""
    if REGENERATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_golden(path, frame)
    return read_golden(path, wire_format)
