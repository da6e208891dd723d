"""POST /api/join: a class join code and a name give a student token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.conftest import SHARED_LOOP, ServerFactory
from tests.helpers import Classroom, open_classroom, raw_socket
from tests.live import LiveServer, start_server

# Every self-join in this module comes from 127.0.0.1: lift the per-address limit except where
# it is under test.
GENEROUS: dict[str, Any] = {"self_joins_per_minute": 6000.0, "self_joins_burst": 1000}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def room() -> AsyncIterator[Classroom]:
    server = await start_server(**GENEROUS)
    yield await open_classroom(server)
    await server.stop()


async def _join(server: LiveServer, body: Any) -> httpx.Response:
    return await server.http.post("/api/join", json=body)


@SHARED_LOOP
async def test_a_student_joins_with_a_code(room: Classroom) -> None:
    response = await _join(room.server, {"code": room.join_code(1), "name": "  Amani   Otieno "})
    assert response.status_code == 201
    joined = response.json()
    assert joined["session_id"] == room.session_id
    assert joined["title"] == "Water in our towns"
    assert joined["participant"]["name"] == "Amani Otieno"
    assert (joined["participant"]["role"], joined["participant"]["class_id"]) == ("student", "c2")
    assert joined["class"]["country"] == "KE"
    assert joined["expires_in"] == room.server.settings.student_token_ttl
    async with raw_socket(room.server) as ws:
        welcome = await ws.join(joined["token"])
    assert welcome["participant"] == joined["participant"]


@SHARED_LOOP
async def test_the_same_name_twice_is_two_students(room: Classroom) -> None:
    first = (await _join(room.server, {"code": room.join_code(0), "name": "Rui"})).json()
    second = (await _join(room.server, {"code": room.join_code(0), "name": "Rui"})).json()
    assert first["participant"]["id"] != second["participant"]["id"]


@SHARED_LOOP
@pytest.mark.parametrize(
    "typed", [str.lower, str.upper, lambda c: c.replace("-", ""), lambda c: c.replace("-", " ")]
)
async def test_codes_are_accepted_as_people_type_them(room: Classroom, typed: Any) -> None:
    response = await _join(room.server, {"code": f" {typed(room.join_code(0))} ", "name": "Inês"})
    assert response.status_code == 201
    assert response.json()["participant"]["class_id"] == "c1"


@SHARED_LOOP
@pytest.mark.parametrize(
    ("body", "detail"),
    [
        pytest.param({"name": "Amani"}, "code", id="no code"),
        pytest.param({"code": 12345678, "name": "Amani"}, "code", id="code not a string"),
        pytest.param({"code": "VALID"}, "name", id="no name"),
        pytest.param({"code": "VALID", "name": " "}, "name", id="empty name"),
        pytest.param({"code": "VALID", "name": "n" * 41}, "name", id="long name"),
        pytest.param({"code": "VALID", "name": "Ama\x00ni"}, "name", id="control character"),
        pytest.param({"code": "VALID", "name": "Ama\u202eni"}, "name", id="format character"),
        pytest.param({"code": "VALID", "name": ["Amani"]}, "name", id="name not a string"),
    ],
)
async def test_join_validation_errors(room: Classroom, body: dict[str, Any], detail: str) -> None:
    if body.get("code") == "VALID":
        body = {**body, "code": room.join_code(0)}
    response = await _join(room.server, body)
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["detail"]) == ("invalid_message", detail)


@SHARED_LOOP
@pytest.mark.parametrize("code", ["ZZZZ-ZZZZ", "", "----", "ABCD-EFG"])
async def test_an_unknown_code_is_404(room: Classroom, code: str) -> None:
    response = await _join(room.server, {"code": code, "name": "Amani"})
    assert (response.status_code, response.json()["code"]) == (404, "unknown_code")


async def test_attempts_are_rate_limited_per_address(server_factory: ServerFactory) -> None:
    server = await server_factory(self_joins_per_minute=1.0, self_joins_burst=3)
    room = await open_classroom(server)
    # Failed attempts count too: join codes must not be guessable by trying.
    for _ in range(2):
        response = await _join(server, {"code": "ZZZZ-ZZZZ", "name": "Guesser"})
        assert response.status_code == 404
    assert (await _join(server, {"code": room.join_code(0), "name": "Rui"})).status_code == 201
    response = await _join(server, {"code": room.join_code(0), "name": "Rui"})
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 60
