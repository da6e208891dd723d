"""The two wire formats of protocol v1: msgpack in binary frames, JSON in text frames.

Both carry the same maps. A server frame holds one message (a map) or a batch (an array of
maps, handled in order). Batches are built by joining already encoded messages, so an event
encoded once can go into any number of frames without being encoded again.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Sequence
from enum import Enum
from typing import Any

import msgpack

from server.errors import BadMessage


class WireFormat(Enum):
    MSGPACK = "classbridge.v1.msgpack"
    JSON = "classbridge.v1.json"

    # Each event's frames are kept per format (server/hub/encoded.py) and looked up once per
    # recipient. Enum's own __hash__ is a Python call; members are singletons compared by
    # identity, so hashing by identity is as correct and runs in C (105 -> 32 ns a lookup).
    __hash__ = object.__hash__

    @property
    def binary(self) -> bool:
        return self is WireFormat.MSGPACK

    @classmethod
    def choose(cls, offered: Sequence[str]) -> WireFormat | None:
        """The first subprotocol the client offered that we speak; JSON when none is offered."""
        if not offered:
            return cls.JSON
        for name in offered:
            for wire_format in cls:
                if wire_format.value == name:
                    return wire_format
        return None


Frame = bytes | str

_json_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)

# A lone surrogate (raw, or escaped as "\ud800") decodes into a str that cannot be encoded as
# UTF-8: it would fail later, when the text is packed into an event or echoed to a client. A
# frame that matches neither pattern cannot hold one, so most frames skip the full check.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_MAYBE_SURROGATE = re.compile(r"[\ud800-\udfff]|\\u[dD][89a-fA-F]")


def encode_message(message: dict[str, Any], wire_format: WireFormat) -> Frame:
    if wire_format is WireFormat.MSGPACK:
        packed: bytes = msgpack.packb(message, use_bin_type=True)
        return packed
    return _json_encoder.encode(message)


def decode_frame(frame: Frame, wire_format: WireFormat) -> Any:
    """Decode one client frame; anything that is not a single valid document is ``BadMessage``."""
    if wire_format is WireFormat.MSGPACK:
        if not isinstance(frame, bytes):
            raise BadMessage("this connection speaks msgpack: send binary frames")
        try:
            return msgpack.unpackb(frame, raw=False, strict_map_key=True)
        except Exception as error:  # msgpack raises several unrelated types on garbage input
            raise BadMessage("frame is not valid msgpack") from error
    if not isinstance(frame, str):
        raise BadMessage("this connection speaks JSON: send text frames")
    try:
        document = _json_decoder.decode(frame)
    except (ValueError, RecursionError) as error:
        raise BadMessage("frame is not valid JSON") from error
    if _MAYBE_SURROGATE.search(frame) and _holds_surrogate(document):
        raise BadMessage("frame holds a lone surrogate: text must be valid Unicode")
    return document


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON, and a msgpack client could never be sent them back.
    raise ValueError(f"{name} is not allowed")


# Made once: json.loads with any option builds a new decoder (and its scanner) per call.
_json_decoder = json.JSONDecoder(parse_constant=_refuse_constant)


def _holds_surrogate(document: Any) -> bool:
    # Iterative: the document may be nested as deep as the JSON parser allows.
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
    return False


def _msgpack_array_header(length: int) -> bytes:
    if length < 16:
        return bytes([0x90 | length])
    if length < 2**16:
        return b"\xdc" + struct.pack(">H", length)
    return b"\xdd" + struct.pack(">I", length)


def pack_batch(encoded: Sequence[Frame], wire_format: WireFormat) -> Frame:
    """Join already encoded messages into one frame; a single message goes out unwrapped."""
    if len(encoded) == 1:
        return encoded[0]
    if wire_format is WireFormat.MSGPACK:
        return _msgpack_array_header(len(encoded)) + b"".join(encoded)  # type: ignore[arg-type]
    return "[" + ",".join(encoded) + "]"  # type: ignore[arg-type]
