"""WebSockets to /ws reach the endpoint without Starlette's middleware; everything else does not
change: other paths, plain requests, the errors the app's handlers used to take."""

from __future__ import annotations

import pytest
from starlette.exceptions import WebSocketException
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import Message
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from server.app import create_app
from server.errors import InvalidMessage
from server.settings import settings_from_env
from server.ws_shortcut import ClassbridgeApp, route_path
from tests.live import LiveServer


def _app(seen: list[object]) -> ClassbridgeApp:
    async def endpoint(websocket: WebSocket) -> None:
        seen.append(websocket.scope.get("app"))
        await websocket.accept()
        text = await websocket.receive_text()
        if text == "refuse":
            raise WebSocketException(code=4321, reason="refused")
        if text == "classbridge-error":
            raise InvalidMessage("bad")
        await websocket.send_text(f"echo {text}")
        await websocket.close()

    async def hello(_: object) -> PlainTextResponse:
        return PlainTextResponse("hello")

    return ClassbridgeApp(routes=[Route("/hello", hello), WebSocketRoute("/ws", endpoint)])


async def _talk(app: ClassbridgeApp, path: str, text: str) -> list[Message]:
    """One WebSocket over plain ASGI channels: connect, send ``text``; what the app sent."""
    incoming: list[Message] = [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": text},
        {"type": "websocket.disconnect", "code": 1000},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": path, "root_path": "", "headers": [], "query_string": b""}
    await app(scope, receive, send)
    return sent


async def test_the_shortcut_serves_ws_and_sets_the_app() -> None:
    seen: list[object] = []
    app = _app(seen)
    assert app.websocket_endpoint is not None
    sent = await _talk(app, "/ws", "hi")
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert sent[1]["text"] == "echo hi"
    assert seen == [app]


async def test_a_websocket_exception_closes_with_its_code() -> None:
    sent = await _talk(_app([]), "/ws", "refuse")
    assert sent[-1] == {"type": "websocket.close", "code": 4321, "reason": "refused"}


async def test_an_error_for_the_apps_handlers_ends_the_connection_quietly() -> None:
    sent = await _talk(_app([]), "/ws", "classbridge-error")
    assert [m["type"] for m in sent] == ["websocket.accept"]  # no exception reaches the server


async def test_other_paths_take_the_usual_way() -> None:
    seen: list[object] = []
    sent = await _talk(_app(seen), "/elsewhere", "hi")
    assert sent == [{"type": "websocket.close", "code": 1000, "reason": ""}]  # the router's
    assert seen == []


async def test_the_server_app_has_the_shortcut_and_refuses_other_paths(
    live_server: LiveServer,
) -> None:
    app = create_app(settings_from_env({}, api_key="k" * 32, secret="s" * 64))
    assert isinstance(app, ClassbridgeApp)
    assert app.websocket_endpoint is not None
    with pytest.raises(InvalidStatus) as refused:
        await connect(live_server.ws_url + "x", open_timeout=5)
    assert refused.value.response.status_code == 403


def test_an_app_without_ws_has_no_shortcut() -> None:
    async def hello(_: object) -> PlainTextResponse:
        return PlainTextResponse("hello")

    assert ClassbridgeApp(routes=[Route("/hello", hello)]).websocket_endpoint is None


@pytest.mark.parametrize(
    ("path", "root", "expected"),
    [
        ("/ws", "", "/ws"),
        ("/classbridge/ws", "/classbridge", "/ws"),
        ("/classbridgews", "/classbridge", "/classbridgews"),  # not under the root path
        ("/classbridge", "/classbridge", "/classbridge"),
    ],
)
def test_route_path_strips_the_root_path_like_the_router(
    path: str, root: str, expected: str
) -> None:
    assert route_path({"type": "websocket", "path": path, "root_path": root}) == expected
