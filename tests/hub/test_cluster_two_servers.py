"""Two servers on one 3-master Redis Cluster (``redis+cluster://``), as two hosts would be:
sessions on different masters, and members of each session on both servers see one log, in
the same order, whichever server they use."""

from __future__ import annotations

import asyncio

import redis

from server.broker.redis_scripts import session_keys
from tests.conftest import ServerFactory
from tests.helpers import Classroom, chat_across, open_classroom
from tests.live import LiveServer
from tests.redis_cluster import RedisCluster, redis_cluster

__all__ = ["redis_cluster"]

WAIT = 5.0  # seconds
MAX_ROOMS = 20  # session ids are random: 20 all on one of 3 masters has odds of 1 in 10^9


async def rooms_on_two_masters(server: LiveServer, cluster: RedisCluster) -> list[Classroom]:
    by_master: dict[int, Classroom] = {}
    for _ in range(MAX_ROOMS):
        room = await open_classroom(server)
        by_master.setdefault(cluster.master_of(session_keys(room.session_id).seq), room)
        if len(by_master) == 2:
            return list(by_master.values())
    raise AssertionError(f"{MAX_ROOMS} sessions, all on one master")


async def test_members_on_two_servers_share_sessions_on_two_masters(
    server_factory: ServerFactory, redis_cluster: RedisCluster
) -> None:
    redis_cluster.flush()
    first = await server_factory(broker_url=redis_cluster.url)
    second = await server_factory(broker_url=redis_cluster.url)
    for room in await rooms_on_two_masters(first, redis_cluster):
        await chat_across(first, second, room)


async def test_a_master_losing_its_link_makes_only_its_sessions_check_their_history(
    server_factory: ServerFactory, redis_cluster: RedisCluster
) -> None:
    """After a lost link a replica checks its history against the log before it applies or
    appends anything more (the log may have come back short). In a Cluster only the sessions
    of the master that lost it do: the others go on without a check or a pause."""
    redis_cluster.flush()
    server = await server_factory(broker_url=redis_cluster.url)
    hub = server.services.hub
    hit, spared = await rooms_on_two_masters(server, redis_cluster)
    teachers = {room.session_id: await room.teacher(0) for room in (hit, spared)}
    replicas = {session: hub._replicas[session] for session in teachers}
    checked = {session: replica.checked_disruptions for session, replica in replicas.items()}
    count = {session: hub.broker.disruptions(session) for session in teachers}

    port = redis_cluster.master_of(session_keys(hit.session_id).seq)
    with redis.Redis(port=port) as node:
        assert node.execute_command("CLIENT", "KILL", "TYPE", "pubsub") >= 1
    for _ in range(int(WAIT / 0.01)):  # the reader sees its connection closed
        if hub.broker.disruptions(hit.session_id) != count[hit.session_id]:
            break
        await asyncio.sleep(0.01)
    assert hub.broker.disruptions(hit.session_id) != count[hit.session_id]
    for session, teacher in teachers.items():
        await teacher.chat(f"after the lost link, in {session}")

    assert replicas[hit.session_id].checked_disruptions != checked[hit.session_id]
    assert replicas[spared.session_id].checked
    assert replicas[spared.session_id].checked_disruptions == checked[spared.session_id]
    assert hub.broker.disruptions(spared.session_id) == count[spared.session_id]
