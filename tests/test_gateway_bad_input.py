"""Bad input after the join: each gets its documented error or close code, harming no one else.

Every case runs in a session where a teacher (poster) and a student (bystander) stay connected
(the ``scene`` fixture); after the bad input, the log must be exactly as before and a new chat
must reach the bystander. tests/test_gateway_bad_join.py does the same before and at the join.
"""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from server.protocol.codec import WireFormat
from tests.conftest import SHARED_LOOP
from tests.helpers import JSON, MSGPACK, Scene, raw_socket

pytestmark = SHARED_LOOP


def _packed(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


# --- after the join: an error reply, the connection stays -------------------------------------

MSGPACK_CASES: list[tuple[str, bytes | str | dict[str, Any], str, str | None]] = [
    ("not msgpack", b"\xc1\x00\xff", "bad_message", None),
    ("truncated msgpack", _packed({"type": "ping"})[:-2], "bad_message", None),
    ("two documents in one frame", _packed({"type": "ping"}) * 2, "bad_message", None),
    ("map with integer keys", _packed({1: "ping"}), "bad_message", None),
    ("text frame", '{"type": "ping"}', "bad_message", None),
    ("an array", _packed([{"type": "ping"}]), "invalid_message", None),
    ("a number", _packed(7), "invalid_message", None),
    ("no type", {"text": "hello"}, "invalid_message", "type"),
    ("type not a string", {"type": 5}, "invalid_message", "type"),
    ("unknown type", {"type": "dance"}, "unknown_type", "dance"),
    ("a server message type", {"type": "welcome"}, "unknown_type", "welcome"),
    ("missing text", {"type": "chat.send"}, "invalid_message", "text"),
    ("text not a string", {"type": "chat.send", "text": 12}, "invalid_message", "text"),
    ("text as bytes", {"type": "chat.send", "text": b"hi"}, "invalid_message", "text"),
    ("empty text", {"type": "chat.send", "text": "  \n "}, "invalid_message", "text"),
    ("control characters", {"type": "chat.send", "text": "a\x07b"}, "invalid_message", "text"),
    ("to not a string", {"type": "chat.send", "text": "hi", "to": 3}, "invalid_message", "to"),
    ("to nobody", {"type": "chat.send", "text": "hi", "to": "p_nobody"}, "not_found", "to"),
    ("bool for int", {"type": "chat.delete", "message_id": True}, "invalid_message", "message_id"),
    ("str for int", {"type": "chat.delete", "message_id": "1"}, "invalid_message", "message_id"),
    ("float for int", {"type": "chat.delete", "message_id": 1.0}, "invalid_message", "message_id"),
    ("int too big", {"type": "chat.delete", "message_id": 2**64 - 1}, "invalid_message", None),
    ("delete what is not chat", {"type": "chat.delete", "message_id": 1}, "not_found", None),
    ("settings not a map", {"type": "settings.update", "settings": []}, "invalid_message", None),
    ("no settings", {"type": "settings.update", "settings": {}}, "invalid_message", "settings"),
    ("unknown setting", {"type": "settings.update", "settings": {"x": 1}}, "invalid_message", "x"),
    (
        "setting of the wrong type",
        {"type": "settings.update", "settings": {"lobby": "yes"}},
        "invalid_message",
        "lobby",
    ),
    ("id not str or int", {"type": "ping", "id": [1]}, "invalid_message", "id"),
    ("id too long", {"type": "ping", "id": "x" * 65}, "invalid_message", "id"),
    ("join again", {"type": "join", "token": "whatever"}, "already_joined", None),
]

JSON_CASES: list[tuple[str, bytes | str | dict[str, Any], str, str | None]] = [
    ("not JSON", '{"type": "ping"', "bad_message", None),
    ("binary frame", _packed({"type": "ping"}), "bad_message", None),
    ("NaN", '{"type": "chat.delete", "message_id": NaN}', "bad_message", None),
    ("lone surrogate", '{"type": "chat.send", "text": "\\ud800"}', "bad_message", None),
    ("an array", '[{"type": "ping"}]', "invalid_message", None),
    ("a number", "42", "invalid_message", None),
    ("null", "null", "invalid_message", None),
    ("bool for int", {"type": "chat.delete", "message_id": True}, "invalid_message", "message_id"),
    ("huge int", '{"type": "chat.delete", "message_id": 1e400}', "invalid_message", None),
    ("unknown type", {"type": "chat.edit", "text": "x"}, "unknown_type", "chat.edit"),
]


async def _bad_teacher(scene: Scene, wire_format: WireFormat, message: Any) -> dict[str, Any]:
    """A teacher sends ``message``; returns the error reply after checking the connection."""
    async with raw_socket(scene.room.server, wire_format) as ws:
        await ws.join(scene.room.teacher_token(0))
        before = await scene.room.seq()
        await ws.send(message)
        error = await ws.error()
        await ws.ping()  # still connected, still served
    await scene.check_unaffected(before)
    return error


@pytest.mark.parametrize(
    ("message", "code", "detail"),
    [pytest.param(m, c, d, id=name) for name, m, c, d in MSGPACK_CASES],
)
async def test_bad_message_on_msgpack(
    scene: Scene, message: Any, code: str, detail: str | None
) -> None:
    error = await _bad_teacher(scene, MSGPACK, message)
    assert error["code"] == code
    if detail is not None:
        assert error["detail"] == detail
    assert error["message"]


@pytest.mark.parametrize(
    ("message", "code", "detail"),
    [pytest.param(m, c, d, id=name) for name, m, c, d in JSON_CASES],
)
async def test_bad_message_on_json(
    scene: Scene, message: Any, code: str, detail: str | None
) -> None:
    error = await _bad_teacher(scene, JSON, message)
    assert error["code"] == code
    if detail is not None:
        assert error["detail"] == detail


async def test_errors_echo_the_request_id(scene: Scene) -> None:
    for wire_format in (MSGPACK, JSON):
        error = await _bad_teacher(scene, wire_format, {"type": "chat.send", "id": "q7"})
        assert (error["code"], error["id"]) == ("invalid_message", "q7")
        error = await _bad_teacher(scene, wire_format, {"type": "nope", "id": 99})
        assert (error["code"], error["id"]) == ("unknown_type", 99)


@pytest.mark.parametrize(
    ("role", "message"),
    [
        ("student", {"type": "chat.delete", "message_id": 1}),
        ("student", {"type": "settings.update", "settings": {"student_private_chat": True}}),
        ("station", {"type": "settings.update", "settings": {"lobby": True}}),
        ("observer", {"type": "chat.send", "text": "may I?"}),
    ],
)
async def test_commands_beyond_the_role_are_forbidden(
    scene: Scene, role: str, message: dict[str, Any]
) -> None:
    token = await scene.room.token(role, 0, f"A {role}")
    async with raw_socket(scene.room.server, JSON) as ws:
        await ws.join(token)
        before = await scene.room.seq()
        await ws.send({**message, "id": "x"})
        error = await ws.error()
        assert (error["code"], error["id"]) == ("forbidden", "x")
        await ws.ping()
    await scene.check_unaffected(before)


# --- closing errors ---------------------------------------------------------------------------


async def test_oversize_frame_closes_1009(scene: Scene) -> None:
    async with raw_socket(scene.room.server, MSGPACK) as ws:
        await ws.join(scene.room.teacher_token(0))
        before = await scene.room.seq()
        await ws.send({"type": "chat.send", "text": "x" * 5000})
        assert await ws.close_code() == 1009
    await scene.check_unaffected(before)


async def test_too_many_bad_messages_close_4003(scene: Scene) -> None:
    async with raw_socket(scene.room.server, JSON) as ws:
        await ws.join(scene.room.teacher_token(0))
        before = await scene.room.seq()
        for _ in range(3):
            await ws.send("not json")
            assert (await ws.error())["code"] == "bad_message"
        await ws.ping()  # three are tolerated
        await ws.send({"type": "no such type"})
        assert (await ws.error())["code"] == "unknown_type"
        assert await ws.close_code() == 4003
        assert ws.ws.close_reason == "too_many_errors"
    await scene.check_unaffected(before)


async def test_refused_commands_are_mistakes_not_abuse(scene: Scene) -> None:
    """Well-formed commands the rules refuse (empty text, an unknown setting) get their error
    every time but never count towards closing the connection, however many there are."""
    async with raw_socket(scene.room.server, JSON) as ws:
        await ws.join(scene.room.teacher_token(0))
        before = await scene.room.seq()
        for n in range(10):  # max_bad_messages is 3 in this module
            await ws.send({"type": "chat.send", "text": "   ", "id": n})
            assert (await ws.error())["code"] == "invalid_message"
            await ws.send({"type": "settings.update", "settings": {"no_such": True}})
            assert (await ws.error())["code"] == "invalid_message"
        await ws.ping()  # still open
    await scene.check_unaffected(before)
