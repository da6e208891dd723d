"""A real Classbridge server (uvicorn, ephemeral port) in the test's event loop, with helpers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import uvicorn

from server.app import create_app
from server.broker import Broker
from server.cli import listen
from server.client import ClassbridgeClient
from server.protocol.codec import WireFormat
from server.services import Services
from server.settings import Settings, settings_from_env
from server.websocket_protocol import ClassbridgeWebSocketProtocol

API_KEY = "test-operator-key-0123456789"
SECRET = "test-secret-0123456789abcdef0123456789"

TWO_CLASSES: list[dict[str, str]] = [
    {"name": "Turma 6B", "country": "PT", "timezone": "Europe/Lisbon", "language": "pt-PT"},
    {"name": "Grade 6 Kestrels", "country": "KE", "timezone": "Africa/Nairobi", "language": "en"},
]


@dataclass
class LiveServer:
    settings: Settings
    port: int
    server: uvicorn.Server
    task: asyncio.Task[None]
    http: httpx.AsyncClient
    services: Services  # the app's own: tests look inside it, or act as the server would
    clients: list[ClassbridgeClient] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def create_session(self, **body: Any) -> dict[str, Any]:
        payload = {"title": "Water in our towns", "classes": TWO_CLASSES, **body}
        response = await self.http.post(
            "/api/sessions", json=payload, headers={"authorization": f"Bearer {API_KEY}"}
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def self_join(self, code: str, name: str) -> dict[str, Any]:
        response = await self.http.post("/api/join", json={"code": code, "name": name})
        assert response.status_code == 201, response.text
        joined: dict[str, Any] = response.json()
        return joined

    async def mint(
        self, session_id: str, role: str, class_id: str, name: str, by: str = API_KEY, **extra: Any
    ) -> str:
        response = await self.http.post(
            f"/api/sessions/{session_id}/tokens",
            json={"role": role, "class_id": class_id, "name": name, **extra},
            headers={"authorization": f"Bearer {by}"},
        )
        assert response.status_code == 201, response.text
        token: str = response.json()["token"]
        return token

    def client(
        self, token: str, wire_format: WireFormat = WireFormat.MSGPACK, **options: Any
    ) -> ClassbridgeClient:
        client = ClassbridgeClient(self.ws_url, token, wire_format, **options)
        self.clients.append(client)
        return client

    async def stop(self) -> None:
        for client in self.clients:
            await client.close()
        await self.http.aclose()
        self.server.should_exit = True
        await asyncio.wait_for(self.task, 10)


async def start_server(broker: Broker | None = None, **overrides: Any) -> LiveServer:
    """Start a server; ``overrides`` are Settings or Limits fields (e.g. history_size=10).

    ``broker`` replaces the one the settings name (a test can inject faults into a real one).

    ``settings_from_env`` reads None as "not given"; here ``api_key=None`` means what it says:
    a server without an operator API key.
    """
    options: dict[str, Any] = {"api_key": API_KEY, "secret": SECRET, "demo": False}
    # Every test client connects from 127.0.0.1, and a module's shared server sees hundreds of
    # connections: the per-address limit would refuse them. Its own tests set it (test_access).
    options.update(connections_per_ip_per_minute=1e6, connections_per_ip_burst=100_000)
    options.update(overrides)
    settings = settings_from_env({}, **options)
    if options["api_key"] is None:
        settings = replace(settings, api_key=None)
    sock = listen("127.0.0.1", 0)  # as `classbridge serve` binds: see its docstring
    port = sock.getsockname()[1]
    app = create_app(settings, broker)
    services: Services = app.state.services
    config = uvicorn.Config(
        app,
        log_level="warning",
        ws_max_size=settings.limits.max_frame_bytes,
        ws=ClassbridgeWebSocketProtocol,
        ws_per_message_deflate=False,
        lifespan="on",
        proxy_headers=settings.proxy_headers,
        forwarded_allow_ips=list(settings.forwarded_allow_ips),
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(10):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")
    return LiveServer(settings, port, server, task, http, services)
