"""Two servers on one 3-master Redis Cluster (``redis+cluster://``), as two hosts would be:
sessions on different masters, and members of each session on both servers see one log, in
the same order, whichever server they use."""

from __future__ import annotations

from server.broker.redis_scripts import session_keys
from tests.conftest import ServerFactory
from tests.helpers import Classroom, chat_across, open_classroom
from tests.live import LiveServer
from tests.redis_cluster import RedisCluster, redis_cluster

__all__ = ["redis_cluster"]

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
