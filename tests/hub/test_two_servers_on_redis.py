"""Two servers on one Redis, as two workers or hosts would be: a session created on one is
joined on both, and its members see one log, in the same order, whichever server they use."""

from __future__ import annotations

import asyncio

import pytest

from server.protocol.peer import PeerSignal, PeerTyping
from tests.conftest import ServerFactory
from tests.helpers import (
    chat_across,
    collect_until,
    open_classroom,
    participant_of,
    seq_of,
    two_servers_on_redis,
    wait_event,
)
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]


async def test_members_on_two_servers_share_one_session(
    server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    first, second = await two_servers_on_redis(server_factory, redis_server)
    room = await open_classroom(first)  # created through the first server's API
    # Tokens and join codes work on either server: the directory lives in Redis.
    await chat_across(first, second, room)


async def test_two_tabs_on_two_servers_count_once(
    server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    """Closing the tab on one server must not log "left" while the other tab is open."""
    redis_server.flush()
    first = await server_factory(broker_url=redis_server.url, presence_grace=0.2)
    second = await server_factory(broker_url=redis_server.url, presence_grace=0.2)
    room = await open_classroom(first)
    teacher = first.client(room.teacher_token(0))
    await teacher.connect()
    token = await room.student_token(1, "Amani")
    tab_here, tab_there = first.client(token), second.client(token)
    await tab_here.connect()
    await tab_there.connect()
    amani = participant_of(tab_here)

    await tab_here.close()
    await asyncio.sleep(0.6)  # three grace periods: a wrong "left" would be logged by now
    marker = await teacher.chat("still with us?")
    kinds = [e.kind for e in await collect_until(teacher, seq_of(marker))]
    assert kinds.count("participant.joined") == 1  # one join for the two tabs
    assert "participant.left" not in kinds

    await tab_there.close()
    left = await wait_event(teacher, "participant.left")
    assert left.data["participant_id"] == amani


async def test_volatile_messages_cross_servers_to_whoever_holds_the_recipient(
    server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    """A signal goes to the recipient on the other server (every tab of it), and a typing
    hint to everyone but the sender, wherever they are connected; the log does not move."""
    first, second = await two_servers_on_redis(server_factory, redis_server)
    room = await open_classroom(first)
    lisbon_token = await room.token("station", 0, "Lisbon room")
    nairobi_token = await room.token("station", 1, "Nairobi room")
    lisbon = first.client(lisbon_token)
    nairobi, nairobi_tab = second.client(nairobi_token), first.client(nairobi_token)
    teacher = second.client(room.teacher_token(1))
    for client in (lisbon, nairobi, nairobi_tab, teacher):
        await client.connect()
    before = await room.seq()

    description = {"type": "offer", "sdp": "v=0\r\n"}
    await lisbon.signal(participant_of(nairobi), "cam-1", description=description)
    expected = PeerSignal(sender=participant_of(lisbon), pc="cam-1", description=description)
    for tab in (nairobi, nairobi_tab):  # one on each server
        assert await tab.next_peer_message() == expected
    await nairobi.typing()
    for other in (lisbon, teacher):  # the first thing either gets: the signal went elsewhere
        assert await other.next_peer_message() == PeerTyping(sender=participant_of(nairobi))
    assert await room.seq() == before


async def test_the_cap_on_connections_counts_every_server(
    server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    redis_server.flush()
    first = await server_factory(broker_url=redis_server.url, connections_per_participant=2)
    second = await server_factory(broker_url=redis_server.url, connections_per_participant=2)
    room = await open_classroom(first)
    token = await room.student_token(1, "Amani")
    await first.client(token).connect()
    await second.client(token).connect()
    third = first.client(token)  # a third tab, on the first server again
    with pytest.raises(ConnectionError):
        await third.connect()
    assert third.close_code == 4013
