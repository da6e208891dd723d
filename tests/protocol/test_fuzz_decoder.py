"""Property-based fuzzing of the decoder: ``decode_frame`` then ``parse_client_message``.

Whatever arrives (random bytes, random msgpack/JSON values, the golden frames mutated at any
depth or byte), the only exceptions allowed out are ``ClassbridgeError`` subclasses: anything
else would be an unhandled error in the gateway. What parses must be a message the server can
use: it re-encodes in its format and parses back to the same message.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import msgpack
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from server.errors import ClassbridgeError
from server.protocol.codec import Frame, WireFormat, decode_frame, encode_message
from server.protocol.messages import CLIENT_TYPES, parse_client_message
from tests.protocol.fuzz_corpus import ALL_TYPES, CLIENT_GOLDEN, GOLDEN_FRAMES, KEYS

MSGPACK, JSON = WireFormat.MSGPACK, WireFormat.JSON
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_the_golden_files_are_found() -> None:
    assert len(GOLDEN_FRAMES) > 100
    assert {document["type"] for document in CLIENT_GOLDEN} == set(CLIENT_TYPES)


def check_frame(frame: Frame, wire_format: WireFormat) -> None:
    """The property: only ClassbridgeError comes out; what parses is usable as is."""
    try:
        document = decode_frame(frame, wire_format)
        message = parse_client_message(document)
    except ClassbridgeError:
        return
    assert message.TYPE in CLIENT_TYPES
    # What the parser accepted can be written back in its format and reads back the same. (Not
    # always in the other format: opaque maps such as a board patch's props may hold msgpack
    # bytes until the command's rules refuse them; the live fuzz test covers that path.)
    again = parse_client_message(
        decode_frame(encode_message(message.to_wire(), wire_format), wire_format)
    )
    assert again == message


def check_value(document: Any) -> None:
    """A decoded value of any shape, then the same value through both encoders."""
    with contextlib.suppress(ClassbridgeError):
        parse_client_message(document)
    for wire_format in WireFormat:
        try:
            frame = encode_message(document, wire_format)
        except (OverflowError, TypeError, ValueError):
            continue  # not representable in this format (2**70, NaN in JSON, bytes in JSON)
        check_frame(frame, wire_format)


# --- random input ------------------------------------------------------------------------------

_KEYS = st.sampled_from(KEYS)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(),  # NaN and infinities included: msgpack can carry them
    st.text(max_size=30),
    st.binary(max_size=16),  # msgpack's bin type: never a string
    st.sampled_from(ALL_TYPES),
)
VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(_KEYS, st.text(max_size=8)), inner, max_size=5),
    ),
    max_leaves=25,
)


@FUZZ
@given(st.binary(max_size=512))
@example(b"\xdd\xff\xff\xff\xff")  # an array header claiming 4 billion items
@example(b"\xdf\xff\xff\xff\xff")  # the same for a map
@example(b"\xc6\xff\xff\xff\xff")  # a bin of 4 GiB that is not there
@example(b"\x81\xc0\xc0")  # a map with a nil key
@example(b"\x81\x91\x00\x00")  # a map with an array key
def test_random_bytes(frame: bytes) -> None:
    check_frame(frame, MSGPACK)
    check_frame(frame, JSON)  # a binary frame on a JSON connection
    check_frame(frame.decode("utf-8", "replace"), JSON)


@FUZZ
@given(st.text(max_size=300))
@example("[" * 100_000)  # deeper than the parser's recursion allows
@example('{"type":' * 50_000)
@example('{"type":"join","token":"' + "a" * 70_000 + '"}')
@example('{"type":"ping","id":1e999}')
@example('{"type":"ping","id":123456789012345678901234567890}')
@example('{"type":"ping","type":"join"}')  # duplicate keys
def test_random_text(frame: str) -> None:
    check_frame(frame, JSON)
    check_frame(frame, MSGPACK)  # a text frame on a msgpack connection


@FUZZ
@given(VALUES)
@example({"type": "join", "token": math.nan})
@example({"type": "chat.send", "text": b"bytes, not text"})
@example({"type": "ping", "id": 2**64})
def test_random_values(document: Any) -> None:
    check_value(document)


@FUZZ
@given(st.integers(min_value=-128, max_value=127), st.binary(max_size=40))
def test_msgpack_extension_types(code: int, data: bytes) -> None:
    # Extension types (timestamps and unknown ones) anywhere a value may stand.
    ext = msgpack.ExtType(code, data) if code >= 0 else None
    for value in (ext, {"type": "ping", "id": ext}, {"type": "chat.send", "text": ext}):
        try:
            frame = msgpack.packb(value) if value is not None else b"\xd6\xff" + data[:4]
        except (TypeError, ValueError):
            continue
        check_frame(frame, MSGPACK)


# --- mutations of the golden frames -------------------------------------------------------------


@st.composite
def _paths(draw: st.DrawFn, document: Any) -> list[Any]:
    """A path to a value somewhere inside ``document`` (maps and lists, at any depth)."""
    path: list[Any] = []
    node = document
    while isinstance(node, (dict, list)) and node and draw(st.booleans()):
        key = draw(
            st.sampled_from(sorted(node, key=str) if isinstance(node, dict) else range(len(node)))
        )
        path.append(key)
        node = node[key]
    return path


def _at(document: Any, path: list[Any]) -> Any:
    for key in path:
        document = document[key]
    return document


def _replace(document: Any, path: list[Any], value: Any, delete: bool) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy = dict(document) if isinstance(document, dict) else list(document)
    if delete and not rest:
        del copy[head]
    else:
        current = copy.get(head) if isinstance(copy, dict) else copy[head]
        copy[head] = _replace(current, rest, value, delete)
    return copy


@st.composite
def mutated_golden(draw: st.DrawFn) -> Any:
    """A golden client message with values replaced, deleted or added at any depth, or its
    type swapped for another (every message's fields under every other type)."""
    document: Any = draw(st.sampled_from(CLIENT_GOLDEN))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["replace", "delete", "add", "retype"]))
        if action == "retype" and isinstance(document, dict):
            document = {**document, "type": draw(st.sampled_from(ALL_TYPES))}
            continue
        path = draw(_paths(document))
        if action == "add" and isinstance(_at(document, path), dict):
            path = [*path, draw(st.one_of(_KEYS, st.text(max_size=6)))]  # a new key in a map
        document = _replace(document, path, draw(VALUES), delete=action == "delete" and bool(path))
    return document


@FUZZ
@given(mutated_golden())
def test_mutated_golden_messages(document: Any) -> None:
    check_value(document)


@st.composite
def spliced_golden(draw: st.DrawFn) -> tuple[WireFormat, bytes]:
    """A golden frame's bytes cut, overwritten, duplicated or extended."""
    _, wire_format, frame = draw(st.sampled_from(GOLDEN_FRAMES))
    data = bytearray(frame if isinstance(frame, bytes) else frame.encode())
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(data)))
        match draw(st.sampled_from(["flip", "insert", "delete", "truncate", "repeat"])):
            case "flip" if data:
                data[at % len(data)] ^= 1 << draw(st.integers(0, 7))
            case "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=8))
            case "delete":
                del data[at : at + draw(st.integers(1, 8))]
            case "truncate":
                del data[at:]
            case "repeat":
                data[at:at] = data[at : at + draw(st.integers(1, 16))]
    return wire_format, bytes(data)


@FUZZ
@given(spliced_golden())
def test_spliced_golden_frames(spliced: tuple[WireFormat, bytes]) -> None:
    wire_format, data = spliced
    if wire_format is MSGPACK:
        check_frame(data, MSGPACK)
    else:
        check_frame(data.decode("utf-8", "surrogateescape"), JSON)  # raw surrogates included
        check_frame(data.decode("utf-8", "replace"), JSON)


def test_every_golden_frame_passes_the_property_unchanged() -> None:
    for _, wire_format, frame in GOLDEN_FRAMES:
        check_frame(frame, wire_format)
        check_frame(frame, MSGPACK if wire_format is JSON else JSON)
