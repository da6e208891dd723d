"""Video on the station view (client_demo/media.js, peer.js, video.js) in headless Chromium with
its fake camera: browser to browser, browser to the aiortc synthetic station, and through the
server's relay. Frames are read from each peer connection's getStats() (the fake camera draws
no counter pattern, so the tests count decoded frames instead of reading counters)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, Page, expect

from server.client import ClassbridgeClient
from server.media.station import SyntheticStation
from server.media.video import VideoFormat
from tests.client_demo.conftest import BROWSER_LOOP, WAIT_MS, OpenPage, new_window, screenshot
from tests.helpers import Classroom, open_classroom
from tests.live import LiveServer, start_server

pytestmark = [BROWSER_LOOP, pytest.mark.slow]

MEDIA_TIMEOUT = 30.0  # connecting and decoding take a few seconds; a busy CI machine more
SMALL = VideoFormat(192, 144, 15)  # the synthetic station's video: light for aiortc
FRAMES = 15  # frames the synthetic station must count from the browser
READ_FRAMES = "() => window.classbridgeDemo.media.framesDecoded()"
PARTNER_SIZES = """() => [...document.querySelectorAll('#video-tiles video[data-remote]')]
  .map((video) => [video.dataset.remote, video.videoWidth])"""


async def until(condition: Callable[[], bool], timeout: float = MEDIA_TIMEOUT) -> None:
    """Poll: frames are counted by aiortc's tasks, which signal nothing a test could await."""
    async with asyncio.timeout(timeout):
        while True:
            if condition():
                return
            await asyncio.sleep(0.05)


async def frames_from(page: Page, remote: str) -> int:
    decoded: dict[str, int] = await page.evaluate(READ_FRAMES)
    return decoded.get(remote, 0)


async def assert_frames_rise(page: Page, remotes: list[str]) -> None:
    """Inbound frames decoded from each remote rise between two consecutive samples taken on this
    page. Consecutive, not against the first sample: the count is summed over the page's
    connections, and it falls when one is replaced (a new `sub-N`, a relay taking over from a
    peer connection), after which the new connection must not have to catch up with the old."""
    async with asyncio.timeout(MEDIA_TIMEOUT):
        for remote in remotes:
            previous = 0
            while True:
                frames = await frames_from(page, remote)
                if previous and frames > previous:
                    break
                previous = frames
                await asyncio.sleep(0.1)


async def assert_partner_videos(page: Page, remotes: list[str]) -> None:
    """The page shows a playing <video> (with a size) for each remote."""
    await page.wait_for_function(
        f"""() => {{
          const sizes = new Map(({PARTNER_SIZES})());
          return {remotes!r}.every((remote) => sizes.get(remote) > 0);
        }}""",
        timeout=MEDIA_TIMEOUT * 1000,
    )


async def participant(page: Page) -> str:
    me: str = await page.evaluate("window.classbridgeDemo.client.me.id")
    return me


async def station_page(
    open_page: OpenPage, room: Classroom, index: int, name: str, participant_id: str | None = None
) -> Page:
    extra = {} if participant_id is None else {"participant_id": participant_id}
    token = await room.token("station", index, name, **extra)
    page = await open_page(f"token={token}")
    await page.wait_for_function("() => window.classbridgeDemo.media.started", timeout=WAIT_MS)
    return page


class Synthetic:
    """Synthetic stations started in the test's loop, closed at the end of the test."""

    def __init__(self) -> None:
        self.started: list[SyntheticStation] = []

    async def start(self, server: LiveServer, token: str) -> SyntheticStation:
        station = SyntheticStation(server.ws_url, token, video=SMALL)
        self.started.append(station)
        await station.start()
        return station

    async def close(self) -> None:
        for station in self.started:
            await station.close()


@pytest_asyncio.fixture(loop_scope="package")
async def synthetic() -> AsyncIterator[Synthetic]:
    started = Synthetic()
    yield started
    await started.close()


async def test_two_station_pages_see_each_other(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    room = await open_classroom(demo_server)
    lisbon = await station_page(open_page, room, 0, "Lisbon station")
    nairobi = await station_page(open_page, room, 1, "Nairobi station")
    ids = {lisbon: await participant(lisbon), nairobi: await participant(nairobi)}
    for page, other in ((lisbon, nairobi), (nairobi, lisbon)):
        await assert_frames_rise(page, [ids[other]])
        await assert_partner_videos(page, [ids[other]])
    # Each tile is labelled with the partner's class; the status line says how video flows.
    await expect(lisbon.locator("figure[data-remote] figcaption")).to_have_text(
        "Grade 6 Kestrels (Nairobi station)"
    )
    await expect(nairobi.locator("figure[data-remote] figcaption")).to_have_text(
        "Turma 6B (Lisbon station)"
    )
    await expect(lisbon.locator("#topology")).to_have_attribute("data-topology", "p2p")
    await expect(lisbon.locator("#topology")).to_contain_text(
        "Grade 6 Kestrels (Nairobi station): connected"
    )
    # One connection each, opened by the lower participant id (the impolite side).
    names = [
        await page.evaluate("Object.keys(window.classbridgeDemo.media.states())")
        for page in (lisbon, nairobi)
    ]
    assert len(names[0]) == len(names[1]) == 1
    assert names[0][0].split("/")[1] == names[1][0].split("/")[1]  # the same `pc`
    # The camera toggle turns the track off (no renegotiation) and on again.
    camera = lisbon.get_by_role("button", name="Turn camera off")
    await camera.click()
    await expect(lisbon.get_by_role("button", name="Turn camera on")).to_have_attribute(
        "aria-pressed", "true"
    )
    enabled = "window.classbridgeDemo.media.local.getVideoTracks()[0].enabled"
    assert await lisbon.evaluate(enabled) is False
    await lisbon.get_by_role("button", name="Turn camera on").click()
    assert await lisbon.evaluate(enabled) is True
    await screenshot(lisbon, "video-station-p2p")


@pytest.mark.parametrize("offerer", ["browser", "synthetic"])
async def test_a_station_page_and_a_synthetic_station_see_each_other(
    demo_server: LiveServer, open_page: OpenPage, synthetic: Synthetic, offerer: str
) -> None:
    """The lower participant id offers: the browser (aiortc answers), or the synthetic station
    (the browser answers, as the polite side)."""
    room = await open_classroom(demo_server)
    suffix = secrets.token_hex(4)
    browser_id, synthetic_id = (f"p_a_{suffix}", f"p_b_{suffix}")
    if offerer == "synthetic":
        browser_id, synthetic_id = synthetic_id, browser_id
    page = await station_page(open_page, room, 0, "Lisbon station", browser_id)
    token = await room.token("station", 1, "Simulated Nairobi", participant_id=synthetic_id)
    station = await synthetic.start(demo_server, token)

    await assert_frames_rise(page, [synthetic_id])
    await assert_partner_videos(page, [synthetic_id])
    await until(lambda: station.states().get(browser_id) == "connected")
    await until(lambda: station.received()[browser_id].video_frames >= FRAMES)
    received = station.received()[browser_id]
    assert received.audio_frames > 0
    link = station.links[browser_id]
    assert link.offerer is (offerer == "synthetic")
    [name] = await page.evaluate("Object.keys(window.classbridgeDemo.media.states())")
    assert name == f"{synthetic_id}/{link.pc_name}"
    await expect(page.locator("figure[data-remote] figcaption")).to_have_text(
        "Grade 6 Kestrels (Simulated Nairobi)"
    )
    await screenshot(page, f"video-station-synthetic-{offerer}-offers")


RELAY_ONLY = """() => {
  const names = Object.keys(window.classbridgeDemo.media.states());
  return names.length === 2 && names.every((name) => name.startsWith("relay/"));
}"""


async def test_three_publishers_through_the_relay(
    demo_server: LiveServer, open_page: OpenPage, synthetic: Synthetic
) -> None:
    room = await open_classroom(demo_server)
    lisbon = await station_page(open_page, room, 0, "Lisbon station")
    nairobi = await station_page(open_page, room, 1, "Nairobi station")
    station = await synthetic.start(
        demo_server, await room.token("station", 1, "Simulated Nairobi")
    )
    teacher: ClassbridgeClient = await room.teacher(0)
    await teacher.command({"type": "media.relay", "on": True})

    ids = [await participant(lisbon), await participant(nairobi), station.participant_id]
    for page in (lisbon, nairobi):
        await expect(page.locator("#topology")).to_have_attribute(
            "data-topology", "relay", timeout=WAIT_MS
        )
        # Once the peer connections are gone, every frame counted comes through the relay.
        await page.wait_for_function(RELAY_ONLY, timeout=MEDIA_TIMEOUT * 1000)
        others = [remote for remote in ids if remote != await participant(page)]
        await assert_frames_rise(page, others)
        await assert_partner_videos(page, others)
        states = await page.evaluate("window.classbridgeDemo.media.states()")
        assert states["relay/pub"] == "connected"  # no peer connection besides the relay's
        assert [key.split("/")[0] for key in states] == ["relay", "relay"]
    await until(
        lambda: all(
            station.received().get(remote, None) is not None
            and station.received()[remote].video_frames >= FRAMES
            for remote in ids[:2]
        )
    )
    await expect(lisbon.locator("figure[data-remote]")).to_have_count(2)
    await screenshot(lisbon, "video-station-relay")


ICE_SETTINGS: dict[str, Any] = {
    "turn_urls": ["turn:127.0.0.1:9?transport=udp"],  # nothing listens: host candidates do
    "turn_secret": "client-demo-ice-secret",
    "turn_ttl": 60,  # the shortest the server allows: refreshed 12 s before expiry
}
READ_ICE = """() => {
  const { client, media } = window.classbridgeDemo;
  const [link] = media.peers.values();
  return { refreshes: window.__iceEvents, servers: client.iceServers,
           expiresAt: client.iceExpiresAt, state: link?.state,
           configured: link?.pc.getConfiguration().iceServers };
}"""
COUNT_ICE_EVENTS = """() => {
  window.__iceEvents = 0;
  window.classbridgeDemo.client.on("iceServers", () => { window.__iceEvents += 1; });
}"""


async def test_ice_servers_are_refreshed_before_they_expire(context: BrowserContext) -> None:
    """The page's clock runs ahead to the refresh time (expires_at - lifetime / 5); the SDK asks
    the server for fresh servers and gives them to the open peer connection."""
    server = await start_server(joins_per_minute=10_000.0, joins_burst=1000, **ICE_SETTINGS)
    try:
        room = await open_classroom(server)
        await context.clock.install()
        pages = []
        for index, name in enumerate(("Lisbon station", "Nairobi station")):
            page = await new_window(context)
            await page.goto(f"{server.base_url}/?token={await room.token('station', index, name)}")
            await page.wait_for_function("() => window.classbridgeDemo?.media.started")
            await page.evaluate(COUNT_ICE_EVENTS)
            pages.append(page)
        first = pages[0]
        await first.wait_for_function(
            "() => [...window.classbridgeDemo.media.peers.values()][0]?.state === 'connected'",
            timeout=MEDIA_TIMEOUT * 1000,
        )
        before = await first.evaluate(READ_ICE)
        [turn] = before["servers"]
        assert turn["username"].endswith(await participant(first))
        assert before["configured"][0]["username"] == turn["username"]
        assert before["refreshes"] == 0

        await context.clock.fast_forward(49_000)  # past 60 s - 12 s
        await first.wait_for_function("() => window.__iceEvents >= 1", timeout=WAIT_MS)
        after = await first.evaluate(READ_ICE)
        assert after["expiresAt"] >= before["expiresAt"]
        assert after["configured"] == after["servers"]  # given to the open connection
        assert after["state"] == "connected"
    finally:
        await server.stop()


async def test_a_broken_connection_to_aiortc_is_replaced_by_a_new_one(
    demo_server: LiveServer, open_page: OpenPage, synthetic: Synthetic
) -> None:
    """aiortc cannot restart ICE: when its side of the connection goes away, the browser (the
    lower id, so the side that opened it) opens a new one under a new `pc` name."""
    room = await open_classroom(demo_server)
    suffix = secrets.token_hex(4)
    browser_id, synthetic_id = f"p_a_{suffix}", f"p_b_{suffix}"
    page = await station_page(open_page, room, 0, "Lisbon station", browser_id)
    token = await room.token("station", 1, "Simulated Nairobi", participant_id=synthetic_id)
    station = await synthetic.start(demo_server, token)
    await until(lambda: station.states().get(browser_id) == "connected")
    first = station.links[browser_id]
    assert first.pc_name == "cam-1"

    await first.pc.close()  # the station's side dies (its watchdog then drops the link)
    await until(
        lambda: (
            (link := station.links.get(browser_id)) is not None
            and link is not first
            and link.state == "connected"
        )
    )
    assert station.links[browser_id].pc_name == "cam-2"
    frames = station.links[browser_id].received.video_frames
    await until(lambda: station.links[browser_id].received.video_frames > frames)
    await assert_frames_rise(page, [synthetic_id])


LINK = "[...window.classbridgeDemo.media.peers.values()][0]"
UFRAGS = f"""() => {{
  const pc = {LINK}.pc;
  const ufrag = (d) => d.sdp.match(/a=ice-ufrag:(\\S+)/)[1];
  return [ufrag(pc.localDescription), ufrag(pc.remoteDescription)];
}}"""
HOLD_SIGNALS = """() => {
  const client = window.classbridgeDemo.client;
  const send = client.signal.bind(client);
  const held = new Promise((resolve) => { window.__release = resolve; });
  client.signal = async (...args) => { await held; return send(...args); };
}"""
RESTARTED = f"""(before) => {LINK}.pc.signalingState === "stable"
  && {LINK}.pc.connectionState === "connected"
  && {LINK}.pc.localDescription.sdp.match(/a=ice-ufrag:(\\S+)/)[1] !== before"""


async def test_two_pages_restarting_ice_at_once_keep_one_connection(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    """Perfect negotiation: both sides offer an ICE restart on the same connection at the same
    moment; the polite one (the higher id) rolls its offer back and answers the other's."""
    room = await open_classroom(demo_server)
    pages = [
        await station_page(open_page, room, 0, "Lisbon station"),
        await station_page(open_page, room, 1, "Nairobi station"),
    ]
    ids = [await participant(page) for page in pages]
    for page, other in zip(pages, reversed(ids), strict=True):
        await assert_frames_rise(page, [other])
    names = [await page.evaluate(f"{LINK}.name") for page in pages]
    before = [await page.evaluate(UFRAGS) for page in pages]

    # Both offers are made before either is sent, so they are sure to cross.
    for page in pages:
        await page.evaluate(HOLD_SIGNALS)
    restarted = [await page.evaluate(f"{LINK}.restartIce()") for page in pages]
    assert restarted == [True, True]
    for page in pages:
        await page.wait_for_function(f"() => {LINK}.pc.signalingState === 'have-local-offer'")
    for page in pages:
        await page.evaluate("window.__release()")
    for page, (ufrag, _) in zip(pages, before, strict=True):
        await page.wait_for_function(RESTARTED, arg=ufrag, timeout=MEDIA_TIMEOUT * 1000)
    after = [await page.evaluate(UFRAGS) for page in pages]
    assert [await page.evaluate(f"{LINK}.name") for page in pages] == names  # the same pc
    assert after[0][0] == after[1][1]  # both agree on the new credentials
    assert after[1][0] == after[0][1]
    # Each saw the other's offer cross its own: one ignored it, the other rolled back.
    assert [await page.evaluate(f"{LINK}.collisions") for page in pages] == [1, 1]
    for page, other in zip(pages, reversed(ids), strict=True):
        await assert_frames_rise(page, [other])
