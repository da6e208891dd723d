"""A real server and Debian's headless Chromium, driven by Playwright, for the demo page.

One server and one browser serve the whole package (they live in the package's event loop:
mark tests with BROWSER_LOOP); each test opens its own session and its own browser context, so
tests share no pages, storage or network state (a context can go offline on its own).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.live import LiveServer, start_server

BROWSER_LOOP = pytest.mark.asyncio(loop_scope="package")

# Debian's Chromium, never a browser downloaded by `playwright install`.
CHROMIUM = "/usr/bin/chromium"
# What headless Chromium needs on these machines (DESIGN.md, "Known pitfalls"). Playwright's
# launch() gives every browser it starts a fresh temporary --user-data-dir of its own (and
# refuses one in `args`), so each test session starts from an empty profile.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
WAIT_MS = 10_000  # the longest any single wait on a page may take
ARTIFACTS = Path(os.environ.get("CLASSBRIDGE_ARTIFACTS", "test-artifacts")) / "client_demo"

# Records every WebSocket the page opens (window.__sockets), so a test can cut the live one;
# while window.__networkDown is true, new ones go to a closed port and fail at once, as with no
# network. (Chromium's offline emulation, context.set_offline, sometimes holds a client's close
# handshake for many seconds, so the tests do not use it.)
RECORD_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.__networkDown = false;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(window.__networkDown ? "ws://127.0.0.1:9/ws" : url, protocols);
      window.__sockets.push(this);
    }
  };
})();
"""


def chromium_path() -> str:
    """Like tests/tools.py required_tool: skip on a developer's machine, fail in CI."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} required when CI is set; .ci/run installs it")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")


@pytest_asyncio.fixture(loop_scope="package", scope="package")
async def browser() -> AsyncIterator[Browser]:
    path = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS, timeout=WAIT_MS * 3
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="package", scope="package")
async def demo_server(browser: Browser) -> AsyncIterator[LiveServer]:
    # Students and the tests join often; presence stays through short cuts.
    server = await start_server(joins_per_minute=10_000.0, joins_burst=1000)
    yield server
    await server.stop()


@pytest_asyncio.fixture(loop_scope="package")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    created = await browser.new_context(viewport={"width": 1280, "height": 900})
    created.set_default_timeout(WAIT_MS)
    await created.add_init_script(RECORD_SOCKETS)
    yield created
    await created.close()


OpenPage = Callable[..., Awaitable[Page]]


@pytest_asyncio.fixture(loop_scope="package")
async def open_page(context: BrowserContext, demo_server: LiveServer) -> AsyncIterator[OpenPage]:
    """Opens the demo page (``?token=`` or ``?code=``); fails the test on uncaught page errors."""
    errors: list[str] = []

    async def open_(query: str, live: bool = True) -> Page:
        page = await new_window(context)
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(f"{demo_server.base_url}/?{query}")
        if live:
            await expect_live(page)
        return page

    yield open_
    assert errors == [], errors


async def new_window(context: BrowserContext) -> Page:
    """A new page of the context in a window of its own. Headless Chromium draws only the front
    tab of a window: a live demo page left behind a newer tab got one frame a second or less,
    and every click, mouse move or stability check on it waited that long. The page stays in
    the context (its init scripts, clock and storage), only its window is new."""
    if not context.pages:
        return await context.new_page()  # a context's first page opens its own window
    page_session = await context.new_cdp_session(context.pages[0])
    info = await page_session.send("Target.getTargetInfo")
    await page_session.detach()
    assert context.browser is not None
    browser_session = await context.browser.new_browser_cdp_session()
    target = {
        "url": "about:blank",
        "browserContextId": info["targetInfo"]["browserContextId"],
        "newWindow": True,
    }
    async with context.expect_page() as opened:
        await browser_session.send("Target.createTarget", target)
    await browser_session.detach()
    return await opened.value


async def expect_live(page: Page) -> None:
    await expect(page.locator("#status")).to_have_attribute("data-state", "live", timeout=WAIT_MS)


async def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot under test-artifacts/client_demo/ (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
