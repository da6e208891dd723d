"""The lobby in the demo page and the SDK (client_demo/panel_lobby.js, lobby.js): a student's
page waits, a teacher's page lets them in, and the student's page goes live; a denial stops the
page (protocol §23)."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect

from tests.client_demo.conftest import (
    BROWSER_LOOP,
    WAIT_MS,
    OpenPage,
    expect_live,
    screenshot,
)
from tests.helpers import open_classroom
from tests.live import LiveServer

pytestmark = [BROWSER_LOOP, pytest.mark.slow]


async def test_a_student_page_waits_until_a_teacher_page_admits_it(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    room = await open_classroom(demo_server, settings={"lobby": "everyone"})
    teacher = await open_page(f"token={room.teacher_token(0)}")
    await expect(teacher.locator("#lobby-empty")).to_be_visible()
    await expect(teacher.locator("#lobby-policy")).to_have_value("everyone")
    student = await open_page(f"token={await room.token('student', 0, 'Amani')}", live=False)

    await expect(student.locator("#status")).to_have_attribute("data-state", "waiting")
    await expect(student.locator("#status")).to_have_text("Waiting for a teacher to let you in")
    await expect(student.locator("#lobby-waiting")).to_have_text(
        "Waiting for a teacher to let you in."
    )
    await expect(student.locator("#session")).to_be_hidden()
    await screenshot(student, "lobby-waiting")

    lisbon = teacher.locator("#lobby-classes")
    await expect(lisbon).to_contain_text("Turma 6B · 1 waiting")
    await expect(teacher.get_by_role("button", name="Admit all from Turma 6B")).to_be_visible()
    await screenshot(teacher, "lobby-panel")
    admit = teacher.get_by_role("button", name="Admit Amani")
    await admit.focus()  # keyboard-usable: a labelled button, reached and pressed by keys
    await teacher.keyboard.press("Enter")

    await expect_live(student)
    await expect(student.locator("#lobby-waiting")).to_be_hidden()
    await expect(student.locator("#title")).to_have_text("Water in our towns")
    await expect(teacher.locator("#lobby-empty")).to_be_visible()
    await teacher.locator("#chat-text").fill("Bem-vinda!")
    await teacher.locator("#chat-text").press("Enter")
    await expect(student.locator("#chat")).to_contain_text("Bem-vinda!")


async def test_a_denied_page_says_so_and_does_not_reconnect(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    room = await open_classroom(demo_server, settings={"lobby": "everyone"})
    teacher = await open_page(f"token={room.teacher_token(1)}")
    student = await open_page(f"token={await room.token('student', 1, 'Baraka')}", live=False)
    await expect(student.locator("#status")).to_have_attribute("data-state", "waiting")
    await teacher.get_by_role("button", name="Deny Baraka").click()

    await expect(student.locator("#fatal")).to_have_text(
        "A teacher did not let you in. Reload the page to ask again."
    )
    await expect(student.locator("#status")).to_have_attribute("data-state", "stopped")
    sockets = await student.evaluate("window.__sockets.length")
    await asyncio.sleep(1.5)  # a reconnect would have opened a socket by now (backoff: 0.5 s)
    assert await student.evaluate("window.__sockets.length") == sockets
    await expect(teacher.locator("#lobby-empty")).to_be_visible()


async def test_a_teacher_sets_the_policy_with_the_keyboard(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    room = await open_classroom(demo_server)
    teacher = await open_page(f"token={room.teacher_token(0)}")
    policy = teacher.get_by_label("Who waits in the lobby")
    await expect(policy).to_have_value("open")
    await policy.focus()
    await teacher.keyboard.press("ArrowDown")  # open -> class
    await teacher.wait_for_function(
        "window.classbridgeDemo.client.session.settings.lobby === 'class'", timeout=WAIT_MS
    )
    await expect(policy).to_have_value("class")
    student = await open_page(f"token={await room.token('student', 1, 'Baraka')}", live=False)
    await expect(student.locator("#lobby-waiting")).to_have_text(
        "Waiting for a teacher to let you in. You enter as soon as your teacher is here."
    )
    await open_page(f"token={room.teacher_token(1)}")  # Baraka's own teacher arrives
    await expect_live(student)


# Runs `body` in the page with the SDK and lobby.js imported; returns what it returns.
EMBED = """async ([tokens, body]) => {
  const { Classbridge } = await import("/classbridge.js");
  const lobby = await import("/lobby.js");
  const run = new Function("Classbridge", "lobby", "tokens", `return (async () => { ${body} })();`);
  return await run(Classbridge, lobby, tokens);
}"""

SDK_SCRIPT = """
const until = (check) => new Promise((resolve) => {
  const timer = setInterval(() => { if (check()) { clearInterval(timer); resolve(); } }, 20);
});
const states = [];
const student = new Classbridge({ token: tokens.student });
student.on("state", ({ state }) => states.push(state));
const entered = student.connect();
await until(() => student.state === "waiting");
const waitingPolicy = student.lobby.policy;
const refused = await student.sendChat("let me in").catch((e) => e.code);
const teacher = new Classbridge({ token: tokens.teacher });
await teacher.connect();  // after the student: the snapshot holds the lobby
const fromSnapshot = lobby.waitingList(teacher).map((w) => w.name);
const late = new Classbridge({ token: tokens.late });
let lateError = null;
late.on("state", ({ state, error }) => { if (state === "stopped") lateError = error?.code; });
late.connect().catch(() => {});
await until(() => lobby.waitingList(teacher).length === 2);  // the event reached the replica
const byClass = Object.fromEntries(Object.entries(teacher.session.lobby.waiting)
  .map(([cls, list]) => [cls, list.map((w) => w.name)]));
await lobby.admit(teacher, student.me.id);
const me = await entered;
await lobby.deny(teacher, { class: late.me.class_id });
await until(() => late.state === "stopped");
const left = lobby.waitingList(teacher).length;
return { waitingPolicy, refused, fromSnapshot, byClass, me: me.name, states,
         lateState: late.state, lateError, left, studentLive: student.state };
"""


async def test_the_sdk_waits_enters_and_stops_when_denied(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    room = await open_classroom(demo_server, settings={"lobby": "everyone"})
    tokens = {
        "student": await room.token("student", 0, "Amani"),
        "late": await room.token("student", 1, "Baraka"),
        "teacher": room.teacher_token(0),
    }
    page = await open_page("", live=False)
    result = await page.evaluate(EMBED, [tokens, SDK_SCRIPT])
    assert result["waitingPolicy"] == "everyone"
    assert result["refused"] == "not_connected"  # nothing is sent while waiting
    assert result["fromSnapshot"] == ["Amani"]
    assert result["byClass"] == {room.class_id(0): ["Amani"], room.class_id(1): ["Baraka"]}
    assert result["me"] == "Amani"
    assert result["states"] == ["connecting", "waiting", "live"]
    assert result["lateState"] == "stopped"
    assert result["lateError"] == "lobby_denied"
    assert result["left"] == 0
    assert result["studentLive"] == "live"
