"""Signals and typing hints between participants over a real server: relayed to whom they are
for, checked on the server, never logged (docs/protocol.md, "Messages between participants")."""

from __future__ import annotations

import pytest

from server.client import ClassbridgeClient, ClientError
from server.protocol.peer import PeerSignal, PeerTyping
from tests.conftest import ServerFactory
from tests.helpers import (
    JSON,
    Classroom,
    next_signal,
    open_classroom,
    participant_of,
    raw_socket,
    wait_event,
)

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 192.0.2.7 54400 typ host", "sdpMid": "0"}


async def _station(room: Classroom, index: int) -> ClassbridgeClient:
    return await room.join(await room.token("station", index, f"Room {index}"))


async def test_a_signal_reaches_its_recipient_only(server_factory: ServerFactory) -> None:
    room = await open_classroom(await server_factory())
    lisbon, nairobi = await _station(room, 0), await _station(room, 1)
    teacher = await room.teacher(1, JSON)
    student = await room.student(1, "Amani")
    before = await room.seq()
    ack = await lisbon.signal(participant_of(nairobi), "cam-1", description=OFFER)
    assert ack.seq is None  # nothing was logged
    got = await next_signal(nairobi)
    assert got == PeerSignal(sender=participant_of(lisbon), pc="cam-1", description=OFFER)
    # A second signal, to the teacher: what the teacher gets first is it, so the first signal
    # did not reach the teacher (one sender's messages arrive in the order sent).
    await lisbon.signal(participant_of(teacher), "cam-2", candidate=CANDIDATE)
    fence = await next_signal(teacher)
    assert (fence.pc, fence.candidate) == ("cam-2", CANDIDATE)
    await nairobi.signal(participant_of(lisbon), "cam-1", description={"type": "answer", "sdp": ""})
    assert (await next_signal(lisbon)).description == {"type": "answer", "sdp": ""}
    assert student.peer_messages.empty()
    assert await room.seq() == before  # signals never enter the log


async def test_signals_are_not_replayed_on_resume(server_factory: ServerFactory) -> None:
    room = await open_classroom(await server_factory())
    lisbon, nairobi = await _station(room, 0), await _station(room, 1)
    await lisbon.signal(participant_of(nairobi), "cam-1", description=OFFER)
    await next_signal(nairobi)
    await nairobi.reconnect()
    await lisbon.chat("after the reconnect")
    await wait_event(nairobi, "chat.posted")  # the resume and the live event are through...
    assert nairobi.peer_messages.empty()  # ...and the signal was not sent again


@pytest.mark.parametrize(
    ("sender_role", "target", "code"),
    [
        ("student", "station", "forbidden"),
        ("observer", "station", "forbidden"),
        ("station", "student", "forbidden"),
        ("station", "nobody", "not_found"),
        ("station", "itself", "invalid_message"),
        ("station", "gone", "participant_absent"),
    ],
)
async def test_refused_signals_get_an_error_and_reach_nobody(
    server_factory: ServerFactory, sender_role: str, target: str, code: str
) -> None:
    room = await open_classroom(await server_factory())
    station = await _station(room, 1)
    student = await room.student(1, "Amani")
    gone = await _station(room, 0)
    gone_id = participant_of(gone)
    await gone.send_raw({"type": "leave"})
    assert await gone.wait_closed() == 1000
    await wait_event(station, "participant.left")
    sender = station
    if sender_role != "station":
        sender = await room.join(await room.token(sender_role, 0, "Sender"))
    to = {
        "station": participant_of(station),
        "student": participant_of(student),
        "nobody": "p_nobody",
        "itself": participant_of(sender),
        "gone": gone_id,
    }[target]
    with pytest.raises(ClientError) as refused:
        await sender.signal(to, "cam-1", description=OFFER)
    assert refused.value.code == code
    assert refused.value.reply.detail == "to"
    await sender.ping()  # the connection stays
    assert station.peer_messages.empty()
    assert student.peer_messages.empty()


async def test_signals_are_rate_limited_per_connection(server_factory: ServerFactory) -> None:
    room = await open_classroom(await server_factory(signals_per_second=0.5, signals_burst=3))
    lisbon, nairobi = await _station(room, 0), await _station(room, 1)
    for n in range(3):
        await lisbon.signal(participant_of(nairobi), f"pc-{n}", candidate=CANDIDATE)
    with pytest.raises(ClientError) as refused:
        await lisbon.signal(participant_of(nairobi), "pc-3", candidate=CANDIDATE)
    assert refused.value.code == "rate_limited"
    assert (refused.value.reply.retry_after_ms or 0) > 0
    assert [(await next_signal(nairobi)).pc for _ in range(3)] == ["pc-0", "pc-1", "pc-2"]
    await lisbon.chat("chat is not limited by the signal budget")


async def test_typing_reaches_everyone_but_the_sender(server_factory: ServerFactory) -> None:
    room = await open_classroom(await server_factory())
    amani_token = await room.student_token(1, "Amani")
    amani, amani_tab = await room.join(amani_token), await room.join(amani_token, JSON)
    teacher, station = await room.teacher(0), await _station(room, 0)
    before = await room.seq()
    await amani.typing()
    for other in (teacher, station):
        assert await other.next_peer_message() == PeerTyping(sender=participant_of(amani))
    await teacher.typing()  # a fence: Amani's tabs get this first, not their own typing
    for tab in (amani, amani_tab):
        assert await tab.next_peer_message() == PeerTyping(sender=participant_of(teacher))
    assert await room.seq() == before


async def test_observers_cannot_send_typing(server_factory: ServerFactory) -> None:
    room = await open_classroom(await server_factory())
    observer = await room.join(await room.token("observer", 0, "Inspector"))
    with pytest.raises(ClientError) as refused:
        await observer.typing()
    assert refused.value.code == "forbidden"


async def test_typing_is_rate_limited(server_factory: ServerFactory) -> None:
    room = await open_classroom(await server_factory(typing_per_second=0.1, typing_burst=1))
    student = await room.student(0, "Rita")
    await student.typing()
    with pytest.raises(ClientError) as refused:
        await student.typing()
    assert refused.value.code == "rate_limited"


async def test_without_a_request_id_there_is_no_ack(server_factory: ServerFactory) -> None:
    """A browser trickling ICE candidates sends no ids and gets no acks back."""
    room = await open_classroom(await server_factory())
    nairobi = await _station(room, 1)
    async with raw_socket(room.server, JSON) as ws:
        welcome = await ws.join(await room.token("station", 0, "Lisbon room"))
        assert welcome["type"] == "welcome"
        signal = {"type": "signal", "to": participant_of(nairobi), "pc": "cam-1"}
        await ws.send({**signal, "candidate": CANDIDATE})
        await ws.send({"type": "ping", "id": "after"})
        while (reply := await ws.receive())["type"] == "event":
            pass  # the join's own presence event
        assert reply == {"type": "pong", "id": "after"}
    assert (await next_signal(nairobi)).candidate == CANDIDATE


async def test_a_malformed_signal_counts_as_bad_input(server_factory: ServerFactory) -> None:
    room = await open_classroom(await server_factory(max_bad_messages=1))
    async with raw_socket(room.server, JSON) as ws:
        await ws.join(await room.token("station", 0, "Lisbon room"))
        bad = {"type": "signal", "to": "p", "pc": "c"}  # neither description nor candidate
        for _ in range(2):
            await ws.send(bad)
            error = await ws.error()
            assert (error["code"], error["detail"]) == ("invalid_message", "description")
        assert await ws.close_code() == 4003
