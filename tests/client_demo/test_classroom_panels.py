"""The hands and polls panels in headless Chromium against a real server: a teacher asks, a
student answers, the teacher sees the count, the close shows the results to the student; a
hand goes up and a teacher lowers it; a reaction reaches the teacher's page."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.client_demo.conftest import BROWSER_LOOP, OpenPage, expect_live, screenshot
from tests.helpers import Classroom, open_classroom
from tests.live import LiveServer

pytestmark = BROWSER_LOOP


async def _student(open_page: OpenPage, room: Classroom, name: str) -> Page:
    page = await open_page(f"code={room.join_code(1)}", live=False)
    await page.get_by_label("Your name").fill(name)
    await page.get_by_role("button", name="Join").click()
    await expect_live(page)
    return page


async def test_a_poll_from_the_teachers_page_to_a_students(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    room = await open_classroom(demo_server)
    teacher = await open_page(f"token={room.teacher_token(0)}")
    student = await _student(open_page, room, "Amani")

    await teacher.get_by_label("Poll question").fill("Which river is longest?")
    await teacher.get_by_label("Options, one per line (2 to 10)").fill("Nile\nTana\nTejo")
    await teacher.get_by_role("button", name="Ask the class").click()

    poll = student.locator("#poll-list article.poll")
    await expect(poll.get_by_role("heading")).to_have_text("Which river is longest?")
    await poll.get_by_label("Tana").check()
    await poll.get_by_role("button", name="Send my answer").click()
    await expect(poll.locator(".poll-status")).to_contain_text("Your answer: Tana")
    await expect(poll.locator(".poll-results")).to_have_count(0)  # no results before the close

    teacher_poll = teacher.locator("#poll-list article.poll")
    await expect(teacher_poll.locator(".poll-total")).to_have_text("1 answered.")
    await expect(teacher_poll.locator("li[data-option='1'] .poll-count")).to_have_text("Tana: 1")
    await expect(teacher_poll.get_by_text("Who answered what")).to_be_visible()
    await screenshot(teacher, "poll-teacher-live")

    await teacher_poll.get_by_role("button", name="Close and show the results").click()
    await expect(poll).to_have_attribute("data-state", "closed")
    await expect(poll.locator("li[data-option='1'] .poll-count")).to_have_text(
        "Tana: 1 (your answer)"
    )
    await expect(poll.locator("li[data-option='0'] .poll-count")).to_have_text("Nile: 0")
    await screenshot(student, "poll-student-results")


async def test_a_hand_goes_up_and_a_teacher_lowers_it(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    room = await open_classroom(demo_server)
    teacher = await open_page(f"token={room.teacher_token(0)}")
    student = await _student(open_page, room, "Ingrid")

    await student.get_by_role("button", name="Raise my hand").click()
    await expect(student.locator("#hand-status")).to_have_text("Your hand is up: number 1 in line.")
    queue = teacher.locator("#hand-queue li")
    await expect(queue).to_have_count(1)
    await expect(queue.first).to_contain_text("1. Ingrid")

    await student.get_by_role("button", name="React: applause").click()
    await expect(teacher.locator("#reactions-shown")).to_contain_text("👏 Ingrid")

    # Keyboard only: the teacher tabs to the button and presses Enter.
    lower = teacher.get_by_role("button", name="Lower the hand of Ingrid")
    await lower.focus()
    await teacher.keyboard.press("Enter")
    await expect(queue).to_have_count(0)
    await expect(student.get_by_role("button", name="Raise my hand")).to_have_attribute(
        "aria-pressed", "false"
    )
    await expect(student.locator("#hand-status")).to_have_text("")
