"""What is particular to ``redis+cluster://``: sessions spread over the masters of a 3-master
Cluster by their hash tags, events travel by sharded pub/sub to the master of each session,
and a worker hears every session it subscribed, whichever master holds it."""

from __future__ import annotations

import asyncio
import functools
import logging

import pytest
import redis

from server.broker.base import Broker, JoinCodeTarget, LogPosition
from server.broker.redis_cluster import ClusterURL, parse_cluster_url
from server.broker.redis_scripts import session_keys
from server.settings import settings_from_env
from tests.broker.conftest import BrokerFactory, Recorder
from tests.redis_cluster import RedisCluster

WAIT = 5.0  # seconds; a subscription gives up after 10
ATTEMPTS = 50  # appends tried while a moved or killed subscription comes back
PAUSE = 0.1  # seconds each attempt waits for its event


def sessions_per_master(cluster: RedisCluster) -> dict[int, str]:
    """One session id per master: the session's keys (and channel) live on that master."""
    found: dict[int, str] = {}
    for n in range(500):
        session = f"s{n}"
        found.setdefault(cluster.master_of(session_keys(session).seq), session)
        if len(found) == len(cluster.ports):
            return found
    raise AssertionError("could not find a session for every master")


async def first_heard_after(writer: Broker, session: str, heard: Recorder) -> int:
    """Append until ``heard`` gets one of these appends; returns how many were made."""
    already = len(heard.received)
    for attempt in range(1, ATTEMPTS + 1):
        await writer.append(session, f"probe {attempt}".encode())
        try:
            await asyncio.wait_for(heard.wait_for(already + 1), PAUSE)
            return attempt
        except TimeoutError:
            continue
    raise AssertionError(f"nothing heard on {session} after {ATTEMPTS} appends")


async def test_sessions_on_every_master_reach_one_worker(
    make_cluster_broker: BrokerFactory, redis_cluster: RedisCluster
) -> None:
    worker, writer = await make_cluster_broker(), await make_cluster_broker()
    sessions = sessions_per_master(redis_cluster)
    assert len(set(sessions.values())) == 3  # three sessions, on three different masters
    heard = {session: Recorder() for session in sessions.values()}
    for session, recorder in heard.items():
        await worker.subscribe(session, recorder, functools.partial(recorder, 0, ""))
    for session in sessions.values():
        position = await writer.append(session, f"event of {session}".encode())
        await writer.publish(session, f"volatile of {session}".encode())
        received = await heard[session].wait_for(2)
        assert received == [
            (1, position.epoch, f"event of {session}".encode()),
            (0, "", f"volatile of {session}".encode()),
        ]
    for port, session in sessions.items():  # the keys are where the hash tag says
        with redis.Redis(port=port) as node:
            assert node.exists(session_keys(session).log) == 1


async def test_directory_and_workers_span_slots(
    make_cluster_broker: BrokerFactory, redis_cluster: RedisCluster
) -> None:
    """Join codes, the workers' records and the sessions all hash to different slots."""
    broker, other = await make_cluster_broker(), await make_cluster_broker()
    a, b, *_ = sessions_per_master(redis_cluster).values()
    await broker.create_session(a, b"record a", {"ABCD2345": "c1", "EFGH6789": "c2"})
    assert await other.find_join_code("EFGH6789") == JoinCodeTarget(a, "c2")
    assert await other.get_session(a) == b"record a"
    await broker.add_connection(a, "w1:1", "p_amani")
    await broker.add_connection(b, "w1:2", "p_ines")
    await broker.add_connection(b, "w2:1", "p_ines")
    await broker.heartbeat("w1", 100.0)
    await broker.heartbeat("w2", 200.0)
    assert await other.claim_dead_workers(150.0) == ["w1"]
    assert await broker.claim_dead_workers(150.0) == []  # claimed once
    taken = await other.take_worker_connections("w1")
    assert sorted(taken) == sorted([(a, "p_amani"), (b, "p_ines")])
    assert await broker.count_connections(a, "p_amani") == 0
    assert await broker.count_connections(b, "p_ines") == 1  # the tab on w2 holds


async def test_a_session_whose_slot_moves_keeps_delivering(
    make_cluster_broker: BrokerFactory,
    redis_cluster: RedisCluster,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Resharding moves a session's slot: the old master unsubscribes the channel, the broker
    re-subscribes it on the new master, and the log goes on where it was."""
    worker, writer = await make_cluster_broker(), await make_cluster_broker()
    sessions = sessions_per_master(redis_cluster)
    (source, session), (target, _), *_ = sessions.items()
    heard = Recorder()
    await worker.subscribe(session, heard)
    first = await writer.append(session, b"before the move")
    await heard.wait_for(1)
    with caplog.at_level(logging.INFO, logger="server.broker"):
        redis_cluster.move_slot(session_keys(session).seq, target)
        assert redis_cluster.master_of(session_keys(session).seq) == target != source
        attempts = await first_heard_after(writer, session, heard)
    assert f"moved to 127.0.0.1:{target}" in caplog.text  # re-homed, not merely reconnected
    seq, epoch, _ = heard.received[-1]
    assert (seq, epoch) == (1 + attempts, first.epoch)  # same history, nothing skipped
    assert await worker.read_since(session, LogPosition(0, first.epoch)) == [
        (1, b"before the move"),
        *[(n + 1, f"probe {n}".encode()) for n in range(1, attempts + 1)],
    ]


async def test_a_session_whose_slot_moves_away_and_back_keeps_delivering(
    make_cluster_broker: BrokerFactory, redis_cluster: RedisCluster
) -> None:
    """The old master unsubscribes the channel when the slot leaves; by the time the broker
    reads the slot map, the slot is back (a rebalance undone, or a map that lags behind the
    move): the channel is subscribed on that master again, not left unsubscribed."""
    worker, writer = await make_cluster_broker(), await make_cluster_broker()
    sessions = sessions_per_master(redis_cluster)
    (source, session), (target, _), *_ = sessions.items()
    heard = Recorder()
    await worker.subscribe(session, heard)
    await writer.append(session, b"before the moves")
    await heard.wait_for(1)
    # Both moves run before the worker's loop reads the unsubscribe the first one caused.
    redis_cluster.move_slot(session_keys(session).seq, target)
    redis_cluster.move_slot(session_keys(session).seq, source)
    assert redis_cluster.master_of(session_keys(session).seq) == source
    await first_heard_after(writer, session, heard)


async def test_a_subscription_sent_to_a_master_that_lost_the_slot_follows_the_move(
    make_cluster_broker: BrokerFactory, redis_cluster: RedisCluster
) -> None:
    """The worker's slot map is from before a move: its SSUBSCRIBE reaches the old master,
    which answers MOVED. The subscription follows the slot to its new master and completes
    there, rather than failing after its timeout with no live events."""
    worker, writer = await make_cluster_broker(), await make_cluster_broker()
    sessions = sessions_per_master(redis_cluster)
    (_, session), (target, _), (_, other) = sessions.items()
    await worker.subscribe(other, Recorder())  # the worker's slot map is loaded now
    redis_cluster.move_slot(session_keys(session).seq, target)  # behind the worker's back
    heard = Recorder()
    async with asyncio.timeout(WAIT):
        await worker.subscribe(session, heard)
    await first_heard_after(writer, session, heard)


@pytest.mark.parametrize("which", ["source", "all"])
async def test_killed_subscriptions_come_back_on_every_master(
    make_cluster_broker: BrokerFactory, redis_cluster: RedisCluster, which: str
) -> None:
    """Redis closes the worker's pub/sub connections (CLIENT KILL TYPE pubsub): the broker
    reconnects and resubscribes by itself; events appended afterwards arrive."""
    worker, writer = await make_cluster_broker(), await make_cluster_broker()
    sessions = sessions_per_master(redis_cluster)
    heard = {session: Recorder() for session in sessions.values()}
    for session, recorder in heard.items():
        await worker.subscribe(session, recorder)
    ports = list(sessions)[:1] if which == "source" else list(sessions)
    for port in ports:
        with redis.Redis(port=port) as node:
            assert node.execute_command("CLIENT", "KILL", "TYPE", "pubsub") >= 1
    for session, recorder in heard.items():
        await first_heard_after(writer, session, recorder)


def test_cluster_urls_name_seeds_and_credentials() -> None:
    parsed = parse_cluster_url(
        "redis+cluster://user:p%40ss@10.0.0.1:7000,[::1]:7001/0?max_connections=9"
    )
    assert parsed == ClusterURL([("10.0.0.1", 7000), ("::1", 7001)], "user", "p@ss", 9)
    assert parse_cluster_url("redis+cluster://h:1") == ClusterURL([("h", 1)])
    assert settings_from_env({}, broker_url="redis+cluster://h:1,h:2").broker_url.endswith("h:2")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("redis+cluster://", "at least one host:port"),
        ("redis+cluster://host", "must be host:port"),
        ("redis+cluster://h:1/2", "only database 0"),
        ("redis+cluster://h:1?cluster=yes", "unknown redis\\+cluster:// option"),
    ],
)
def test_malformed_cluster_urls_are_refused_up_front(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        settings_from_env({}, broker_url=url)


async def test_a_master_losing_its_link_disrupts_only_its_own_sessions(
    make_cluster_broker: BrokerFactory, redis_cluster: RedisCluster
) -> None:
    """Lost links are counted per session (``Broker.disruptions``): when one master closes
    the worker's pub/sub connection, only the sessions it serves are to be checked again;
    the sessions on the other masters go on as they were."""
    worker, writer = await make_cluster_broker(), await make_cluster_broker()
    sessions = sessions_per_master(redis_cluster)
    heard = {session: Recorder() for session in sessions.values()}
    for session, recorder in heard.items():
        await worker.subscribe(session, recorder)
    before = {session: worker.disruptions(session) for session in heard}
    killed_port, killed = next(iter(sessions.items()))
    with redis.Redis(port=killed_port) as node:
        assert node.execute_command("CLIENT", "KILL", "TYPE", "pubsub") >= 1
    await first_heard_after(writer, killed, heard[killed])  # its link is back
    for session in heard:
        await first_heard_after(writer, session, heard[session])
    after = {session: worker.disruptions(session) for session in heard}
    assert after[killed] != before[killed]
    assert {s: after[s] for s in heard if s != killed} == {
        s: before[s] for s in heard if s != killed
    }


async def test_a_first_link_to_a_master_counts_as_a_disruption_for_its_session(
    make_cluster_broker: BrokerFactory, redis_cluster: RedisCluster
) -> None:
    """What a worker read from a master before it had a link to it (a session's snapshot,
    before subscribing) may be from before a restart it could not see: the session's first
    subscription there changes its count, so its replica checks its history. A second session
    joining the same link, with nothing lost meanwhile, keeps its count."""
    worker = await make_cluster_broker()
    first = next(iter(sessions_per_master(redis_cluster).values()))
    master = redis_cluster.master_of(session_keys(first).seq)
    second = next(
        session
        for session in (f"t{n}" for n in range(500))
        if redis_cluster.master_of(session_keys(session).seq) == master
    )
    before = worker.disruptions(first)
    await worker.subscribe(first, Recorder())
    assert worker.disruptions(first) != before

    before = worker.disruptions(second)
    await worker.subscribe(second, Recorder())
    assert worker.disruptions(second) == before
