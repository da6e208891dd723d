"""Video on the teacher view and for students a teacher lets present (client_demo/video.js,
panel_video_grants.js, media.js) in headless Chromium with its fake camera. Teachers are
publishers on the server, so their page must take part in video: with a camera, or without one
as a receive-only participant; a partner that never answers is not offered to forever."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from playwright.async_api import BrowserContext, Page, expect

from server.client import ClassbridgeClient
from server.protocol.peer import PeerSignal
from tests.client_demo.conftest import BROWSER_LOOP, WAIT_MS, OpenPage, screenshot
from tests.client_demo.test_video import (
    MEDIA_TIMEOUT,
    assert_frames_rise,
    assert_partner_videos,
    participant,
    station_page,
)
from tests.helpers import Classroom, open_classroom
from tests.live import LiveServer

pytestmark = [BROWSER_LOOP, pytest.mark.slow]

# Every offer a page sends (`signal` with an offer description), read from its WebSocket.
COUNT_OFFERS = """
(() => {
  window.__offers = [];
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    try {
      const message = typeof data === "string" ? JSON.parse(data) : null;
      if (message?.type === "signal" && message.description?.type === "offer") {
        window.__offers.push({ to: message.to, pc: message.pc });
      }
    } catch { /* not JSON: not a signal */ }
    return send.call(this, data);
  };
})();
"""
OFFERS_TO = "(to) => window.__offers.filter((offer) => offer.to === to).length"
STARTED = "() => window.classbridgeDemo.media.started"
CONNECTED_TO = (
    """(remote) => window.classbridgeDemo.media.peers.get(remote)?.state === "connected" """
)
CONNECT_MS = 12_000  # media.js: an offer not answered by then counts as unanswered


async def teacher_page(
    open_page: OpenPage, room: Classroom, participant_id: str | None = None
) -> Page:
    token = room.teacher_token(0)
    if participant_id is not None:
        token = await room.token("teacher", 0, "Ms Costa", participant_id=participant_id)
    page = await open_page(f"token={token}")
    await page.wait_for_function(STARTED, timeout=WAIT_MS)
    return page


async def test_a_teacher_page_and_a_station_page_see_each_other(
    context: BrowserContext, demo_server: LiveServer, open_page: OpenPage
) -> None:
    await context.add_init_script(COUNT_OFFERS)
    room = await open_classroom(demo_server)
    teacher = await teacher_page(open_page, room)
    station = await station_page(open_page, room, 1, "Nairobi station")
    ids = {teacher: await participant(teacher), station: await participant(station)}
    for page, other in ((teacher, station), (station, teacher)):
        await assert_frames_rise(page, [ids[other]])
        await assert_partner_videos(page, [ids[other]])
    await expect(teacher.locator("#video")).to_be_visible()
    await expect(teacher.locator("#topology")).to_contain_text(
        "Grade 6 Kestrels (Nairobi station): connected"
    )
    await expect(station.locator("figure[data-remote] figcaption")).to_have_text(
        await teacher_label(station, ids[teacher])
    )
    # Longer than a connection may take to come up: nobody offers again once it is up.
    await asyncio.sleep(CONNECT_MS / 1000 + 2)
    offers = [
        await station.evaluate(OFFERS_TO, ids[teacher]),
        await teacher.evaluate(OFFERS_TO, ids[station]),
    ]
    assert 1 <= sum(offers) <= 2, offers  # the lower id offered (again at most once: a restart)
    await assert_frames_rise(station, [ids[teacher]])
    await screenshot(teacher, "video-teacher-p2p")


async def teacher_label(page: Page, teacher_id: str) -> str:
    label: str = await page.evaluate(
        """(id) => {
          const client = window.classbridgeDemo.client;
          const p = client.participants.get(id);
          return `${client.session.classes.find((c) => c.id === p.class_id).name} (${p.name})`;
        }""",
        teacher_id,
    )
    return label


@pytest.mark.parametrize("opener", ["teacher", "station"])
async def test_a_teacher_without_camera_receives_the_station(
    demo_server: LiveServer, open_page: OpenPage, opener: str
) -> None:
    """No camera: the teacher still answers (or offers receive-only) and sees the station."""
    room = await open_classroom(demo_server)
    suffix = secrets.token_hex(4)
    teacher_id, station_id = f"p_a_{suffix}", f"p_b_{suffix}"  # the lower id opens
    if opener == "station":
        teacher_id, station_id = station_id, teacher_id
    teacher = await teacher_page(open_page, room, teacher_id)
    await teacher.get_by_role("button", name="Join without my camera").click()
    await expect(teacher.get_by_role("button", name="Use my camera")).to_be_visible()
    await teacher.wait_for_function(STARTED)
    assert await teacher.evaluate("window.classbridgeDemo.media.local") is None
    await expect(teacher.locator("#own-tile")).to_be_hidden()
    await expect(teacher.get_by_role("button", name="Turn camera off")).to_be_disabled()

    station = await station_page(open_page, room, 1, "Nairobi station", station_id)
    await assert_frames_rise(teacher, [station_id])
    await assert_partner_videos(teacher, [station_id])
    await station.wait_for_function(CONNECTED_TO, arg=teacher_id, timeout=MEDIA_TIMEOUT * 1000)
    sent = await teacher.evaluate(
        """(remote) => window.classbridgeDemo.media.peers.get(remote).pc.getSenders()
             .filter((sender) => sender.track).length""",
        station_id,
    )
    assert sent == 0  # nothing goes out from a teacher without camera
    assert (await station.evaluate("window.classbridgeDemo.media.framesDecoded()")).get(
        teacher_id, 0
    ) == 0
    await teacher.evaluate("localStorage.clear()")


async def test_a_station_backs_off_from_a_teacher_that_never_answers(
    context: BrowserContext, demo_server: LiveServer, open_page: OpenPage
) -> None:
    """A teacher's client that takes no part in video (the bug of old teacher pages): the station
    offers a few times with growing pauses, says so, then waits for a sign of life."""
    room = await open_classroom(demo_server)
    suffix = secrets.token_hex(4)
    await context.clock.install()
    station = await station_page(open_page, room, 1, "Nairobi station", f"p_a_{suffix}")
    silent_token = await room.token("teacher", 0, "Ms Costa", participant_id=f"p_b_{suffix}")
    silent = await room.join(silent_token)
    first = await silent.next_peer_message(timeout=MEDIA_TIMEOUT)
    assert isinstance(first, PeerSignal)
    assert first.description is not None
    assert first.description["type"] == "offer"

    topology = station.locator("#topology")
    for _ in range(15):  # the fake clock fires each due timer once per jump: small steps
        await context.clock.fast_forward(1_000)
    await expect(topology).to_contain_text("Turma 6B (Ms Costa): not answering, trying again in")
    for _ in range(200):  # 200 s: five attempts and the four pauses between them fit in it
        await context.clock.fast_forward(1_000)
    await expect(topology).to_contain_text("not answering, waiting for it to come back")
    for _ in range(120):  # two more minutes: no more offers
        await context.clock.fast_forward(1_000)
    offers = await drain_offers(silent)
    assert len(offers) == 4, offers  # the first one was read above: five in all
    unanswered = await station.evaluate(
        "() => Object.fromEntries(window.classbridgeDemo.media.unanswered())"
    )
    assert unanswered == {f"p_b_{suffix}": {"attempts": 5, "retryInMs": None}}

    # A sign of life (any signal from it): the station offers again.
    await silent.signal(f"p_a_{suffix}", "cam-x", candidate={"candidate": ""})
    for _ in range(3):
        await context.clock.fast_forward(1_000)
    again = await silent.next_peer_message(timeout=WAIT_MS / 1000)
    assert isinstance(again, PeerSignal)
    assert again.description is not None
    assert again.description["type"] == "offer"


async def drain_offers(client: ClassbridgeClient) -> list[str]:
    """The `pc` of every offer the client has been sent (candidates are skipped)."""
    offers: list[str] = []
    while not client.peer_messages.empty():
        message = client.peer_messages.get_nowait()
        if isinstance(message, PeerSignal) and (message.description or {}).get("type") == "offer":
            offers.append(message.pc)
    return offers


async def test_a_teacher_lets_a_student_present_and_takes_it_back(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    room = await open_classroom(demo_server)
    teacher = await teacher_page(open_page, room)
    station = await station_page(open_page, room, 1, "Nairobi station")
    student = await open_page(f"token={await room.student_token(0, 'Inês')}")
    student_id = await participant(student)
    await expect(student.locator("#video")).to_be_hidden()
    assert await student.evaluate(STARTED) is False

    toggle = teacher.get_by_role("button", name="Let Inês present (video)")
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    await student.wait_for_function(STARTED, timeout=WAIT_MS)
    await expect(student.locator("#video")).to_be_visible()
    assert await student.evaluate("window.classbridgeDemo.client.iceServers") is not None
    await assert_frames_rise(station, [student_id])
    await assert_partner_videos(station, [student_id])
    await assert_frames_rise(student, [await participant(station)])
    await screenshot(student, "video-student-granted")

    await toggle.click()
    await expect(toggle).to_have_attribute("aria-pressed", "false")
    await student.wait_for_function("() => !window.classbridgeDemo.media.started")
    await expect(student.locator("#video")).to_be_hidden()
    assert await student.evaluate("window.classbridgeDemo.media.peers.size") == 0
    assert await student.evaluate("document.getElementById('preview').srcObject") is None
    await station.wait_for_function(
        "(id) => !window.classbridgeDemo.media.peers.has(id)", arg=student_id, timeout=WAIT_MS
    )
    await expect(station.locator(f'figure[data-remote="{student_id}"]')).to_have_count(0)
