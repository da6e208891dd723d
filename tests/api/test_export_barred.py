"""A teacher the host removed and barred keeps a token that still verifies, but it opens nothing
of the session over HTTP any more: not the export, a board, the recordings (they hold what the
pupils wrote, said and showed), nor a fresh token that the bar would not name (protocol §24)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from server.client import ClassbridgeClient
from tests.conftest import ServerFactory
from tests.helpers import Classroom, open_classroom
from tests.live import API_KEY


def _pid(client: ClassbridgeClient) -> str:
    assert client.welcome is not None
    return str(client.welcome.participant["id"])


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _bar_partner_teacher(room: Classroom) -> None:
    host = await room.join(room.created["host_token"])
    partner = await room.teacher(1)
    await host.request({"type": "moderation.remove", "participant": _pid(partner), "bar": True})
    assert await partner.wait_closed() == 4006


def _refused_as_barred(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "barred"


@pytest.fixture
async def room(server_factory: ServerFactory, tmp_path: Path) -> Classroom:
    server = await server_factory(recordings_dir=str(tmp_path / "recordings"))
    room = await open_classroom(server)
    (tmp_path / "recordings" / room.session_id).mkdir(parents=True)
    await _bar_partner_teacher(room)
    return room


async def test_a_barred_teacher_may_not_take_the_session_s_data_out(room: Classroom) -> None:
    base = f"/api/sessions/{room.session_id}"
    paths = ["export.zip", "summary.json", "boards/main.svg", "recordings"]
    for path in paths:
        url = f"{base}/{path}"
        _refused_as_barred(await room.server.http.get(url, headers=_bearer(room.teacher_token(1))))
        # The operator and the host still may.
        for credential in (API_KEY, room.created["host_token"]):
            allowed = await room.server.http.get(url, headers=_bearer(credential))
            assert allowed.status_code == 200, (path, allowed.text)


async def test_a_barred_teacher_may_not_mint_a_way_back_in(room: Classroom) -> None:
    """Teachers mint tokens for their class, teachers included: a barred one must not get a
    fresh participant id (a new teacher or observer token) that the bar does not name."""
    url = f"/api/sessions/{room.session_id}/tokens"
    for role in ("teacher", "observer", "student"):
        body = {"role": role, "class_id": room.class_id(1), "name": "Someone"}
        headers = _bearer(room.teacher_token(1))
        _refused_as_barred(await room.server.http.post(url, json=body, headers=headers))
    # The host still mints for that class.
    body = {"role": "teacher", "class_id": room.class_id(1), "name": "Substitute"}
    headers = _bearer(room.created["host_token"])
    allowed = await room.server.http.post(url, json=body, headers=headers)
    assert allowed.status_code == 201, allowed.text
