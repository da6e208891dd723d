"""Who may reach a real server from where: the Origin of WebSocket upgrades, CORS for the API,
and the per-address limit on new connections (with and without a trusted proxy)."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from server.cli import uvicorn_options
from server.protocol.codec import WireFormat
from server.settings import settings_from_env
from tests.conftest import ServerFactory
from tests.helpers import open_classroom
from tests.live import LiveServer

SUBPROTOCOL = WireFormat.JSON.value
EVIL = "https://evil.example"
SCHOOL = "https://school-a.example.org"


async def _open(server: LiveServer, **options: Any) -> ClientConnection:
    return await connect(server.ws_url, subprotocols=[SUBPROTOCOL], open_timeout=5, **options)  # type: ignore[list-item]


async def _refused(server: LiveServer, **options: Any) -> InvalidStatus:
    try:
        ws = await _open(server, **options)
    except InvalidStatus as refused:
        return refused
    await ws.close()
    raise AssertionError("the connection was accepted")


async def _joins(server: LiveServer, token: str, **options: Any) -> None:
    """The connection opens and a join over it is welcomed."""
    async with await _open(server, **options) as ws:
        await ws.send(json.dumps({"type": "join", "token": token}))
        reply = json.loads(await ws.recv(decode=True))
        assert reply["type"] == "welcome"


@contextlib.contextmanager
def _uvicorn_records(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """uvicorn's own log does not reach the root logger: capture it here too."""
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addHandler(caplog.handler)
    try:
        yield
    finally:
        uvicorn_log.removeHandler(caplog.handler)


async def test_default_allows_the_own_page_and_clients_without_origin(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    room = await open_classroom(live_server)
    token = room.teacher_token(0)
    await _joins(live_server, token)  # no Origin: a native client
    await _joins(live_server, token, origin=f"http://127.0.0.1:{live_server.port}")
    caplog.set_level(logging.INFO, logger="server.access")
    with _uvicorn_records(caplog):
        refused = await _refused(live_server, origin=EVIL)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert refused.response.status_code == 403
    assert json.loads(refused.response.body)["code"] == "origin_not_allowed"
    assert "origin_not_allowed (origin='https://evil.example' ip=127.0.0.1)" in caplog.text
    # Another port on the same host is another origin.
    other_port = f"http://127.0.0.1:{live_server.port + 1}"
    assert (await _refused(live_server, origin=other_port)).response.status_code == 403
    assert (await _refused(live_server, origin="null")).response.status_code == 403


async def test_listed_origins_connect_and_others_do_not(server_factory: ServerFactory) -> None:
    server = await server_factory(allowed_origins=[SCHOOL])
    room = await open_classroom(server)
    await _joins(server, room.teacher_token(0), origin=SCHOOL)
    await _joins(server, room.teacher_token(0), origin=f"http://127.0.0.1:{server.port}")
    assert (await _refused(server, origin=EVIL)).response.status_code == 403


async def test_star_lets_any_page_connect(server_factory: ServerFactory) -> None:
    server = await server_factory(allowed_origins=["*"])
    room = await open_classroom(server)
    await _joins(server, room.teacher_token(0), origin=EVIL)


async def test_cors_preflight_answers_listed_origins_only(server_factory: ServerFactory) -> None:
    server = await server_factory(allowed_origins=[SCHOOL])
    preflight = {"access-control-request-method": "POST"}
    ok = await server.http.options("/api/join", headers={"origin": SCHOOL, **preflight})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == SCHOOL
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in ok.headers
    bad = await server.http.options("/api/join", headers={"origin": EVIL, **preflight})
    assert bad.status_code == 400
    assert "access-control-allow-origin" not in bad.headers
    # An error answer carries the header too: the page can read the code.
    post = await server.http.post("/api/join", json={"code": "NOPE"}, headers={"origin": SCHOOL})
    assert post.status_code == 400
    assert post.headers["access-control-allow-origin"] == SCHOOL
    post = await server.http.post("/api/join", json={"code": "NOPE"}, headers={"origin": EVIL})
    assert "access-control-allow-origin" not in post.headers


async def test_no_cors_by_default_and_star_without_credentials(
    live_server: LiveServer, server_factory: ServerFactory
) -> None:
    preflight = {"origin": EVIL, "access-control-request-method": "POST"}
    answer = await live_server.http.options("/api/join", headers=preflight)
    assert "access-control-allow-origin" not in answer.headers
    star = await server_factory(allowed_origins=["*"])
    answer = await star.http.options("/api/join", headers=preflight)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in answer.headers


async def test_a_flood_of_connections_from_one_address_is_refused_with_429(
    server_factory: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    server = await server_factory(connections_per_ip_burst=5, connections_per_ip_per_minute=1.0)
    room = await open_classroom(server)
    opened = [await _open(server) for _ in range(5)]
    caplog.set_level(logging.INFO, logger="server.access")
    with _uvicorn_records(caplog):
        refused = await _refused(server)
    # A refusal is the client's doing: no error in the server's log for it.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert refused.response.status_code == 429
    assert int(refused.response.headers["retry-after"]) >= 1
    assert json.loads(refused.response.body)["code"] == "rate_limited"
    # A forged X-Forwarded-For changes nothing: the server trusts no proxy by default.
    forged = await _refused(server, additional_headers={"x-forwarded-for": "203.0.113.9"})
    assert forged.response.status_code == 429
    # A flood does not flood the log: one line per address a minute.
    assert caplog.text.count("websocket refused: rate_limited (ip=127.0.0.1") == 1
    for ws in opened:  # the connections already open are not affected
        await ws.send(json.dumps({"type": "join", "token": room.teacher_token(0)}))
        assert json.loads(await ws.recv(decode=True))["type"] == "welcome"
        await ws.close()


async def test_behind_a_trusted_proxy_each_forwarded_address_has_its_own_budget(
    server_factory: ServerFactory,
) -> None:
    server = await server_factory(
        connections_per_ip_burst=3,
        connections_per_ip_per_minute=1.0,
        proxy_headers=True,
        forwarded_allow_ips=["127.0.0.1"],
    )
    room = await open_classroom(server)
    school_a = {"x-forwarded-for": "203.0.113.5"}
    school_b = {"x-forwarded-for": "198.51.100.7"}
    for _ in range(3):
        await (await _open(server, additional_headers=school_a)).close()
    assert (await _refused(server, additional_headers=school_a)).response.status_code == 429
    await _joins(server, room.teacher_token(0), additional_headers=school_b)
    # The proxy itself (no forwarded address) has a budget of its own as well.
    await _joins(server, room.teacher_token(1))


async def test_forwarded_addresses_from_an_untrusted_peer_are_ignored(
    server_factory: ServerFactory,
) -> None:
    server = await server_factory(
        connections_per_ip_burst=2,
        connections_per_ip_per_minute=1.0,
        proxy_headers=True,
        forwarded_allow_ips=["10.9.9.9"],  # not the address the test connects from
    )
    for n in range(2):
        forged = {"x-forwarded-for": f"203.0.113.{n}"}
        await (await _open(server, additional_headers=forged)).close()
    forged = {"x-forwarded-for": "203.0.113.200"}
    assert (await _refused(server, additional_headers=forged)).response.status_code == 429


def test_the_command_line_passes_the_proxy_settings_to_uvicorn() -> None:
    settings = settings_from_env({}, proxy_headers=True, forwarded_allow_ips=["10.0.0.2"])
    options = uvicorn_options(settings)
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == ["10.0.0.2"]
    assert uvicorn_options(settings_from_env({}))["proxy_headers"] is False
