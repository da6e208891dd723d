"""Threats of docs/security.md that no other test covers, over a real server.

Who someone is comes from their token only: fields a client adds to a message to claim another
identity, role or class change nothing, also when they name another session. A text frame
that is not UTF-8 ends the connection without counting as a server failure.
"""

from __future__ import annotations

import logging

import pytest

from tests.helpers import JSON, Classroom, open_classroom, participant_of, raw_socket, wait_event
from tests.live import LiveServer

FORGED = {
    "from": "p_forged",
    "by": "p_forged",
    "participant_id": "p_forged",
    "role": "teacher",
    "class_id": "c2",
    "session": "s_other",
}


async def test_identity_claims_inside_a_message_are_ignored(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    student_token = await classroom.student_token(0, "Amani")
    async with raw_socket(classroom.server, JSON) as pupil:
        welcome = await pupil.join(student_token)
        me = welcome["participant"]["id"]
        forged = {**FORGED, "from": participant_of(teacher), "by": participant_of(teacher)}
        await pupil.send({"type": "chat.send", "text": "hello", "id": 1, **forged})
        posted = await wait_event(teacher, "chat.posted")
        # The post is the pupil's, in the pupil's class, whatever the message claimed.
        assert posted.data["from"] == me
        assert posted.data["class_id"] == classroom.class_id(0)
        # A teacher's command with a teacher's name and role in it is still a pupil's.
        await pupil.send({"type": "session.end", "id": 2, **forged})
        refused = await pupil.error()
        assert (refused["code"], refused["id"]) == ("forbidden", 2)
        await pupil.ping()
    # The session did not end: the teacher still posts.
    assert (await teacher.chat("still on")).seq == posted.seq + 1


async def test_a_join_may_not_pick_its_identity_either(classroom: Classroom) -> None:
    student_token = await classroom.student_token(1, "Baraka")
    async with raw_socket(classroom.server, JSON) as pupil:
        welcome = await pupil.join(student_token, role="teacher", participant_id="p_forged")
        assert welcome["type"] == "welcome"
        assert welcome["participant"]["role"] == "student"
        assert welcome["participant"]["id"] != "p_forged"
        assert welcome["participant"]["class_id"] == classroom.class_id(1)


async def test_a_text_frame_that_is_not_utf8_closes_1007_and_is_no_server_error(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken client must not be able to write tracebacks into the server's error log."""
    room = await open_classroom(live_server)
    uvicorn_log = logging.getLogger("uvicorn.error")  # it does not reach the root logger
    uvicorn_log.addHandler(caplog.handler)
    caplog.set_level(logging.INFO)
    try:
        async with raw_socket(live_server, JSON) as client:
            await client.join(room.teacher_token(0))
            await client.ws.send(b'{"type":"ping","id":"\xed\xa0\x80"}', text=True)
            assert await client.close_code() == 1007
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert "not UTF-8 (1007)" in caplog.text
