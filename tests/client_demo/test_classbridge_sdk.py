"""The SDK (client_demo/classbridge.js) as an embedding page uses it, in headless Chromium."""

from __future__ import annotations

from playwright.async_api import Page

from tests.client_demo.conftest import BROWSER_LOOP, OpenPage
from tests.helpers import open_classroom
from tests.live import LiveServer

pytestmark = BROWSER_LOOP

# Runs `body` in the page with `Classbridge` imported and `token` given; returns what it returns.
EMBED = """async ([token, body]) => {
  const { Classbridge } = await import("/classbridge.js");
  return await (new Function("Classbridge", "token", `return (async () => { ${body} })();`))(
    Classbridge, token);
}"""


async def _blank(open_page: OpenPage) -> Page:
    return await open_page("", live=False)  # the join form: the SDK itself is not started


async def test_commands_resolve_with_acks_and_reject_with_error_codes(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    room = await open_classroom(demo_server)
    token = await room.student_token(0, "Inês")
    result = await (await _blank(open_page)).evaluate(
        EMBED,
        [
            token,
            """
            const client = new Classbridge({ token });
            const states = [];
            client.on("state", ({ state }) => states.push(state));
            const me = await client.connect();
            const ack = await client.sendChat("olá");
            const refused = await client.deleteChat(ack.seq).catch((e) => e.code);
            const missing = await client.board("nope").undo().catch((e) => [e.code, e.detail]);
            const posted = [...client.chat.values()].map((m) => m.text);
            client.leave();
            const after = await client.sendChat("gone").catch((e) => e.code);
            return { role: me.role, seq: ack.seq, refused, missing, posted, states, after };
            """,
        ],
    )
    assert result["role"] == "student"
    assert isinstance(result["seq"], int)
    assert result["refused"] == "forbidden"
    assert result["missing"] == ["not_found", "board"]
    assert result["posted"] == ["olá"]
    assert result["states"] == ["connecting", "live", "stopped"]
    assert result["after"] == "not_connected"


async def test_a_token_problem_stops_the_client_without_retrying(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    page = await _blank(open_page)
    result = await page.evaluate(
        EMBED,
        [
            "not-a-token",
            """
            const client = new Classbridge({ token, backoff: { initialMs: 1, maxMs: 2 } });
            const errors = [];
            client.on("error", (e) => errors.push(e.code));
            const code = await client.connect().then(() => "joined", (e) => e.code);
            await new Promise((resolve) => setTimeout(resolve, 100)); // a retry would be due
            return { code, errors, state: client.state };
            """,
        ],
    )
    assert result == {"code": "token_invalid", "errors": ["token_invalid"], "state": "stopped"}
    assert await page.evaluate("window.__sockets.length") == 1
