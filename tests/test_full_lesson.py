"""A whole lesson run by independent clients over real servers, written from docs/protocol.md
and docs/api.md only: two classes wait in the lobby and are let in, the agenda runs, a poll
goes round, mixed breakout groups talk among themselves, a teacher moderates, the session
ends, and the teachers take the export home. Then the key steps again with the teachers and
students spread over two workers sharing one Redis."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

import pytest

from server.client import ClassbridgeClient, ClientError
from server.protocol.lobby import LobbyWait
from server.protocol.messages import Ack
from tests.conftest import ServerFactory
from tests.helpers import (
    Classroom,
    collect_until,
    open_classroom,
    participant_of,
    quiet,
    two_servers_on_redis,
    wait_event,
)
from tests.live import LiveServer
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]

NAMES = (("Rui", "Inês", "Tiago", "Beatriz"), ("Amani", "Baraka", "Wanjiru", "Juma"))
GREETING = "Bom dia! Good morning, Nairobi!"
REPLY = "Jambo, Lisbon!"
MARKER = "Five minutes, then back to the main room"


def seq_of(ack: Ack) -> int:
    assert ack.seq is not None
    return ack.seq


@dataclass
class Lesson:
    room: Classroom
    servers: list[LiveServer]
    teachers: list[ClassbridgeClient] = field(default_factory=list)  # of c1, of c2
    students: list[list[ClassbridgeClient]] = field(default_factory=list)  # by class
    gone: list[ClassbridgeClient] = field(default_factory=list)  # removed on the way

    def server_for(self, n: int) -> LiveServer:
        """Participants are spread over the servers in turn."""
        return self.servers[n % len(self.servers)]

    @property
    def pupils(self) -> list[ClassbridgeClient]:
        return [s for klass in self.students for s in klass if s not in self.gone]

    @property
    def everyone(self) -> list[ClassbridgeClient]:
        return [*self.teachers, *self.pupils]

    def class_of(self, participant_id: str) -> str:
        index = next(
            i for i, k in enumerate(self.students) for s in k if participant_of(s) == participant_id
        )
        return self.room.class_id(index)


async def start(room: Classroom, servers: list[LiveServer]) -> Lesson:
    """Both teachers join, then four students per class join with their class code and wait."""
    lesson = Lesson(room, servers)
    for index in (0, 1):
        teacher = lesson.server_for(index).client(room.teacher_token(index))
        await teacher.connect()
        lesson.teachers.append(teacher)
    for index, names in enumerate(NAMES):
        klass = []
        for n, name in enumerate(names):
            server = lesson.server_for(n)
            joined = await server.self_join(room.join_code(index), name)
            student = server.client(joined["token"])
            waiting = await student.connect_or_wait()
            assert isinstance(waiting, LobbyWait)
            assert waiting.policy == "everyone"
            klass.append(student)
        lesson.students.append(klass)
    return lesson


def waiting_id(student: ClassbridgeClient) -> str:
    """The participant id of a student who waits in the lobby, or was let in."""
    if student.welcome is not None:
        return participant_of(student)
    assert student.lobby is not None
    return str(student.lobby.participant["id"])


async def admit_both_classes(lesson: Lesson) -> None:
    t1, t2 = lesson.teachers
    for teacher in (t1, t2):  # each teacher's page lists all eight
        seen = {(await wait_event(teacher, "lobby.waiting")).data["participant"]["id"]}
        while len(seen) < 8:
            seen.add((await wait_event(teacher, "lobby.waiting")).data["participant"]["id"])
        assert seen == {waiting_id(s) for k in lesson.students for s in k}

    ack = await t1.command({"type": "lobby.admit", "class": lesson.room.class_id(0)})
    c1_ids = sorted(waiting_id(s) for s in lesson.students[0])
    for student in lesson.students[0]:
        welcome = await student.admitted()
        assert welcome.session is not None
        assert welcome.session["lobby"] is None  # students never see who waits
    admitted = await wait_event(t2, "lobby.admitted")
    assert (admitted.seq, admitted.data) == (
        ack.seq,
        {"participants": c1_ids, "class_id": lesson.room.class_id(0), "by": participant_of(t1)},
    )
    await quiet(lesson.students[1][0])
    assert all(s.welcome is None for s in lesson.students[1])  # c2 still waits

    await t2.command({"type": "lobby.admit", "class": lesson.room.class_id(1)})
    for student in lesson.students[1]:
        await student.admitted()
    c2_ids = {waiting_id(s) for s in lesson.students[1]}
    joined: set[str] = set()
    while joined != c2_ids:  # t1's page sees the other class enter (after its own)
        event = await wait_event(t1, "participant.joined")
        joined |= {event.data["participant"]["id"]} & c2_ids


async def chat_in_the_main_room(lesson: Lesson) -> None:
    t1 = lesson.teachers[0]
    greeting = await t1.chat(GREETING)
    reply = await lesson.students[1][0].chat(REPLY)
    for client in lesson.everyone:
        assert (await wait_event(client, "chat.posted")).seq == greeting.seq
        assert (await wait_event(client, "chat.posted")).seq == reply.seq


async def run_the_agenda(lesson: Lesson) -> None:
    t1, t2 = lesson.teachers
    started = await t1.command({"type": "agenda.advance", "from": -1})
    moved = await t2.command({"type": "agenda.advance", "from": 0})
    for client in lesson.everyone:
        first = await wait_event(client, "agenda.moved")
        second = await wait_event(client, "agenda.moved")
        assert (first.seq, first.data) == (
            started.seq,
            {"from": -1, "to": 0, "by": participant_of(t1)},
        )
        assert (second.seq, second.data["to"]) == (moved.seq, 1)
    with pytest.raises(ClientError) as late:  # t1 presses "next" on a page not yet redrawn
        await t1.command({"type": "agenda.advance", "from": 0})
    assert late.value.code == "phase_moved"
    assert late.value.reply.current is not None
    assert late.value.reply.current["current"] == 1


async def run_a_poll(lesson: Lesson) -> int:
    t1, t2 = lesson.teachers
    question = {"type": "poll.create", "question": "Which river is longer?"}
    created = await t2.command({**question, "options": ["Tagus", "Tana"]})
    poll = seq_of(created)
    pupils = lesson.pupils
    for n, student in enumerate(pupils):
        assert (await wait_event(student, "poll.created")).seq == poll
        await student.command({"type": "poll.answer", "poll": poll, "choices": [int(n >= 5)]})
    # The closing teacher waits until their page counts every answer, as a teacher would.
    await wait_event(t1, "poll.counts", lambda e: e.data["answers"] == len(pupils))
    closed = await t1.command({"type": "poll.close", "poll": poll})
    for student in pupils:
        events = await collect_until(student, seq_of(closed))
        polls = [e for e in events if e.kind.startswith("poll.")]
        assert [e.kind for e in polls] == ["poll.answered", "poll.closed"]  # no live totals
        assert polls[0].data["by"] == participant_of(student)  # only their own answer
        assert (polls[1].data["counts"], polls[1].data["answers"]) == ([5, 3], 8)
    return poll


async def run_breakouts(lesson: Lesson) -> dict[str, dict[str, Any]]:
    """Groups of four, two of each class; each group's chat stays in the group. Returns the
    groups' posts: text -> group."""
    t1, t2 = lesson.teachers
    opened_ack = await t1.command({"type": "breakout.open", "size": 4, "seed": 3})
    opened = await wait_event(t2, "breakout.opened")
    assert opened.seq == opened_ack.seq
    groups = opened.data["groups"]
    assert len(groups) == 2
    for group in groups:
        classes = sorted(lesson.class_of(m) for m in group["members"])
        assert classes == [lesson.room.class_id(0)] * 2 + [lesson.room.class_id(1)] * 2
    for student in lesson.pupils:
        assert (await wait_event(student, "breakout.opened")).data == opened.data

    posts: dict[str, int] = {}
    texts = {}
    for n, group in enumerate(groups):
        poster = next(s for s in lesson.pupils if participant_of(s) == group["members"][0])
        text = f"Group {n + 1}: our rivers both flood in spring"
        texts[text] = group
        message = {"type": "chat.send", "text": text, "group": group["id"]}
        posts[group["id"]] = seq_of(await poster.command(message))
    marker = seq_of(await t2.chat(MARKER))
    for student in lesson.pupils:
        mine = next(g["id"] for g in groups if participant_of(student) in g["members"])
        chats = [e for e in await collect_until(student, marker) if e.kind == "chat.posted"]
        assert [e.seq for e in chats] == [posts[mine], marker]
    for teacher in lesson.teachers:  # teachers read every group
        chats = [e for e in await collect_until(teacher, marker) if e.kind == "chat.posted"]
        assert [e.seq for e in chats] == sorted([*posts.values(), marker])

    closed = await t2.command({"type": "breakout.close"})
    for client in lesson.everyone:
        assert (await wait_event(client, "breakout.closed")).seq == closed.seq
    return texts


async def moderate(lesson: Lesson) -> None:
    """A teacher asks a student of the other class to mute; the other removes and bars one.
    (With two workers, each teacher acts on a student connected to the other worker.)"""
    t1, t2 = lesson.teachers
    rui, juma = lesson.students[0][0], lesson.students[1][3]
    muted = await t2.command(
        {"type": "moderation.mute", "participant": participant_of(rui), "audio": True}
    )
    for client in (rui, t1):
        event = await wait_event(client, "moderation.muted")
        assert (event.seq, event.data) == (
            muted.seq,
            {"participant": participant_of(rui), "audio": True, "by": participant_of(t2)},
        )
    target = participant_of(juma)
    await t1.command({"type": "moderation.remove", "participant": target, "bar": True})
    removed = await wait_event(juma, "participant.removed")
    assert removed.data == {"participant_id": target, "barred": True, "by": participant_of(t1)}
    assert await juma.wait_closed() == 4006
    lesson.gone.append(juma)
    for client in lesson.everyone:
        assert (await wait_event(client, "participant.removed")).data["participant_id"] == target
    for server in lesson.servers:  # barred wherever they try
        again = server.client(juma.token)
        with pytest.raises(ConnectionError):
            await again.connect()
        assert (again.close_code, again.close_reason) == (4016, "barred")


async def end_the_session(lesson: Lesson) -> None:
    t1 = lesson.teachers[0]
    ended = await t1.command({"type": "session.end"})
    for client in lesson.everyone:
        event = await wait_event(client, "session.ended")
        assert (event.seq, event.data) == (ended.seq, {"by": participant_of(t1)})
        assert await client.wait_closed() == 4007
        assert client.close_reason == "session_ended"
    tokens = [lesson.students[0][0].token, lesson.room.teacher_token(1)]
    # A newcomer with the class code gets no token any more, nor does a teacher minting one.
    response = await lesson.server_for(1).http.post(
        "/api/join", json={"code": lesson.room.join_code(0), "name": "Late Lara"}
    )
    assert (response.status_code, response.json()["code"]) == (410, "session_ended")
    response = await lesson.server_for(0).http.post(
        f"/api/sessions/{lesson.room.session_id}/tokens",
        json={"role": "student", "class_id": lesson.room.class_id(0), "name": "Late Lars"},
        headers={"authorization": f"Bearer {lesson.room.teacher_token(0)}"},
    )
    assert (response.status_code, response.json()["code"]) == (410, "session_ended")
    for token in tokens:
        late = lesson.server_for(1).client(token)
        with pytest.raises(ConnectionError):
            await late.connect()
        assert (late.close_code, late.close_reason) == (4007, "session_ended")


async def export(lesson: Lesson, server: LiveServer, token: str) -> zipfile.ZipFile:
    response = await server.http.get(
        f"/api/sessions/{lesson.room.session_id}/export.zip",
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return zipfile.ZipFile(io.BytesIO(response.content))


def attendance(archive: zipfile.ZipFile) -> list[dict[str, str]]:
    text = archive.read("attendance.csv").decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def check_polls(archive: zipfile.ZipFile, lesson: Lesson, poll: int) -> None:
    [exported] = json.loads(archive.read("polls.json"))
    assert exported["id"] == poll
    assert (exported["question"], exported["options"]) == (
        "Which river is longer?",
        ["Tagus", "Tana"],
    )
    assert (exported["counts"], exported["answers"], exported["closed"]) == ([5, 3], 8, True)
    pupils = [s for k in lesson.students for s in k]
    assert set(exported["responses"]) == {participant_of(s) for s in pupils}


def check_attendance(archive: zipfile.ZipFile, lesson: Lesson) -> None:
    rows = attendance(archive)
    names = [*["Teacher"] * 2, *NAMES[0], *NAMES[1]]
    assert sorted(r["name"] for r in rows) == sorted(names)  # one row per participant
    everyone = [*lesson.teachers, *[s for k in lesson.students for s in k]]
    assert {r["participant_id"] for r in rows} == {participant_of(c) for c in everyone}
    assert {r["present_now"] for r in rows} == {"no"}  # the session has ended
    assert all(r["last_leave_utc"].endswith("Z") for r in rows)
    text = archive.read("attendance_by_class.csv").decode("utf-8-sig")
    by_class = {r["class_id"]: r for r in csv.DictReader(io.StringIO(text))}
    for index in (0, 1):  # a teacher and four students each
        row = by_class[lesson.room.class_id(index)]
        assert (row["participants"], row["students"], row["present_now"]) == ("5", "4", "0")


def check_chat(archive: zipfile.ZipFile, group_posts: dict[str, dict[str, Any]]) -> None:
    transcript = archive.read("chat.txt").decode()
    for text in (GREETING, REPLY, *group_posts, MARKER):
        assert text in transcript, text
    messages = json.loads(archive.read("chat.json"))["messages"]
    assert [m["text"] for m in messages] == [GREETING, REPLY, *group_posts, MARKER]
    for message in messages:
        group = group_posts.get(message["text"])
        if group is None:
            assert "group" not in message, message
        else:  # marked with its group; once closed, a group is gone and its id is its name
            assert (message["group"], message["group_name"]) == (group["id"], group["id"])


async def test_a_full_lesson_on_one_server(live_server: LiveServer) -> None:
    room = await open_classroom(live_server, settings={"lobby": "everyone"})
    lesson = await start(room, [live_server])
    await admit_both_classes(lesson)
    await chat_in_the_main_room(lesson)
    await run_the_agenda(lesson)
    poll = await run_a_poll(lesson)
    group_posts = await run_breakouts(lesson)
    await moderate(lesson)
    await end_the_session(lesson)
    archive = await export(lesson, live_server, room.teacher_token(0))
    check_attendance(archive, lesson)
    check_chat(archive, group_posts)
    check_polls(archive, lesson, poll)


async def test_the_lesson_with_everyone_spread_over_two_workers(
    server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    first, second = await two_servers_on_redis(server_factory, redis_server)
    room = await open_classroom(first, settings={"lobby": "everyone"})
    lesson = await start(room, [first, second])  # t1 on first, t2 on second, students alternate
    await admit_both_classes(lesson)
    await chat_in_the_main_room(lesson)
    poll = await run_a_poll(lesson)
    group_posts = await run_breakouts(lesson)
    await moderate(lesson)
    await end_the_session(lesson)
    archive = await export(lesson, second, room.teacher_token(1))  # the other worker's copy
    check_attendance(archive, lesson)
    check_chat(archive, group_posts)
    check_polls(archive, lesson, poll)
