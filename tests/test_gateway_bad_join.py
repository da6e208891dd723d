"""Bad input before and at the join: an error reply, then the documented close code.

Like tests/test_gateway_bad_input.py, every case checks that the session's poster and bystander
(the ``scene`` fixture) are unaffected and that nothing was appended to the log.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from server.auth import TokenService
from server.protocol.codec import WireFormat
from server.rooms.actor import Actor
from server.rooms.roles import Role
from tests.conftest import SHARED_LOOP
from tests.helpers import JSON, MSGPACK, Scene, raw_socket
from tests.live import SECRET

pytestmark = SHARED_LOOP


async def _refused_join(
    scene: Scene, first: dict[str, Any] | bytes, wire_format: WireFormat = MSGPACK
) -> tuple[dict[str, Any], tuple[int | None, str | None]]:
    """Send a first message; return the error reply, and the close code and reason."""
    before = await scene.room.seq()
    async with raw_socket(scene.room.server, wire_format) as ws:
        await ws.send(first)
        error = await ws.error()
        code = await ws.close_code()
        reason = ws.ws.close_reason
    await scene.check_unaffected(before)
    return error, (code, reason)


def _join(token: str, **fields: Any) -> dict[str, Any]:
    return {"type": "join", "token": token, "id": "j", **fields}


@pytest.mark.parametrize(
    ("first", "code"),
    [
        pytest.param({"type": "chat.send", "text": "hi"}, "invalid_message", id="chat first"),
        pytest.param({"type": "ping"}, "invalid_message", id="ping first"),
        pytest.param(b"\xc1", "bad_message", id="not msgpack"),
        pytest.param({"type": "join"}, "invalid_message", id="join without token"),
        pytest.param({"type": "join", "token": 5}, "invalid_message", id="token not a string"),
        pytest.param(
            {"type": "join", "token": "a.b.c", "resume": {"seq": -1, "epoch": "e"}},
            "invalid_message",
            id="negative resume seq",
        ),
        pytest.param({"type": "join", "token": "garbage"}, "token_invalid", id="garbage token"),
    ],
)
async def test_the_first_message_must_be_a_valid_join(scene: Scene, first: Any, code: str) -> None:
    error, close = await _refused_join(scene, first)
    assert error["code"] == code
    assert close == ((4010, code) if code == "token_invalid" else (4002, code))


def _actor(class_id: str = "c1", role: Role = Role.TEACHER) -> Actor:
    return Actor("p_intruder", "Intruder", role, class_id)


async def test_token_failures(scene: Scene, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    session_id = scene.room.session_id
    ours = TokenService(SECRET)
    expired = ours.mint(session_id, _actor(), ttl=60, now=time.time() - 3600)
    forged = TokenService("another-secret-that-is-long-enough-too").mint(
        session_id, _actor(), ttl=600
    )
    no_session = ours.mint("s_nosuchsession", _actor(), ttl=600)
    no_class = ours.mint(session_id, _actor("c9"), ttl=600)
    cases = [
        (expired, "token_expired", 4011),
        (forged, "token_invalid", 4010),
        (no_session, "session_not_found", 4004),
        (no_class, "token_invalid", 4010),
    ]
    for token, code, close in cases:
        for wire_format in (MSGPACK, JSON):
            error, closed = await _refused_join(scene, _join(token), wire_format)
            assert (error["code"], error["id"], closed) == (code, "j", (close, code))
    # Refusals are logged, but never with the token.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "join refused" in logged
    assert all(token not in logged for token, _, _ in cases)


async def test_join_naming_another_session_closes_4012(scene: Scene) -> None:
    token = scene.room.teacher_token(0)
    error, close = await _refused_join(scene, _join(token, session="s_someothersession"))
    assert (error["code"], close) == ("wrong_session", (4012, "wrong_session"))
    async with raw_socket(scene.room.server) as ws:  # naming the right one is fine
        welcome = await ws.join(token, session=scene.room.session_id)
        assert welcome["type"] == "welcome"


async def test_join_timeout_closes_4001(scene: Scene) -> None:
    before = await scene.room.seq()
    async with raw_socket(scene.room.server) as ws:
        with pytest.raises(ConnectionClosed):  # no error message: just the close
            await ws.receive()
        assert (ws.ws.close_code, ws.ws.close_reason) == (4001, "join_timeout")
    await scene.check_unaffected(before)


async def test_oversize_first_frame_closes_1009(scene: Scene) -> None:
    before = await scene.room.seq()
    async with raw_socket(scene.room.server, JSON) as ws:
        await ws.send({"type": "join", "token": "x" * 5000})
        assert await ws.close_code() == 1009
    await scene.check_unaffected(before)


async def test_unknown_subprotocol_closes_4005(scene: Scene) -> None:
    before = await scene.room.seq()
    async with raw_socket(scene.room.server, subprotocols=["classbridge.v9.xml"]) as ws:
        assert ws.ws.subprotocol is None
        assert await ws.close_code() == 4005
    await scene.check_unaffected(before)


async def test_a_refused_join_leaves_no_trace(scene: Scene) -> None:
    """A connection that never joined is not a participant: nothing to log when it goes."""
    before = await scene.room.summary()
    async with raw_socket(scene.room.server) as ws:
        await ws.send(b"\x00")
        await ws.error()
    assert await scene.room.summary() == before


async def test_a_token_reusing_someones_id_under_another_role_is_refused(scene: Scene) -> None:
    """A student token carrying a connected teacher's participant id (another role, another
    class) must not speak under that id at all."""
    poster_id = scene.poster.welcome.participant["id"] if scene.poster.welcome else ""
    impostor = await scene.room.token("student", 0, "Not the teacher", participant_id=poster_id)
    error, closed = await _refused_join(scene, _join(impostor))
    assert (error["code"], closed) == ("token_invalid", (4010, "token_invalid"))
