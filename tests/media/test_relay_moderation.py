"""Mute requests in ``relay`` topology: the server's relay stops forwarding a muted kind of a
publisher to every subscriber, whatever the publisher's client does (protocol §24)."""

from __future__ import annotations

import pytest

from tests.conftest import ServerFactory
from tests.helpers import open_classroom
from tests.media.test_relay import RelayStations, ask_for_relay, assert_relayed, hub_of, stations
from tests.media.test_station import until

__all__ = ["stations"]

pytestmark = pytest.mark.slow


async def test_the_relay_stops_forwarding_a_muted_kind(
    server_factory: ServerFactory, stations: RelayStations
) -> None:
    server = await server_factory()
    room = await open_classroom(server)
    teacher = await ask_for_relay(room)
    muted, other = await stations.start(server, room), await stations.start(server, room)
    await assert_relayed([muted, other], [muted, other])
    relay = hub_of(server).media_relay.sessions[room.session_id]
    tracks = {t.kind: t.id for t in relay.publishers[muted.participant_id].tracks}

    def forwarded_to_other() -> set[str]:
        subscriber = relay.subscribers.get(other.participant_id)
        return set() if subscriber is None else {tid for _, tid in subscriber.sources}

    assert {tracks["video"], tracks["audio"]} <= forwarded_to_other()
    mute = {"type": "moderation.mute", "participant": muted.participant_id, "video": True}
    await teacher.command(mute)
    # (Between two subscriptions the old one is gone before the new one is offered.)
    await until(lambda: forwarded_to_other() == {tracks["audio"]})  # only the muted kind stops
    # The muted publisher still receives the others.
    subscriber = relay.subscribers[muted.participant_id]
    assert {t.id for t in relay.publishers[other.participant_id].tracks} <= {
        tid for _, tid in subscriber.sources
    }

    await teacher.command({**mute, "video": False})
    await until(lambda: tracks["video"] in forwarded_to_other())
