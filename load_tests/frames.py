"""Split a server frame into its messages, each with the bytes it takes in the frame.

A server frame is one map or a batch (an array of maps; docs/protocol.md section 2). To say how
many wire bytes each kind of message costs, each map's own encoded span is measured as it is
decoded: msgpack's Unpacker reports its position after each object, and JSON's raw_decode
where each value ends. What is left (array headers, brackets and commas, WebSocket headers) is
framing. JSON spans are counted in characters: bytes for the ASCII the load tests send.
"""

from __future__ import annotations

import json
from typing import Any

import msgpack

_ARRAY_PREFIXES = frozenset(range(0x90, 0xA0)) | {0xDC, 0xDD}  # fixarray, array 16, array 32
_JSON = json.JSONDecoder()
_SPACE = " \t\r\n"

Sized = list[tuple[Any, int]]  # (decoded message, bytes it took in the frame)


def split_frame(frame: bytes | str) -> Sized:
    """The messages of a frame with their encoded sizes; ValueError for an undecodable one."""
    if isinstance(frame, bytes):
        return _split_msgpack(frame)
    return _split_json(frame)


def _split_msgpack(frame: bytes) -> Sized:
    if not frame or frame[0] not in _ARRAY_PREFIXES:
        return [(msgpack.unpackb(frame, raw=False), len(frame))]
    unpacker = msgpack.Unpacker(raw=False, max_buffer_size=max(len(frame), 1))
    unpacker.feed(frame)
    try:
        count = unpacker.read_array_header()
        items: Sized = []
        start = unpacker.tell()
        for _ in range(count):
            item = unpacker.unpack()
            end = unpacker.tell()
            items.append((item, end - start))
            start = end
    except (msgpack.OutOfData, msgpack.ExtraData) as error:
        raise ValueError(f"bad msgpack batch: {error}") from None
    return items


def _split_json(frame: str) -> Sized:
    text = frame.strip(_SPACE)
    if not text.startswith("["):
        return [(json.loads(text), len(frame))]
    items: Sized = []
    index = _skip(text, 1)
    if text[index : index + 1] == "]":
        return items
    for _ in range(len(text)):  # bounded: every item takes at least one character
        item, end = _JSON.raw_decode(text, index)
        items.append((item, end - index))
        index = _skip(text, end)
        if text[index : index + 1] == "]":
            return items
        if text[index : index + 1] != ",":
            raise ValueError("bad JSON batch")
        index = _skip(text, index + 1)
    raise ValueError("bad JSON batch")


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _SPACE:
        index += 1
    return index
