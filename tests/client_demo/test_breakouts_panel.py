"""The breakout panel in headless Chromium against a real server: a teacher opens mixed groups,
the students' pages show their group, its chat and its board (drawing lands on the group's
board), a call reaches the teacher, and closing brings the pages back to the main room."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.client_demo.conftest import BROWSER_LOOP, OpenPage, screenshot
from tests.helpers import open_classroom
from tests.live import LiveServer

pytestmark = BROWSER_LOOP

GROUP_BOARD_RECORDS = """
(board) => window.classbridgeDemo.client.boards.get(board)?.records.size ?? -1
"""


async def draw_a_rectangle(page: Page) -> None:
    await page.get_by_label("Rectangle").check()
    await page.locator("#canvas").scroll_into_view_if_needed()
    box = await page.locator("#canvas").bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + 60, box["y"] + 60)
    await page.mouse.down()
    await page.mouse.move(box["x"] + 160, box["y"] + 120, steps=4)
    await page.mouse.up()


async def test_teacher_opens_groups_students_work_in_them_and_come_back(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    room = await open_classroom(demo_server)
    teacher = await open_page(f"token={room.teacher_token(0)}")
    amani = await open_page(f"token={await room.student_token(1, 'Amani')}")
    rui = await open_page(f"token={await room.student_token(0, 'Rui')}")
    await expect(amani.locator("#breakouts-status")).to_contain_text("everyone is in the main room")

    await teacher.get_by_label("Group size").fill("2")
    await teacher.get_by_label("Minutes (optional)").fill("15")
    await teacher.get_by_role("button", name="Open breakout groups").click()
    await expect(amani.locator("#breakouts-status")).to_have_text(
        re.compile(r"^You are in Group 1 with Rui \(")
    )
    await expect(rui.locator("#breakouts-status")).to_have_text(
        re.compile(r"^You are in Group 1 with Amani \(")
    )
    await expect(amani.locator("#board-heading")).to_have_text("Whiteboard: Group 1")
    await expect(amani.locator("#board-access")).to_have_text("Your group may draw.")
    await expect(amani.locator("#breakouts-countdown")).to_have_text(
        re.compile(r"^(15:00|14:[0-5]\d)$")
    )
    groups = teacher.locator("#breakouts-groups li")
    await expect(groups).to_have_count(1)
    await expect(groups.first).to_contain_text("Amani")
    await expect(groups.first).to_contain_text("Rui")

    # The group's chat: the other member and the teacher read it; the main chat does not.
    await amani.get_by_label("Write to the group").fill("Tuchore mto / let us draw a river")
    await amani.get_by_role("button", name="Send to the group").click()
    for page in (rui, teacher):
        await expect(page.locator("#breakouts-chat li")).to_contain_text(
            ["Let us draw a river"], ignore_case=True
        )
    await expect(rui.locator("#chat li")).to_have_count(0)

    # Drawing lands on the group's board, which both members see.
    await draw_a_rectangle(amani)
    await rui.wait_for_function(f"({GROUP_BOARD_RECORDS})('group-1') === 1")
    assert await rui.evaluate(GROUP_BOARD_RECORDS, "main") == 0

    await teacher.get_by_role("button", name="Send to all groups").focus()
    await teacher.get_by_label("Write to every group").fill("Five minutes left")
    await teacher.keyboard.press("Enter")
    await expect(amani.locator("#breakouts-broadcasts li")).to_contain_text(["Five minutes left"])

    await rui.get_by_role("button", name="Call a teacher").click()
    await expect(teacher.locator("#breakouts-alerts")).to_have_text("Calling a teacher: Group 1.")
    await expect(rui.get_by_role("button", name="Call a teacher")).to_be_disabled()
    await teacher.get_by_role("button", name="Answer Group 1's call").click()
    await expect(teacher.locator("#breakouts-alerts")).to_have_text("")
    await expect(rui.get_by_role("button", name="Call a teacher")).to_be_enabled()
    await screenshot(teacher, "breakouts-teacher")
    await screenshot(amani, "breakouts-student")

    await teacher.get_by_role("button", name=re.compile("^Close the groups")).click()
    for page in (amani, rui):
        await expect(page.locator("#breakouts-status")).to_contain_text(
            "everyone is in the main room"
        )
        await expect(page.locator("#board-heading")).to_have_text("Whiteboard")
        await expect(page.locator("#board-access")).to_have_text("Everyone may draw.")
        await expect(page.locator("#breakouts-group")).to_be_hidden()
    await screenshot(amani, "breakouts-student-back")
