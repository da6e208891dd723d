"""`classbridge serve` as a newcomer runs it: a real process, its demo session, and the links."""

from __future__ import annotations

import asyncio
import errno
import socket
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from server.cli import listen
from server.client import ClassbridgeClient
from server.workers import REUSE_PORT
from tests.helpers import JSON, MSGPACK
from tests.processes import CLASSBRIDGE, serve, wait_healthy


async def test_serve_prints_a_working_demo_session() -> None:
    async with serve("--log-level", "warning") as running:
        classes = await running.read_until(r"^  Class (c\d): (.+) \(([A-Z]{2})\)$", 2)
        links = await running.read_until(r"teacher link: +(\S+)", 2)
        codes = await running.read_until(r"student join code: ([A-Z2-9]{4}-[A-Z2-9]{4})", 2)
        assert [m[1] for m in classes] == ["c1", "c2"]
        assert classes[0][3] != classes[1][3]  # two countries
        async with httpx.AsyncClient(base_url=running.url) as http:
            health = await wait_healthy(http)
            assert health.json()["status"] == "ok"
            page = await http.get("/")
            assert page.status_code == 200
            assert "<html" in page.text.lower()

            tokens = [parse_qs(urlsplit(m[1]).query)["token"][0] for m in links]
            for token, wire_format, class_id in zip(
                tokens, (MSGPACK, JSON), ("c1", "c2"), strict=True
            ):
                teacher = ClassbridgeClient(f"ws://127.0.0.1:{running.port}/ws", token, wire_format)
                welcome = await teacher.connect()
                await teacher.close()
                assert (welcome.participant["role"], welcome.participant["class_id"]) == (
                    "teacher",
                    class_id,
                )
            for match, class_id in zip(codes, ("c1", "c2"), strict=True):
                joined = await http.post("/api/join", json={"code": match[1], "name": "Amani"})
                assert joined.status_code == 201
                assert joined.json()["participant"]["class_id"] == class_id
            # No API key: session creation is off.
            created = await http.post("/api/sessions", json={})
            assert (created.status_code, created.json()["code"]) == (403, "api_disabled")
    assert any("generated" in line and "secret" in line for line in running.stderr)


async def test_serve_with_an_api_key_has_no_demo() -> None:
    key = "an-operator-key-for-this-test"
    body = {
        "title": "From the CLI",
        "classes": [{"name": "A", "country": "PT", "timezone": "UTC", "language": "pt"}],
    }
    async with (
        serve("--api-key", key, "--no-demo") as running,
        httpx.AsyncClient(base_url=running.url) as http,
    ):
        await wait_healthy(http)
        created = await http.post(
            "/api/sessions", json=body, headers={"authorization": f"Bearer {key}"}
        )
        assert created.status_code == 201
    assert not any("Demo session" in line for line in running.stdout)


async def test_serve_refuses_inconsistent_options() -> None:
    process = await asyncio.create_subprocess_exec(
        str(CLASSBRIDGE),
        "serve",
        "--history-size",
        "10",
        "--snapshot-every",
        "50",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 2
    assert b"snapshot_every" in stderr


@pytest.mark.parametrize("by", ["a plain socket", "another server's workers"])
async def test_serve_says_when_the_port_is_taken(by: str) -> None:
    """The second case: workers listen with SO_REUSEPORT, which a second `serve --workers`
    would share without a word if it only bound with SO_REUSEPORT itself (server/cli.py)."""
    workers = by == "another server's workers"
    # Never reached: the port is checked first. (Several workers need a shared broker.)
    options = ["--workers", "2", "--broker", "redis://127.0.0.1:9/0"] if workers else []
    with socket.socket() as taken:
        if workers:
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        process = await asyncio.create_subprocess_exec(
            str(CLASSBRIDGE),
            "serve",
            "--port",
            port,
            *options,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}".encode() in stderr


async def test_access_log_never_records_tokens() -> None:
    secret_part = "eyJzZWNyZXQiOiJ0b2tlbiJ9"
    async with serve("--log-level", "info") as running:
        async with httpx.AsyncClient(base_url=running.url) as http:
            await wait_healthy(http)
            page = await http.get(f"/?token=head.{secret_part}.sig&lang=pt")
            assert page.status_code == 200
            page = await http.get("/?code=K7M4QX2P")
            assert page.status_code == 200
        lines = await running.read_until(r'"GET /\?(\S+) HTTP', 2)
    assert [line[1] for line in lines] == ["token=[redacted]&lang=pt", "code=[redacted]"]
    assert all(secret_part not in text for text in running.stdout + running.stderr)


async def test_serve_refuses_a_bad_ice_url_saying_why() -> None:
    process = await asyncio.create_subprocess_exec(
        str(CLASSBRIDGE),
        "serve",
        "--stun-urls",
        "stun:stun.example.org:3478",
        "--turn-urls",
        "turn://turn.example.org:3478",
        "--turn-secret",
        "shared-with-coturn",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 2
    assert b"turn_urls: 'turn://turn.example.org:3478' must not have '//'" in stderr
    assert b"shared-with-coturn" not in stderr  # the secret is not repeated


async def test_connections_to_the_listening_socket_send_without_delay() -> None:
    """On asyncio's own loop (no uvloop) too: an accepted connection has Nagle's algorithm off,
    or a response written in parts waits for the client's delayed ACK (see `listen`)."""
    assert isinstance(asyncio.get_running_loop(), asyncio.BaseEventLoop)
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Record(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    sock = listen("127.0.0.1", 0)
    server = await asyncio.get_running_loop().create_server(Record, sock=sock)
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", sock.getsockname()[1])
        assert await asyncio.wait_for(accepted, 5) != 0
        writer.close()
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.skipif(not REUSE_PORT, reason="a socket per worker is Linux's (server/workers.py)")
def test_a_second_server_is_refused_before_the_first_ones_workers_listen() -> None:
    """The supervisor's socket never listens: until a worker listened, a second `serve
    --workers` on the port was let in beside it and shared its connections."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    first = listen("127.0.0.1", port, reuse_port=True)
    try:
        with pytest.raises(OSError, match="in use") as refused:
            listen("127.0.0.1", port, reuse_port=True).close()
        assert refused.value.errno == errno.EADDRINUSE
    finally:
        first.close()
