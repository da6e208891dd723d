"""The teacher's "Download export" button (client_demo/panel_export.js) in headless Chromium:
the page fetches the zip with its token in the Authorization header and saves it as a file."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from playwright.async_api import expect

from tests.client_demo.conftest import BROWSER_LOOP, OpenPage, screenshot
from tests.helpers import open_classroom
from tests.live import LiveServer

pytestmark = [BROWSER_LOOP, pytest.mark.slow]


async def test_a_teacher_downloads_the_export(open_page: OpenPage, demo_server: LiveServer) -> None:
    room = await open_classroom(demo_server)
    student = await room.student(1, "Amani")
    await student.chat("Hello from Nairobi")
    page = await open_page(f"token={room.teacher_token(0)}")
    button = page.get_by_role("button", name="Download export")
    await expect(button).to_be_enabled()
    async with page.expect_download() as info:
        await button.click()
    download = await info.value
    assert download.suggested_filename == "water-in-our-towns-export.zip"
    path = await download.path()
    archive = zipfile.ZipFile(path)
    rows = list(csv.DictReader(io.StringIO(archive.read("attendance.csv").decode("utf-8-sig"))))
    assert sorted(r["name"] for r in rows) == ["Amani", "Teacher"]
    assert b"Hello from Nairobi" in archive.read("chat.txt")
    await expect(page.locator("#export-status")).to_contain_text("water-in-our-towns-export.zip")
    await screenshot(page, "export-panel-teacher")


async def test_students_have_no_export_button(open_page: OpenPage, demo_server: LiveServer) -> None:
    room = await open_classroom(demo_server)
    page = await open_page(f"token={await room.student_token(1, 'Amani')}")
    await expect(page.locator("#export")).to_be_hidden()
