"""Moderation in the demo page (client_demo/panel_moderation.js, moderation.js): a teacher's
page removes a student's page, which says so and stays stopped; a mute request turns a station
page's camera track off (protocol §24)."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect

from tests.client_demo.conftest import BROWSER_LOOP, WAIT_MS, OpenPage, screenshot
from tests.helpers import open_classroom
from tests.live import LiveServer

pytestmark = [BROWSER_LOOP, pytest.mark.slow]

CAMERA_ON = """() => {
  const local = window.classbridgeDemo.media.local;
  const tracks = local ? local.getVideoTracks() : [];
  return tracks.length > 0 && tracks.every((track) => track.enabled);
}"""
CAMERA_OFF = """() => {
  const tracks = window.classbridgeDemo.media.local.getVideoTracks();
  return tracks.length > 0 && tracks.every((track) => !track.enabled);
}"""


async def test_a_teacher_removes_a_student_who_is_told_and_stays_out(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    room = await open_classroom(demo_server)
    teacher = await open_page(f"token={room.teacher_token(0)}")
    student = await open_page(f"token={await room.token('student', 1, 'Amani')}")
    await expect(teacher.locator("#moderation-people")).to_contain_text("Amani")
    await screenshot(teacher, "moderation-panel")
    remove = teacher.get_by_role("button", name="Remove Amani from the session")
    await remove.focus()  # keyboard-usable: a labelled button, reached and pressed by keys
    await teacher.keyboard.press("Enter")

    await expect(student.locator("#fatal")).to_have_text(
        "You were removed from the session by a teacher."
    )
    await expect(student.locator("#status")).to_have_attribute("data-state", "stopped")
    sockets = await student.evaluate("window.__sockets.length")
    await asyncio.sleep(1.5)  # a reconnect would have opened a socket by now (backoff: 0.5 s)
    assert await student.evaluate("window.__sockets.length") == sockets
    assert await student.evaluate("window.classbridgeDemo.client.state") == "stopped"
    await expect(teacher.locator("#moderation-people")).not_to_contain_text("Amani")
    await screenshot(student, "moderation-removed")


async def test_a_mute_request_turns_the_station_camera_off(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    room = await open_classroom(demo_server)
    teacher = await open_page(f"token={room.teacher_token(0)}")
    station = await open_page(f"token={await room.token('station', 1, 'Nairobi room')}")
    await station.wait_for_function(CAMERA_ON, timeout=WAIT_MS)

    ask = teacher.get_by_role("button", name="Ask Nairobi room to turn their camera off")
    await ask.click()
    await station.wait_for_function(CAMERA_OFF, timeout=WAIT_MS)
    await expect(station.locator("#moderation-notice")).to_have_text(
        "A teacher asked you to turn your camera off."
    )
    # While asked, the page's own toggle cannot turn it back on.
    await station.evaluate("window.classbridgeDemo.media.setEnabled('video', true)")
    assert await station.evaluate(CAMERA_OFF)
    await screenshot(station, "moderation-camera-off")

    lift = teacher.get_by_role("button", name="Ask Nairobi room to turn their camera on")
    await lift.click()
    await station.wait_for_function(CAMERA_ON, timeout=WAIT_MS)
    await expect(station.locator("#moderation-notice")).to_be_hidden()
