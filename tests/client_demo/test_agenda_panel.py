"""The agenda panel in headless Chromium against a real server: the teacher's "Next phase"
moves the student's page (phase name and countdown), and a reflection reaches the teacher."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from tests.client_demo.conftest import BROWSER_LOOP, OpenPage, screenshot
from tests.helpers import open_classroom
from tests.live import LiveServer

pytestmark = BROWSER_LOOP

# Any time within the phase's first minute: the test never depends on how fast it runs.
COLLABORATE_JUST_STARTED = re.compile(r"^(20:00|19:[0-5]\d)$")
REFLECT_JUST_STARTED = re.compile(r"^(10:00|09:[0-5]\d)$")


async def test_next_phase_on_the_teacher_page_moves_the_student_page(
    demo_server: LiveServer, open_page: OpenPage
) -> None:
    room = await open_classroom(demo_server)
    teacher = await open_page(f"token={room.teacher_token(0)}")
    student = await open_page(f"token={await room.student_token(1, 'Amani')}")
    await expect(student.locator("#agenda-now")).to_have_text("The agenda has not started yet.")
    await expect(student.locator("#agenda-countdown")).to_have_text("--:--")
    await expect(student.locator("#agenda-controls")).to_be_hidden()  # students do not run it

    await teacher.get_by_role("button", name="Start the agenda").click()
    await expect(student.locator("#agenda-now")).to_have_text("Now: Connect (phase 1 of 4)")
    await teacher.get_by_role("button", name="Next phase").click()
    await expect(student.locator("#agenda-now")).to_have_text("Now: Collaborate (phase 2 of 4)")
    await expect(student.locator("#agenda-countdown")).to_have_text(COLLABORATE_JUST_STARTED)
    current = student.locator("#agenda-phases li[aria-current=step]")
    await expect(current).to_have_text("Collaborate (20 min)")
    # The page's replica started the phase at the server's time, as the server's own state has it.
    replica = await student.evaluate("() => window.classbridgeDemo.client.session.agenda")
    other_teacher = await room.teacher(1)
    assert other_teacher.welcome is not None
    assert other_teacher.welcome.session is not None
    served = other_teacher.welcome.session["agenda"]
    assert (replica["current"], replica["started_at"]) == (1, served["started_at"])
    assert replica["ends_at"] == served["ends_at"]
    await other_teacher.close()

    # To the last phase: its prompt opens for the student, and the answer reaches the teacher.
    for _ in range(2):
        await teacher.get_by_role("button", name="Next phase").click()
        await expect(teacher.locator("#agenda-now")).not_to_contain_text("Collaborate")
    await expect(student.locator("#agenda-now")).to_have_text("Now: Reflect (phase 4 of 4)")
    await expect(student.locator("#agenda-countdown")).to_have_text(REFLECT_JUST_STARTED)
    answer = student.get_by_label("Reflection: What did you learn from the other class today?")
    await answer.fill("Nairobi and Lisbon both love football")
    await student.get_by_role("button", name="Save my answer").click()
    await expect(student.locator("#reflection-status")).to_contain_text("Saved")
    answers = teacher.locator("#agenda-answers li")
    await expect(answers).to_have_count(1)
    await expect(answers.locator("q")).to_have_text("Nairobi and Lisbon both love football")
    await expect(answers.locator("strong")).to_contain_text("Amani")
    await screenshot(teacher, "agenda-teacher")
    await screenshot(student, "agenda-student")

    # Ending asks first; declined, nothing happens; accepted, everyone sees it finished.
    end = teacher.get_by_role("button", name="End the agenda")
    teacher.once("dialog", lambda dialog: dialog.dismiss())
    await end.click()
    await expect(end).to_be_enabled()  # a request sent would have been answered by now
    # Not the session's seq: the pages' video moves it too (media.topology).
    finished = "() => window.classbridgeDemo.client.session.agenda.finished"
    assert await teacher.evaluate(finished) is False
    await expect(student.locator("#agenda-now")).to_have_text("Now: Reflect (phase 4 of 4)")
    teacher.once("dialog", lambda dialog: dialog.accept())
    await end.click()
    await expect(student.locator("#agenda-now")).to_have_text("The agenda is finished.")
    await expect(student.locator("#agenda-countdown")).to_have_text("--:--")
    await expect(end).to_be_disabled()


APPLY_A_RACE = """async () => {
  const { applyAgendaEvent, endsAt, syncClock, serverNow } = await import("/agenda.js");
  const phases = [{name: "A", minutes: 1, prompt: null}, {name: "B", minutes: 2, prompt: null},
                  {name: "C", minutes: 3, prompt: null}];
  const client = {
    session: {agenda: {phases, current: 0, started_at: 1000, ends_at: 61000, finished: false,
                       finished_at: 0, reached: 0, reflections: []}},
    emitted: [],
    _emit(name, value) { this.emitted.push(value.kind); },
  };
  // Two teachers pressed "next" from phase 0: both logged, the second must be ignored.
  applyAgendaEvent(client, 10, "agenda.moved", {from: 0, to: 1, by: "p_a"}, 5000);
  applyAgendaEvent(client, 11, "agenda.moved", {from: 0, to: 1, by: "p_b"}, 5001);
  const afterRace = {...client.session.agenda};
  // An edit that drops the running phase finishes the agenda.
  applyAgendaEvent(client, 12, "agenda.changed", {phases: [phases[0]], by: "p_a"}, 6000);
  // The clock: the largest (server ts - local time) since the welcome wins.
  syncClock(client, Date.now() + 60000, {reset: true});
  syncClock(client, Date.now() - 5000);
  const skew = serverNow(client) - Date.now();
  return {afterRace, final: client.session.agenda, emitted: client.emitted,
          ignored: applyAgendaEvent(client, 13, "chat.posted", {}, 7000), skew,
          endsAt: endsAt(afterRace)};
}"""


async def test_the_sdk_applies_a_raced_move_once_and_counts_on_the_server_clock(
    open_page: OpenPage,
) -> None:
    page = await open_page("", live=False)
    result: dict[str, Any] = await page.evaluate(APPLY_A_RACE)
    race = result["afterRace"]
    assert (race["current"], race["started_at"], race["reached"]) == (1, 5000, 1)
    assert result["endsAt"] == 5000 + 2 * 60_000
    final = result["final"]
    assert (final["finished"], final["finished_at"], final["current"]) == (True, 6000, 0)
    assert final["ends_at"] == 0
    assert result["emitted"] == ["agenda.moved", "agenda.moved", "agenda.changed"]
    assert result["ignored"] is False  # not the agenda's: left to the other appliers
    assert 59_000 <= result["skew"] <= 60_000  # the later sample was smaller: kept the first
