"""Protocol v1 messages: golden files in both encodings, and field validation.

Each example in ``examples.py`` is stored as the exact bytes the codec writes
(``golden/<type>.json`` and ``golden/<type>.msgpack.hex``). The test parses the stored bytes,
compares the message with the expected dataclass, encodes it again and compares the bytes.
``CLASSBRIDGE_REGEN_GOLDEN=1`` rewrites the files instead of trusting them (see examples.py);
golden_files.py holds the file helpers, shared with test_event_golden.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.errors import ClassbridgeError, InvalidMessage, UnknownType
from server.protocol.codec import WireFormat, decode_frame, encode_message
from server.protocol.messages import (
    CLIENT_TYPES,
    SERVER_TYPES,
    Ack,
    ChatDelete,
    ChatSend,
    ErrorReply,
    EventMessage,
    Join,
    Leave,
    Ping,
    Pong,
    ResumePoint,
    SettingsUpdate,
    Welcome,
    parse_client_message,
    parse_server_message,
)
from server.protocol.peer import Signal
from tests.protocol.examples import CLIENT_EXAMPLES, EXAMPLES, SERVER_EXAMPLES
from tests.protocol.golden_files import GOLDEN, golden_frame, golden_path, read_golden


def _golden_path(message_type: str, wire_format: WireFormat) -> Path:
    return golden_path(GOLDEN, message_type, wire_format)


def _parse(message_type: str, data: Any) -> Any:
    if message_type in CLIENT_TYPES:
        return parse_client_message(data)
    return parse_server_message(data)


def test_every_message_type_has_an_example() -> None:
    assert set(CLIENT_EXAMPLES) == set(CLIENT_TYPES)
    assert set(SERVER_EXAMPLES) == set(SERVER_TYPES)
    assert set(CLIENT_TYPES) == {
        "join",
        "chat.send",
        "chat.delete",
        "settings.update",
        "ping",
        "leave",
        "signal",
        "typing",
        "cursor",
        "board.put",
        "board.patch",
        "board.append",
        "board.delete",
        "board.clear",
        "board.undo",
        "board.redo",
        "board.access",
        "board.create",
        "media.relay",
        "media.grant",
        "ice.refresh",
        "recording.start",
        "recording.consent",
        "recording.stop",
        "agenda.set",
        "agenda.advance",
        "agenda.back",
        "agenda.finish",
        "reflection.answer",
        "moderation.mute",
        "moderation.remove",
        "moderation.lock",
        "moderation.class",
        "moderation.scope",
        "session.end",
        "hand.raise",
        "hand.lower",
        "hand.clear",
        "reaction",
        "poll.create",
        "poll.answer",
        "poll.close",
        "breakout.open",
        "breakout.move",
        "breakout.broadcast",
        "breakout.close",
        "breakout.call_teacher",
        "breakout.answer",
        "breakout.visit",
        "lobby.admit",
        "lobby.deny",
    }
    assert set(SERVER_TYPES) == {
        "welcome",
        "event",
        "ack",
        "error",
        "pong",
        "peer.signal",
        "peer.typing",
        "peer.reaction",
        "peer.cursors",
        "board.records",
        "ice.servers",
        "lobby",
    }
    for message_type, example in EXAMPLES.items():
        assert message_type == example.TYPE


def test_no_stray_golden_files() -> None:
    expected = {_golden_path(t, f).name for t in EXAMPLES for f in WireFormat}
    assert {p.name for p in GOLDEN.iterdir() if p.is_file()} == expected  # events/: see there


@pytest.mark.parametrize("wire_format", list(WireFormat), ids=lambda f: f.name.lower())
@pytest.mark.parametrize("message_type", sorted(EXAMPLES))
def test_golden_round_trip(message_type: str, wire_format: WireFormat) -> None:
    expected = EXAMPLES[message_type]
    path = _golden_path(message_type, wire_format)
    golden = golden_frame(path, encode_message(expected.to_wire(), wire_format), wire_format)
    message = _parse(message_type, decode_frame(golden, wire_format))
    assert message == expected
    assert type(message) is type(expected)
    assert encode_message(message.to_wire(), wire_format) == golden


@pytest.mark.parametrize("message_type", sorted(EXAMPLES))
def test_both_encodings_carry_the_same_map(message_type: str) -> None:
    maps = [decode_frame(read_golden(_golden_path(message_type, f), f), f) for f in WireFormat]
    assert maps[0] == maps[1] == EXAMPLES[message_type].to_wire()


def test_json_golden_text_is_compact_and_keeps_unicode() -> None:
    text = read_golden(_golden_path("chat.send", WireFormat.JSON), WireFormat.JSON)
    assert text == (
        '{"type":"chat.send","text":"Habari! こんにちは 👋\\nLine two","to":"p_teacher","id":7}'
    )


def test_to_wire_puts_type_first_and_leaves_out_none() -> None:
    assert Leave().to_wire() == {"type": "leave"}
    assert list(ChatSend(text="hi", id=1).to_wire()) == ["type", "text", "id"]
    join = Join(token="t", resume=ResumePoint(seq=0, epoch="e")).to_wire()
    assert join == {"type": "join", "token": "t", "resume": {"seq": 0, "epoch": "e"}}


def test_minimal_messages_parse_with_defaults() -> None:
    assert parse_client_message({"type": "join", "token": "t"}) == Join(token="t")
    assert parse_client_message({"type": "ping"}) == Ping()
    assert parse_client_message({"type": "leave", "id": None}) == Leave()
    assert parse_client_message({"type": "chat.send", "text": "x", "to": None}) == ChatSend(
        text="x"
    )
    assert parse_server_message({"type": "ack"}) == Ack()
    assert parse_server_message({"type": "pong", "id": 3}) == Pong(id=3)


def test_unknown_fields_are_ignored() -> None:
    data = {"type": "chat.delete", "message_id": 4, "extra": {"x": 1}}
    assert parse_client_message(data) == ChatDelete(message_id=4)


# --- parse errors ------------------------------------------------------------------------------


def _error(data: Any, *, server: bool = False) -> ClassbridgeError:
    with pytest.raises(ClassbridgeError) as caught:
        (parse_server_message if server else parse_client_message)(data)
    return caught.value


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "type"),
        ({"type": "join"}, "token"),
        ({"type": "chat.send"}, "text"),
        ({"type": "chat.delete"}, "message_id"),
        ({"type": "settings.update"}, "settings"),
        ({"type": "join", "token": "t", "resume": {"epoch": "e"}}, "resume.seq"),
        ({"type": "join", "token": "t", "resume": {"seq": 1}}, "resume.epoch"),
        ({"type": "signal", "pc": "c", "candidate": {"candidate": ""}}, "to"),
        ({"type": "signal", "to": "p", "candidate": {"candidate": ""}}, "pc"),
        ({"type": "signal", "to": "p", "pc": "c", "description": {"sdp": ""}}, "description.type"),
        (
            {"type": "signal", "to": "p", "pc": "c", "description": {"type": "offer"}},
            "description.sdp",
        ),
        (
            {"type": "signal", "to": "p", "pc": "c", "candidate": {"sdpMid": "0"}},
            "candidate.candidate",
        ),
        ({"type": "peer.signal", "pc": "c", "candidate": {"candidate": ""}}, "from"),
    ],
)
def test_missing_field_names_the_field(data: dict[str, Any], field: str) -> None:
    error = _error(data, server=data.get("type") == "peer.signal")
    assert isinstance(error, InvalidMessage)
    assert error.code == "invalid_message"
    assert error.detail == field
    assert field in error.message


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"type": 5}, "type"),
        ({"type": "join", "token": 5}, "token"),
        ({"type": "join", "token": "t", "session": ["s"]}, "session"),
        ({"type": "join", "token": "t", "resume": "41"}, "resume"),
        ({"type": "join", "token": "t", "resume": {"seq": "1", "epoch": "e"}}, "resume.seq"),
        ({"type": "join", "token": "t", "resume": {"seq": -1, "epoch": "e"}}, "resume.seq"),
        ({"type": "chat.send", "text": b"bytes"}, "text"),
        ({"type": "chat.send", "text": "hi", "to": 5}, "to"),
        ({"type": "chat.delete", "message_id": "4"}, "message_id"),
        ({"type": "chat.delete", "message_id": 4.0}, "message_id"),
        ({"type": "settings.update", "settings": [["lobby", True]]}, "settings"),
        ({"type": "settings.update", "settings": {1: True}}, "settings"),
        ({"type": "ping", "id": 1.5}, "id"),
        ({"type": "ping", "id": ["a"]}, "id"),
        ({"type": "ping", "id": {"a": 1}}, "id"),
        ({"type": "signal", "to": "p", "pc": "c", "description": "v=0"}, "description"),
        ({"type": "signal", "to": "p", "pc": "c", "candidate": ["c"]}, "candidate"),
        ({"type": "signal", "to": 1, "pc": "c", "candidate": {"candidate": ""}}, "to"),
        (
            {
                "type": "signal",
                "to": "p",
                "pc": "c",
                "candidate": {"candidate": "", "sdpMLineIndex": "0"},
            },
            "candidate.sdpMLineIndex",
        ),
        (
            {"type": "signal", "to": "p", "pc": "c", "candidate": {"candidate": "", "sdpMid": 0}},
            "candidate.sdpMid",
        ),
        ({"type": "typing", "id": 1.5}, "id"),
    ],
)
def test_wrong_type_names_the_field(data: dict[str, Any], field: str) -> None:
    error = _error(data)
    assert isinstance(error, InvalidMessage)
    assert error.detail == field


@pytest.mark.parametrize(
    "data",
    [
        {"type": "chat.delete", "message_id": True},
        {"type": "chat.delete", "message_id": False},
        {"type": "ping", "id": True},
        {"type": "join", "token": "t", "resume": {"seq": True, "epoch": "e"}},
    ],
)
def test_bool_never_passes_as_int(data: dict[str, Any]) -> None:
    assert isinstance(_error(data), InvalidMessage)


def test_bool_never_passes_as_int_in_server_messages() -> None:
    error = _error({"type": "ack", "seq": True}, server=True)
    assert error.detail == "seq"


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**64, 10**30])
def test_int_outside_int64_is_refused(value: int) -> None:
    for data, field in [
        ({"type": "chat.delete", "message_id": value}, "message_id"),
        ({"type": "ping", "id": value}, "id"),
    ]:
        error = _error(data)
        assert isinstance(error, InvalidMessage)
        assert error.detail == field


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), 0])
def test_int64_limits_are_accepted(value: int) -> None:
    assert parse_client_message({"type": "chat.delete", "message_id": value}) == ChatDelete(
        message_id=value
    )
    assert parse_client_message({"type": "ping", "id": value}) == Ping(id=value)


@pytest.mark.parametrize("message_type", ["welcome", "event", "ack", "error", "pong", "chat", ""])
def test_unknown_client_type(message_type: str) -> None:
    error = _error({"type": message_type, "id": 1})
    assert isinstance(error, UnknownType)
    assert error.code == "unknown_type"
    assert error.detail == message_type


def test_unknown_server_type() -> None:
    error = _error({"type": "join", "token": "t"}, server=True)
    assert isinstance(error, UnknownType)


def test_long_unknown_type_is_cut_in_the_error() -> None:
    error = _error({"type": "x" * 5000})
    assert isinstance(error, UnknownType)
    assert error.detail == "x" * 40
    assert len(error.message) < 100


@pytest.mark.parametrize("data", [[], ["join"], "join", 5, None, True, b"\x80"])
def test_non_map_message(data: Any) -> None:
    error = _error(data)
    assert isinstance(error, InvalidMessage)
    assert "map" in error.message


def test_request_id_length_limit() -> None:
    assert parse_client_message({"type": "ping", "id": "x" * 64}) == Ping(id="x" * 64)
    error = _error({"type": "ping", "id": "x" * 65})
    assert isinstance(error, InvalidMessage)
    assert error.detail == "id"


def test_server_messages_validate_their_fields() -> None:
    welcome = {"type": "welcome", "participant": {}, "seq": 1, "epoch": "e", "resume": "none"}
    assert parse_server_message(welcome) == Welcome(participant={}, seq=1, epoch="e", resume="none")
    assert _error({**welcome, "session": "s"}, server=True).detail == "session"
    event = {"type": "event", "seq": 1, "kind": "k", "ts": 2, "data": {}}
    assert parse_server_message(event) == EventMessage(seq=1, kind="k", ts=2, data={})
    assert _error({**event, "data": []}, server=True).detail == "data"
    error = {"type": "error", "code": "c", "message": "m"}
    assert parse_server_message(error) == ErrorReply(code="c", message="m")
    assert _error({**error, "retry_after_ms": "1"}, server=True).detail == "retry_after_ms"


def test_settings_update_keeps_the_values_for_the_rules_to_check() -> None:
    # Names and types are checked by server.rooms.settings_rules, against the session.
    data = {"type": "settings.update", "settings": {"lobby": "yes"}}
    assert parse_client_message(data) == SettingsUpdate(settings={"lobby": "yes"})


@pytest.mark.parametrize(
    "payload",
    [{}, {"description": {"type": "offer", "sdp": ""}, "candidate": {"candidate": ""}}],
    ids=["neither", "both"],
)
def test_a_signal_carries_exactly_one_payload(payload: dict[str, Any]) -> None:
    error = _error({"type": "signal", "to": "p", "pc": "c", **payload})
    assert isinstance(error, InvalidMessage)
    assert error.detail == "description"


def test_a_signal_relays_only_the_known_fields() -> None:
    """Extra fields in a description or candidate are dropped, not passed to the recipient."""
    data = {
        "type": "signal",
        "to": "p",
        "pc": "c",
        "candidate": {"candidate": "x", "sdpMid": None, "sdpMLineIndex": 1, "note": "<script>"},
    }
    message = parse_client_message(data)
    assert isinstance(message, Signal)
    assert message.candidate == {"candidate": "x", "sdpMLineIndex": 1}
    described = parse_client_message(
        {
            "type": "signal",
            "to": "p",
            "pc": "c",
            "description": {"type": "offer", "sdp": "", "x": 1},
        }
    )
    assert isinstance(described, Signal)
    assert described.description == {"type": "offer", "sdp": ""}


def test_a_welcome_may_carry_ice_servers() -> None:
    servers: list[dict[str, Any]] = [
        {"urls": ["stun:s.example.org"]},
        {"urls": ["turn:t"], "username": "1:p", "credential": "c"},
    ]
    data = {
        "type": "welcome",
        "participant": {},
        "seq": 1,
        "epoch": "e",
        "resume": "events",
        "ice_servers": servers,
        "ice_expires_at": 1000,
    }
    welcome = parse_server_message(data)
    assert welcome == Welcome(
        participant={}, seq=1, epoch="e", resume="events", ice_servers=servers, ice_expires_at=1000
    )
    assert welcome.to_wire() == data


@pytest.mark.parametrize(
    "servers",
    [
        [["stun:s"]],
        [{"url": "stun:s"}],
        [{"urls": "stun:s"}],
        [{"urls": [5]}],
        [{"urls": [], "username": 1}],
    ],
)
def test_ice_servers_are_checked_when_parsed(servers: Any) -> None:
    data = {"type": "ice.servers", "servers": servers, "expires_at": 1}
    assert isinstance(_error(data, server=True), InvalidMessage)
    assert _error({"type": "ice.servers", "expires_at": 1}, server=True).detail == "servers"
