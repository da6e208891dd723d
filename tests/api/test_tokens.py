"""POST /api/sessions/{id}/tokens: who may mint which tokens, and the tokens work."""

from __future__ import annotations

import time
from typing import Any

import pytest
import pytest_asyncio

from server.auth import TokenService
from server.rooms.actor import Actor
from server.rooms.roles import Role
from tests.conftest import SHARED_LOOP
from tests.helpers import Classroom, open_classroom, raw_socket
from tests.live import API_KEY, SECRET, LiveServer

pytestmark = SHARED_LOOP


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def room(shared_server: LiveServer) -> Classroom:
    return await open_classroom(shared_server)


async def _mint(
    room: Classroom, credential: str, role: str, class_id: str = "c1", **extra: Any
) -> tuple[int, dict[str, Any]]:
    body = {"role": role, "class_id": class_id, "name": "Someone", **extra}
    response = await room.server.http.post(
        f"/api/sessions/{room.session_id}/tokens",
        json=body,
        headers={"authorization": f"Bearer {credential}"},
    )
    return response.status_code, response.json()


ROLES = ["host", "teacher", "station", "student", "observer"]


@pytest.mark.parametrize("role", ROLES)
async def test_the_operator_mints_every_role(room: Classroom, role: str) -> None:
    status, body = await _mint(room, API_KEY, role, "c2", participant_id=f"p-{role}-1")
    assert status == 201
    assert body["participant"] == {
        "id": f"p-{role}-1",
        "name": "Someone",
        "role": role,
        "class_id": "c2",
    }
    assert body["expires_in"] == room.server.settings.token_ttl
    async with raw_socket(room.server) as ws:  # the token joins with exactly that identity
        welcome = await ws.join(body["token"])
    assert welcome["participant"] == body["participant"]


@pytest.mark.parametrize("role", ROLES)
async def test_the_host_mints_every_role_but_host(room: Classroom, role: str) -> None:
    status, body = await _mint(room, room.created["host_token"], role, "c2")
    if role == "host":
        assert (status, body["code"]) == (403, "forbidden")
    else:
        assert status == 201
        assert body["participant"]["role"] == role


@pytest.mark.parametrize("role", ROLES)
async def test_a_teacher_mints_for_their_own_class_only(room: Classroom, role: str) -> None:
    teacher = room.teacher_token(0)
    own_status, own = await _mint(room, teacher, role, "c1")
    other_status, other = await _mint(room, teacher, role, "c2")
    assert (other_status, other["code"]) == (403, "forbidden")
    if role == "host":
        assert (own_status, own["code"]) == (403, "forbidden")
    else:
        assert own_status == 201
        assert own["participant"]["class_id"] == "c1"


@pytest.mark.parametrize("role", ["station", "student", "observer"])
async def test_others_may_not_mint(room: Classroom, role: str) -> None:
    status, minted = await _mint(room, API_KEY, role, "c1")
    assert status == 201
    status, body = await _mint(room, minted["token"], "student", "c1")
    assert (status, body["code"]) == (403, "forbidden")


async def test_a_token_of_another_session_is_refused(room: Classroom) -> None:
    other = await room.server.create_session()
    status, body = await _mint(room, other["classes"][0]["teacher_token"], "student", "c1")
    assert (status, body["code"]) == (403, "wrong_session")


@pytest.mark.parametrize(
    ("extra", "detail"),
    [
        pytest.param({"role": "headmaster"}, "role", id="unknown role"),
        pytest.param({"role": 3}, "role", id="role not a string"),
        pytest.param({"class_id": "c3"}, "class_id", id="unknown class"),
        pytest.param({"class_id": None}, "class_id", id="no class"),
        pytest.param({"name": ""}, "name", id="empty name"),
        pytest.param({"name": "n" * 41}, "name", id="long name"),
        pytest.param({"participant_id": "has spaces"}, "participant_id", id="bad participant id"),
        pytest.param({"ttl_seconds": 10}, "ttl_seconds", id="ttl too short"),
        pytest.param({"ttl_seconds": 8 * 24 * 3600}, "ttl_seconds", id="ttl too long"),
        pytest.param({"ttl_seconds": "1h"}, "ttl_seconds", id="ttl not an int"),
    ],
)
async def test_mint_validation_errors(
    room: Classroom, extra: dict[str, Any], detail: str | None
) -> None:
    body = {"role": "student", "class_id": "c1", "name": "Someone", **extra}
    response = await room.server.http.post(
        f"/api/sessions/{room.session_id}/tokens",
        json=body,
        headers={"authorization": f"Bearer {API_KEY}"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_message"
    assert response.json().get("detail") == detail


async def test_ttl_is_honoured(room: Classroom) -> None:
    status, body = await _mint(room, API_KEY, "student", ttl_seconds=600)
    assert (status, body["expires_in"]) == (201, 600)
    grant = TokenService(SECRET).verify(body["token"])
    assert 590 <= grant.expires_at - time.time() <= 600


async def test_mint_credentials(room: Classroom) -> None:
    expired = TokenService(SECRET).mint(
        room.session_id, Actor("p_t", "T", Role.TEACHER, "c1"), ttl=60, now=time.time() - 3600
    )
    for credential, status, code in [
        ("garbage", 401, "unauthorized"),
        (expired, 401, "token_expired"),
    ]:
        got_status, body = await _mint(room, credential, "student")
        assert (got_status, body["code"]) == (status, code)
    response = await room.server.http.post(
        f"/api/sessions/{room.session_id}/tokens", json={"role": "student"}
    )
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")
    response = await room.server.http.post(
        "/api/sessions/s_nosuchsession/tokens",
        json={"role": "student", "class_id": "c1", "name": "X"},
        headers={"authorization": f"Bearer {API_KEY}"},
    )
    assert (response.status_code, response.json()["code"]) == (404, "session_not_found")
