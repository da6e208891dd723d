"""The two codecs: decoding client frames, encoding, batches, choosing the subprotocol; and a
fuzz test that no input makes them raise anything but a ``ClassbridgeError``."""

from __future__ import annotations

import json
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from server.errors import BadMessage, ClassbridgeError
from server.protocol.codec import Frame, WireFormat, decode_frame, encode_message, pack_batch
from server.protocol.messages import parse_client_message
from tests.protocol.examples import CLIENT_EXAMPLES

MSGPACK, JSON = WireFormat.MSGPACK, WireFormat.JSON


# --- decode_frame ------------------------------------------------------------------------------


def test_decodes_a_map_in_either_format() -> None:
    message = {"type": "chat.send", "text": "Hei 👋", "id": 3}
    assert decode_frame(msgpack.packb(message), MSGPACK) == message
    assert decode_frame(json.dumps(message), JSON) == message


def _bad(frame: Frame, wire_format: WireFormat) -> BadMessage:
    with pytest.raises(BadMessage) as caught:
        decode_frame(frame, wire_format)
    assert caught.value.code == "bad_message"
    return caught.value


@pytest.mark.parametrize(
    "frame",
    ["", "{", "{'type': 'ping'}", '{"type":"ping"} {}', "[1,]", "nul", '{"a":1}x', "\ufeff{}"],
)
def test_invalid_json(frame: str) -> None:
    _bad(frame, JSON)


@pytest.mark.parametrize("frame", ["NaN", '{"x":NaN}', "[Infinity]", '{"x":-Infinity}'])
def test_json_without_numbers_json_does_not_have(frame: str) -> None:
    _bad(frame, JSON)


@pytest.mark.parametrize(
    "frame",
    ['"\\ud800"', '{"text":"a\\udfffb"}', '{"\\uD83D":1}', '["\\ud83d\\u0041"]', '"\ud800"'],
)
def test_json_with_a_lone_surrogate(frame: str) -> None:
    error = _bad(frame, JSON)
    assert "surrogate" in error.message


def test_json_surrogate_pairs_and_escaped_backslashes_are_fine() -> None:
    assert decode_frame('{"text":"\\ud83d\\udc4b"}', JSON) == {"text": "👋"}
    assert decode_frame('{"text":"\\\\ud800"}', JSON) == {"text": "\\ud800"}


@pytest.mark.parametrize(
    "frame",
    [b"", b"\xc1", b"\x82\xa4type", msgpack.packb({"a": 1}) + b"\x00", b"\xa2\xff\xfe"],
    ids=["empty", "reserved-byte", "truncated", "trailing-data", "invalid-utf8"],
)
def test_invalid_msgpack(frame: bytes) -> None:
    _bad(frame, MSGPACK)


def test_msgpack_map_with_non_string_keys_is_bad() -> None:
    _bad(msgpack.packb({1: "x"}), MSGPACK)


def test_utf8_encoded_surrogate_in_msgpack_is_bad() -> None:
    _bad(b"\xa3\xed\xa0\x80", MSGPACK)  # a str of 3 bytes: U+D800 written as UTF-8


def test_text_frame_on_a_msgpack_connection() -> None:
    assert "binary" in _bad('{"type":"ping"}', MSGPACK).message


def test_binary_frame_on_a_json_connection() -> None:
    assert "text" in _bad(b'{"type":"ping"}', JSON).message


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deeply_nested_json_is_bad_not_a_crash(opener: str) -> None:
    _bad(opener * 100_000, JSON)
    _bad(opener * 100_000 + "1" + ("]" if opener == "[" else "}") * 100_000, JSON)


def test_deeply_nested_msgpack_is_bad_not_a_crash() -> None:
    _bad(b"\x91" * 100_000 + b"\xc0", MSGPACK)


def test_huge_json_integer_is_bad() -> None:
    _bad("1" * 10_000, JSON)


# --- encode_message ----------------------------------------------------------------------------


def test_json_encoding_is_compact_utf8_text() -> None:
    frame = encode_message({"type": "pong", "text": "ñ 👋", "n": [1, None, True]}, JSON)
    assert frame == '{"type":"pong","text":"ñ 👋","n":[1,null,true]}'


def test_msgpack_encoding_uses_str_and_bin_types() -> None:
    frame = encode_message({"s": "x", "b": b"\x00"}, MSGPACK)
    assert frame == b"\x82\xa1s\xa1x\xa1b\xc4\x01\x00"


def test_json_encoding_refuses_nan() -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        encode_message({"x": float("nan")}, JSON)


# --- pack_batch --------------------------------------------------------------------------------


def _messages(count: int, wire_format: WireFormat) -> list[Frame]:
    return [encode_message({"type": "ack", "seq": n}, wire_format) for n in range(count)]


@pytest.mark.parametrize("wire_format", list(WireFormat))
def test_single_message_goes_out_unwrapped(wire_format: WireFormat) -> None:
    [frame] = _messages(1, wire_format)
    assert pack_batch([frame], wire_format) is frame


@pytest.mark.parametrize(
    ("count", "header"),
    [
        (2, b"\x92"),
        (15, b"\x9f"),
        (16, b"\xdc"),
        (20, b"\xdc"),
        (65_535, b"\xdc"),
        (70_000, b"\xdd"),
    ],
)
def test_msgpack_batch_is_an_array_of_the_messages(count: int, header: bytes) -> None:
    batch = pack_batch(_messages(count, MSGPACK), MSGPACK)
    assert isinstance(batch, bytes)
    assert batch.startswith(header)
    expected = [{"type": "ack", "seq": n} for n in range(count)]
    assert msgpack.unpackb(batch) == expected
    # Exactly the bytes msgpack itself writes for the list.
    assert batch == msgpack.packb(expected)


@pytest.mark.parametrize("count", [2, 20, 1000])
def test_json_batch_is_an_array_of_the_messages(count: int) -> None:
    batch = pack_batch(_messages(count, JSON), JSON)
    assert isinstance(batch, str)
    assert json.loads(batch) == [{"type": "ack", "seq": n} for n in range(count)]
    # The same text the JSON encoder writes for the whole list at once.
    assert batch == json.dumps(json.loads(batch), ensure_ascii=False, separators=(",", ":"))


def test_batch_keeps_already_encoded_bytes() -> None:
    frames = [f for f in _messages(3, MSGPACK) if isinstance(f, bytes)]
    assert len(frames) == 3
    batch = pack_batch(frames, MSGPACK)
    assert batch == b"\x93" + b"".join(frames)


# --- WireFormat.choose -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        ([], JSON),
        (["classbridge.v1.msgpack"], MSGPACK),
        (["classbridge.v1.json"], JSON),
        (["classbridge.v1.msgpack", "classbridge.v1.json"], MSGPACK),
        (["classbridge.v1.json", "classbridge.v1.msgpack"], JSON),
        (["chat", "classbridge.v1.msgpack"], MSGPACK),
        (["classbridge.v2.msgpack"], None),
        (["CLASSBRIDGE.V1.JSON"], None),
        (["chat", "superchat"], None),
    ],
)
def test_choose(offered: list[str], chosen: WireFormat | None) -> None:
    assert WireFormat.choose(offered) is chosen


def test_wire_format_names_and_frame_kinds() -> None:
    assert (MSGPACK.value, MSGPACK.binary) == ("classbridge.v1.msgpack", True)
    assert (JSON.value, JSON.binary) == ("classbridge.v1.json", False)


# --- fuzz: only ClassbridgeError may come out --------------------------------------------------

_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_KEYS = st.sampled_from(
    ["type", "id", "token", "text", "to", "message_id", "settings", "resume", "seq", "epoch"]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from([*CLIENT_EXAMPLES, "", "welcome", "x" * 100]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(_KEYS, st.text(max_size=8)), inner, max_size=4),
    ),
    max_leaves=12,
)


def _strings(document: Any) -> list[str]:
    found: list[str] = []
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
    return found


def _decode_and_parse(frame: Frame, wire_format: WireFormat) -> None:
    """Anything may be refused, but only with a ClassbridgeError; what passes is usable."""
    try:
        document = decode_frame(frame, wire_format)
    except ClassbridgeError:
        return
    # Every string can be written back in either format (no lone surrogates).
    for text in _strings(document):
        text.encode("utf-8")
    try:
        message = parse_client_message(document)
    except ClassbridgeError:
        return
    assert message.TYPE in CLIENT_EXAMPLES
    encode_message({k: v for k, v in message.to_wire().items() if k != "settings"}, MSGPACK)


@_FUZZ
@given(st.binary(max_size=200))
@example(b"\x91" * 5000)
@example(b"\xc7\x00\xff")  # an ext type with a bad timestamp
@example(b"\xd6\xff\x00\x00\x00\x00")  # a valid timestamp ext where a map belongs
def test_fuzz_msgpack_bytes(frame: bytes) -> None:
    _decode_and_parse(frame, MSGPACK)
    _decode_and_parse(frame, JSON)


_JSONISH = st.text(alphabet=st.sampled_from('{}[]",:0123456789.eE-+ \\untrlfsa/ud800'), max_size=80)


# Chat texts made of escapes that do and do not pair up, and raw surrogates.
_ESCAPES = st.lists(
    st.sampled_from(["\\ud83d", "\\ude00", "\\uDBFF", "\\u0041", "\\\\", "a", "\ud800", "é"]),
    max_size=6,
).map(lambda parts: '{"type":"chat.send","text":"' + "".join(parts) + '"}')


@_FUZZ
@given(st.one_of(st.text(max_size=200), _JSONISH, _ESCAPES))
@example('{"type":"chat.send","text":"\\udc00"}')
@example('{"type":"ping","id":"\\ud800"}')
def test_fuzz_json_text(frame: str) -> None:
    _decode_and_parse(frame, JSON)
    _decode_and_parse(frame, MSGPACK)


@st.composite
def _mutated_messages(draw: st.DrawFn) -> dict[str, Any]:
    """A valid client message with fields dropped, replaced or added."""
    message = dict(draw(st.sampled_from(list(CLIENT_EXAMPLES.values()))).to_wire())
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.one_of(st.sampled_from(sorted(message) or ["type"]), _KEYS))
        if draw(st.booleans()) and key in message:
            del message[key]
        else:
            message[key] = draw(_VALUES)
    return message


@_FUZZ
@given(_mutated_messages())
def test_fuzz_mutated_messages(message: dict[str, Any]) -> None:
    for wire_format in WireFormat:
        try:
            frame = encode_message(message, wire_format)
        except OverflowError:
            continue  # not representable in this format (2**70 in msgpack)
        _decode_and_parse(frame, wire_format)


@_FUZZ
@given(
    st.sampled_from(list(CLIENT_EXAMPLES.values())),
    st.sampled_from(list(WireFormat)),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_fuzz_corrupted_frames(message: Any, wire_format: WireFormat, edits: Any) -> None:
    frame = encode_message(message.to_wire(), wire_format)
    data = bytearray(frame if isinstance(frame, bytes) else frame.encode())
    for position, value in edits:
        data[position % len(data)] = value
    if wire_format is MSGPACK:
        _decode_and_parse(bytes(data), wire_format)
    else:
        _decode_and_parse(data.decode("utf-8", errors="replace"), wire_format)
        _decode_and_parse(data.decode("latin-1"), wire_format)
