"""Two teachers on two servers (one Redis) press "next phase" at the same moment, again and
again: the agenda moves exactly once per press-together, and the members of both servers see
the same phase started at the same time."""

from __future__ import annotations

import asyncio
from typing import Any

from server.client import ClassbridgeClient, ClientError
from tests.conftest import ServerFactory
from tests.helpers import (
    Classroom,
    collect_until,
    event_at,
    open_classroom,
    seq_of,
    two_servers_on_redis,
    wait_event,
)
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]

PHASES = [{"name": f"Phase {n}", "minutes": 5 + n} for n in range(6)]


async def _advance(teacher: ClassbridgeClient, from_phase: int) -> str:
    """ "ack" or the refusal's code."""
    try:
        await teacher.command({"type": "agenda.advance", "from": from_phase})
    except ClientError as error:
        return error.code
    return "ack"


async def _agenda_seen_from(room: Classroom, token: str, *servers: Any) -> list[dict[str, Any]]:
    """The agenda in the welcome of a fresh connection to each server."""
    agendas = []
    for server in servers:
        client = server.client(token)
        welcome = await client.connect()
        assert welcome.session is not None
        agendas.append(welcome.session["agenda"])
        await client.close()
    return agendas


async def test_two_teachers_on_two_servers_move_the_agenda_once_per_press(
    server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    first, second = await two_servers_on_redis(server_factory, redis_server)
    room = await open_classroom(first)
    lisbon = first.client(room.teacher_token(0))
    nairobi = second.client(room.teacher_token(1))
    watcher = second.client(await room.student_token(1, "Amani"))
    for client in (lisbon, nairobi, watcher):
        await client.connect()
    await lisbon.command({"type": "agenda.set", "phases": PHASES})
    token = await room.student_token(0, "Rui")

    for from_phase in range(-1, len(PHASES) - 1):
        outcomes = await asyncio.gather(_advance(lisbon, from_phase), _advance(nairobi, from_phase))
        # Each press is taken, or refused because the other's move was seen first; when
        # both were taken, the reducer applied only the first in the log.
        assert "ack" in outcomes
        assert set(outcomes) <= {"ack", "phase_moved"}
        # A marker through the log: once both servers' members have it, both replicas
        # have applied both presses.
        marker = await lisbon.chat(f"after the press from {from_phase}")
        for client in (lisbon, nairobi):
            await wait_event(client, "chat.posted", event_at(seq_of(marker)))
        logged = [
            e
            for e in await collect_until(watcher, seq_of(marker))
            if e.kind in ("agenda.moved", "agenda.finished")
        ]
        assert len(logged) == outcomes.count("ack")  # every press taken is in the log
        seen = await _agenda_seen_from(room, token, first, second)
        assert [agenda["current"] for agenda in seen] == [from_phase + 1] * 2
        assert seen[0] == seen[1]  # the same phase, started at the same server time
