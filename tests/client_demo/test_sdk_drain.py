"""The SDK and a server that drains (server/drain.py): close 1012 "draining" makes it reconnect
at once; refused again by the same stopping server, it backs off as usual."""

from __future__ import annotations

from typing import Any

from server.drain import drain
from tests.client_demo.conftest import BROWSER_LOOP, OpenPage
from tests.client_demo.test_classbridge_sdk import EMBED
from tests.helpers import open_classroom
from tests.live import LiveServer, start_server

pytestmark = BROWSER_LOOP


async def test_a_drained_connection_reconnects_at_once_then_backs_off(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    # Its own server, since it stops serving: the page (on the demo server) may reach it.
    stopping = await start_server(presence_grace=0.3, allowed_origins=[demo_server.base_url])
    try:
        room = await open_classroom(stopping)
        token = await room.student_token(0, "Inês")
        page = await open_page("", live=False)
        await page.evaluate(
            EMBED,
            [
                token,
                f"""
                const client = new Classbridge({{ token, url: "{stopping.ws_url}" }});
                window.__drained = [];
                client.on("state", (change) => {{
                  if (change.state === "reconnecting" && change.delayMs !== undefined)
                    window.__drained.push({{ code: change.code, reason: change.reason,
                                             delayMs: change.delayMs }});
                }});
                window.__client = client;
                await client.connect();
                """,
            ],
        )
        await drain(stopping.services)
        await page.wait_for_function("window.__drained.length >= 2")
        tries: list[dict[str, Any]] = await page.evaluate("window.__drained")
        await page.evaluate("window.__client.leave()")
    finally:
        await stopping.stop()
    first, second = tries[:2]
    assert (first["code"], first["reason"]) == (1012, "draining")
    assert first["delayMs"] <= 250  # at once, jittered
    assert (second["code"], second["reason"]) == (1012, "draining")  # the join was refused
    assert second["delayMs"] >= 500  # the usual backoff: the second step, half of 1000 at least
