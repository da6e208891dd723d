"""The demo page in headless Chromium against a real server: chat, drawing, reconnects, views."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from server.protocol.codec import WireFormat
from tests.client_demo.conftest import BROWSER_LOOP, WAIT_MS, OpenPage, expect_live, screenshot
from tests.helpers import Classroom, open_classroom, wait_event
from tests.live import LiveServer

pytestmark = BROWSER_LOOP

# The stroke the tests draw, in board coordinates (the canvas's own pixels).
START, END = (200, 300), (600, 300)
MIDDLE = (400, 300)
BACKGROUND = [255, 255, 255, 255]

READ_BOARD = """() => {
  const board = window.classbridgeDemo.client.boards.get("main");
  return [...board.records.values()].map((r) => ({id: r.id, kind: r.kind, author: r.author,
    z: r.z, seq: r.seq, props: r.props}));
}"""
READ_PIXEL = """([x, y]) => [...document.getElementById("canvas").getContext("2d")
  .getImageData(x, y, 1, 1).data]"""


async def _room(server: LiveServer) -> Classroom:
    return await open_classroom(server)


async def _join_by_code(open_page: OpenPage, room: Classroom, index: int, name: str) -> Page:
    page = await open_page(f"code={room.join_code(index)}", live=False)
    await page.get_by_label("Your name").fill(name)
    await page.get_by_role("button", name="Join").click()
    await expect_live(page)
    return page


async def _screen_point(page: Page, x: int, y: int) -> tuple[float, float]:
    """Where board point (x, y) is on the screen (the canvas is scaled by CSS)."""
    box = await page.locator("#canvas").bounding_box()
    assert box is not None
    size = await page.evaluate("() => [canvas.width, canvas.height]")
    return box["x"] + x * box["width"] / size[0], box["y"] + y * box["height"] / size[1]


async def _draw_line(page: Page, start: tuple[int, int], end: tuple[int, int]) -> None:
    await page.locator("#canvas").scroll_into_view_if_needed()
    await page.mouse.move(*await _screen_point(page, *start))
    await page.mouse.down()
    await page.mouse.move(*await _screen_point(page, *end), steps=25)
    await page.mouse.up()


async def _finished_strokes(page: Page) -> list[dict[str, Any]]:
    await page.wait_for_function(
        """() => [...window.classbridgeDemo.client.boards.get("main").records.values()]
             .some((r) => r.kind === "stroke" && !r.props.open)""",
        timeout=WAIT_MS,
    )
    records: list[dict[str, Any]] = await page.evaluate(READ_BOARD)
    return records


async def _wait_for_ink(page: Page, x: int, y: int) -> list[int]:
    """The canvas pixel at (x, y) once it is not background (the page redraws in a frame)."""
    await page.wait_for_function(
        f"""() => {{ const d = ({READ_PIXEL})([{x}, {y}]);
                   return d[0] !== 255 || d[1] !== 255 || d[2] !== 255; }}""",
        timeout=WAIT_MS,
    )
    pixel: list[int] = await page.evaluate(READ_PIXEL, [x, y])
    return pixel


async def test_chat_typed_by_a_student_appears_for_the_teacher(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    room = await _room(demo_server)
    teacher = await open_page(f"token={room.teacher_token(0)}")
    student = await _join_by_code(open_page, room, 1, "Amani")
    # The teacher sees the student arrive, under the student's class.
    people = teacher.locator("#classes section").nth(1)
    await expect(people.get_by_text("Amani · student")).to_be_visible()
    await expect(people.get_by_role("heading")).to_contain_text("1 here")

    await student.get_by_label("Message").fill("Habari <b>from</b> Nairobi!")
    await student.get_by_label("Message").press("Enter")
    posted = teacher.locator("#chat li").filter(has_text="Habari <b>from</b> Nairobi!")
    await expect(posted).to_be_visible()  # shown as text: the markup is not interpreted
    await expect(posted.locator(".from")).to_have_text("Amani: ")
    await expect(student.get_by_label("Message")).to_have_value("")  # cleared after the ack

    # The teacher deletes it; it goes from the student's page too.
    await posted.get_by_role("button", name="Delete the message from Amani").click()
    await expect(student.locator("#chat li")).to_have_count(0)
    await expect(teacher.locator("#chat li")).to_have_count(0)


async def test_a_stroke_drawn_with_the_mouse_appears_on_another_page(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    room = await _room(demo_server)
    drawer = await _join_by_code(open_page, room, 0, "Inês")
    watcher = await _join_by_code(open_page, room, 1, "Amani")
    await _draw_line(drawer, START, END)

    mine, theirs = await _finished_strokes(drawer), await _finished_strokes(watcher)
    assert mine == theirs  # the same replica on both pages
    [stroke] = theirs
    points = stroke["props"]["points"]
    assert all(isinstance(value, int) for value in points)
    assert len(points) >= 8  # a put and several appends, not a single segment
    assert (points[0], points[1]) == START
    assert (points[-2], points[-1]) == END
    assert stroke["author"] == await drawer.evaluate("window.classbridgeDemo.client.me.id")

    for page in (drawer, watcher):
        assert await _wait_for_ink(page, *MIDDLE) != BACKGROUND
        assert await page.evaluate(READ_PIXEL, [MIDDLE[0], MIDDLE[1] + 40]) == BACKGROUND

    # Undo takes the whole stroke back, for everyone; redo brings it back.
    await drawer.get_by_role("button", name="Undo").click()
    await watcher.wait_for_function(
        "() => window.classbridgeDemo.client.boards.get('main').records.size === 0"
    )
    await drawer.get_by_role("button", name="Redo").click()
    assert len(await _finished_strokes(watcher)) == 1


async def test_a_cut_connection_shows_reconnecting_and_catches_up(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    room = await _room(demo_server)
    student = await _join_by_code(open_page, room, 1, "Amani")
    teacher = await room.join(room.teacher_token(0), WireFormat.JSON)

    # The network goes down: the open WebSocket is cut and no new one gets through.
    await student.evaluate("window.__networkDown = true")
    await student.evaluate("window.__sockets.at(-1).close(4000, 'cut by the test')")
    status = student.locator("#status")
    await expect(status).to_have_attribute("data-state", "reconnecting")
    await expect(status).to_contain_text("Reconnecting")

    await teacher.chat("Sent while you were away")
    await student.wait_for_function("() => window.__sockets.length >= 3")  # a retry failed
    await expect(status).to_have_attribute("data-state", "reconnecting")  # still cut off

    # Back: the browser's "online" event makes the client retry at once, whatever its backoff.
    await student.evaluate("window.__networkDown = false; dispatchEvent(new Event('online'))")
    await expect_live(student)
    await expect(student.locator("#chat li .text")).to_have_text(["Sent while you were away"])
    assert await student.evaluate("window.classbridgeDemo.client.lastResume") == "events"
    # Live again in both directions.
    await student.get_by_label("Message").fill("Back!")
    await student.get_by_label("Message").press("Enter")
    back = await wait_event(teacher, "chat.posted", lambda event: event.data["text"] == "Back!")
    assert back.data["class_id"] == room.class_id(1)


async def test_an_invalid_link_says_so_and_does_not_retry(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    page = await open_page("token=not-a-token", live=False)
    await expect(page.locator("#fatal")).to_have_text(
        "This join link is not valid. Ask your teacher for a new link."
    )
    await expect(page.locator("#status")).to_have_attribute("data-state", "stopped")
    assert await page.evaluate("window.__sockets.length") == 1
    await screenshot(page, "error-invalid-link")


async def test_screenshots_of_each_view(demo_server: LiveServer, open_page: OpenPage) -> None:
    room = await _room(demo_server)
    teacher = await open_page(f"token={room.teacher_token(0)}")
    station_token = await room.token("station", 1, "Kestrels station")
    station = await open_page(f"token={station_token}")
    student = await _join_by_code(open_page, room, 1, "Amani")

    await _draw_line(student, START, END)
    await student.get_by_role("radio", name="Sticky note").check()
    await student.get_by_label("Text for text and notes").fill("Water comes from the hills")
    await student.get_by_role("button", name="Place on board").click()
    await student.get_by_role("radio", name="Rectangle").check()
    await _draw_line(student, (700, 150), (900, 260))
    await student.get_by_label("Message").fill("We drew where our water comes from")
    await student.get_by_label("Message").press("Enter")
    await teacher.wait_for_function(
        "() => window.classbridgeDemo.client.boards.get('main').records.size === 3"
    )
    await expect(teacher.locator("#chat li")).to_have_count(1)
    await expect(station.locator("#chat li")).to_have_count(1)
    # The student's cursor on the teacher's page.
    await student.mouse.move(*await _screen_point(student, 500, 500))
    await teacher.wait_for_function("() => window.classbridgeDemo.client.cursors.size === 1")

    for name, page, view in (
        ("teacher", teacher, "teacher"),
        ("student", student, "student"),
        ("station", station, "station"),
    ):
        assert await page.evaluate("document.body.dataset.view") == view
        path = await screenshot(page, f"view-{name}")
        assert path.stat().st_size > 0
    await expect(station.locator("#video")).to_be_visible()
    await expect(station.locator("#board")).to_be_hidden()
    await expect(student.locator("#people")).to_be_hidden()
    await expect(teacher.locator("#board-controls")).to_be_visible()
