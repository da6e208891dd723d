"""``recording.ready``: the relay's worker tells the operator's webhook of each finished file
(server/webhooks), with the facts of the file on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ServerFactory
from tests.helpers import open_classroom, wait_event
from tests.media.test_recording import ask_and_consent, recorders
from tests.media.test_relay import RelayStations, stations
from tests.media.test_station import until
from tests.test_webhooks import WEBHOOK_SECRET, Receiver, receiver

__all__ = ["receiver", "stations"]

pytestmark = pytest.mark.slow


async def test_each_finished_recording_is_announced_once(
    server_factory: ServerFactory, stations: RelayStations, receiver: Receiver, tmp_path: Path
) -> None:
    server = await server_factory(
        recordings_dir=str(tmp_path), webhook_url=receiver.url, webhook_secret=WEBHOOK_SECRET
    )
    room = await open_classroom(server)
    first, second = await ask_and_consent(room)
    await wait_event(first, "recording.started")
    publishers = [await stations.start(server, room) for _ in range(2)]
    await until(
        lambda: (
            len(recorders(server, room)) == 2
            and all(r.frames["video"] >= 15 for r in recorders(server, room))
        )
    )
    await second.command({"type": "recording.stop"})
    await until(lambda: not recorders(server, room))

    ready = await receiver.wait_for(2, "recording.ready")
    files = {path.name: path for path in (tmp_path / room.session_id).glob("*.webm")}
    assert sorted(notice["data"]["name"] for notice in ready) == sorted(files)
    for notice in ready:
        data = notice["data"]
        assert notice["session_id"] == room.session_id
        assert data["bytes"] == files[data["name"]].stat().st_size > 0
        assert data["publisher"] in {p.participant_id for p in publishers}
        assert data["stopped_at"] >= data["started_at"]
        assert data["path"] == f"/api/sessions/{room.session_id}/recordings/{data['name']}"
    assert len(receiver.of_type("recording.ready")) == 2  # once each
