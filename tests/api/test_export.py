"""GET /api/sessions/{id}/export.zip and summary.json on a real server: two classes join over
WebSockets, chat, reconnect, delete; the export is read back as a zip."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import xml.etree.ElementTree as ET
import zipfile
from typing import Any

import httpx
import pytest

from server.client import ClassbridgeClient
from tests.conftest import ServerFactory
from tests.helpers import Classroom, open_classroom, two_servers_on_redis, wait_event
from tests.live import API_KEY, LiveServer
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]

OPERATOR = {"authorization": f"Bearer {API_KEY}"}
SECRET = "my phone number is 555-0100"
FILES = {
    "summary.json",
    "attendance.csv",
    "attendance_by_class.csv",
    "chat.json",
    "chat.txt",
    "recordings.json",
    "polls.json",
    "reflections.json",
    "boards/main.svg",
}


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _get(
    server: LiveServer, session_id: str, headers: dict[str, str], name: str = "export.zip"
) -> httpx.Response:
    return await server.http.get(f"/api/sessions/{session_id}/{name}", headers=headers)


async def _export(server: LiveServer, session_id: str, headers: dict[str, str]) -> zipfile.ZipFile:
    response = await _get(server, session_id, headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["cache-control"] == "no-store"
    return zipfile.ZipFile(io.BytesIO(response.content))


def _pid(client: ClassbridgeClient) -> str:
    assert client.welcome is not None
    return str(client.welcome.participant["id"])


def _csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    text = archive.read(name).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _json(archive: zipfile.ZipFile, name: str) -> Any:
    return json.loads(archive.read(name))


async def _leave(client: ClassbridgeClient) -> None:
    """An explicit leave: logged at once, no grace period. It has no ack: the server closes."""
    await client.send_raw({"type": "leave"})
    assert await client.wait_closed(timeout=5) == 1000


async def _flapping_student(room: Classroom, teacher: ClassbridgeClient) -> ClassbridgeClient:
    """A student whose network drops three times (back within the grace period: nothing is
    logged), who then leaves for good and comes back twice (logged: a visit each)."""
    student = await room.student(1, "Amani")
    for _ in range(3):
        await student.reconnect()
    for _ in range(2):
        await _leave(student)
        await wait_event(teacher, "participant.left")
        await student.connect()
        await wait_event(teacher, "participant.joined")
    return student


async def test_an_export_has_every_file_with_merged_attendance(classroom: Classroom) -> None:
    room = classroom
    teacher = await room.teacher(0)
    other_teacher = await room.teacher(1)
    ana = await room.student(0, "Ana")
    ana_tab = await room.join(ana.token)  # a second tab of the same pupil
    amani = await _flapping_student(room, teacher)
    await ana.chat("Olá from Lisbon")
    hello = await amani.chat("Jambo from Nairobi!\nSecond line")
    secret = await amani.chat(SECRET)
    await teacher.chat("Ana, a word?", to=_pid(ana))
    await other_teacher.command({"type": "chat.delete", "message_id": secret.seq})
    await ana_tab.close()

    archive = await _export(room.server, room.session_id, _bearer(room.teacher_token(0)))
    assert set(archive.namelist()) == FILES
    rows = _csv(archive, "attendance.csv")
    names = sorted(r["name"] for r in rows)
    assert names == ["Amani", "Ana", "Teacher", "Teacher"]  # one row per participant
    by_name = {r["name"]: r for r in rows if r["role"] == "student"}
    summary = _json(archive, "summary.json")
    wall_minutes = (summary["exported_at"] - summary["created_at"]) / 60_000
    assert by_name["Ana"]["intervals"] == "1"  # two tabs: one visit
    assert by_name["Amani"]["intervals"] == "3"  # drops within the grace: not visits
    for row in rows:
        assert 0 <= float(row["minutes_present"]) <= round(wall_minutes, 1) + 0.1
        assert row["first_join_utc"].endswith("Z")
        assert row["present_now"] == "yes"
        assert row["last_leave_utc"] == ""
    classes = _csv(archive, "attendance_by_class.csv")
    assert [(c["class_name"], c["participants"], c["students"]) for c in classes] == [
        (room.klass(0)["name"], "2", "1"),
        (room.klass(1)["name"], "2", "1"),
    ]

    chat = _json(archive, "chat.json")["messages"]
    assert [m["name"] for m in chat] == ["Ana", "Amani", "Amani", "Teacher"]
    assert chat[1]["text"] == "Jambo from Nairobi!\nSecond line"
    assert chat[1]["id"] == hello.seq
    deleted = chat[2]
    assert deleted["deleted"] is True
    assert "text" not in deleted
    assert deleted["deleted_by"] == "Teacher"
    assert chat[3]["direct"] is True
    assert chat[3]["to_name"] == "Ana"
    transcript = archive.read("chat.txt").decode()
    assert "Jambo from Nairobi!\n    Second line" in transcript
    assert "[deleted by Teacher]" in transcript
    for name in archive.namelist():
        assert SECRET.encode() not in archive.read(name), name

    ET.fromstring(archive.read("boards/main.svg"))  # parses as XML
    assert _json(archive, "recordings.json") == {"recording_enabled": False, "recordings": []}
    assert summary["counts"]["messages"] == 4
    assert summary["counts"]["messages_deleted"] == 1
    assert summary["attendance"]["participants"] == 4


async def test_polls_are_exported_with_their_totals(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    amani = await classroom.student(1, "Amani")
    question = {"type": "poll.create", "question": "Longest river?", "options": ["Nile", "Tana"]}
    poll = (await teacher.command(question)).seq
    await amani.command({"type": "poll.answer", "poll": poll, "choices": [1]})
    archive = await _export(classroom.server, classroom.session_id, OPERATOR)
    [exported] = _json(archive, "polls.json")
    assert (exported["question"], exported["counts"]) == ("Longest river?", [0, 1])
    assert _json(archive, "summary.json")["counts"]["polls"] == 1
    assert _json(archive, "reflections.json") == []


async def test_summary_json_alone(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    await classroom.student(1, "Amani")
    await teacher.chat("Welcome")
    response = await _get(classroom.server, classroom.session_id, OPERATOR, "summary.json")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["title"] == "Water in our towns"
    assert [c["participants"] for c in body["classes"]] == [1, 1]
    assert body["classes"][1]["participants_by_role"] == {"student": 1}
    assert body["counts"]["messages"] == 1
    assert body["attendance"]["present_now"] == 2


async def test_the_operator_and_the_host_may_export(classroom: Classroom) -> None:
    for headers in (OPERATOR, _bearer(classroom.created["host_token"])):
        archive = await _export(classroom.server, classroom.session_id, headers)
        assert "attendance.csv" in archive.namelist()


async def test_teachers_do_not_read_other_teachers_direct_messages(classroom: Classroom) -> None:
    first = await classroom.teacher(0)
    second = await classroom.teacher(1)
    await first.chat("Between us teachers", to=_pid(second))
    host_token = classroom.created["host_token"]
    for headers, seen in ((OPERATOR, 0), (_bearer(classroom.teacher_token(1)), 1)):
        archive = await _export(classroom.server, classroom.session_id, headers)
        assert len(_json(archive, "chat.json")["messages"]) == seen
    archive = await _export(classroom.server, classroom.session_id, _bearer(host_token))
    assert b"Between us teachers" not in archive.read("chat.txt")


@pytest.mark.parametrize("role", ["student", "station", "observer"])
async def test_other_roles_may_not_export(classroom: Classroom, role: str) -> None:
    token = await classroom.token(role, 0, f"A {role}")
    for name in ("export.zip", "summary.json"):
        response = await _get(classroom.server, classroom.session_id, _bearer(token), name)
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"


async def test_a_self_joined_student_may_not_export(classroom: Classroom) -> None:
    token = await classroom.student_token(1, "Amani")
    response = await _get(classroom.server, classroom.session_id, _bearer(token))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_a_token_of_another_session_is_refused(classroom: Classroom) -> None:
    other = await open_classroom(classroom.server)
    response = await _get(classroom.server, classroom.session_id, _bearer(other.teacher_token(0)))
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_session"


async def test_credentials_are_required(classroom: Classroom) -> None:
    response = await _get(classroom.server, classroom.session_id, {})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


async def test_an_unknown_session_is_not_found(live_server: LiveServer) -> None:
    for name in ("export.zip", "summary.json"):
        response = await _get(live_server, "s_doesnotexist", OPERATOR, name)
        assert response.status_code == 404
        assert response.json()["code"] == "session_not_found"


async def test_attendance_outlives_the_trimmed_history(server_factory: ServerFactory) -> None:
    """The log keeps 10 events here: attendance and chat come from the state, not from it."""
    server = await server_factory(
        history_size=10, snapshot_every=5, chat_per_second=1000.0, chat_burst=1000
    )
    room = await open_classroom(server)
    teacher = await room.teacher(0)
    student = await room.student(1, "Amani")
    for n in range(30):
        await teacher.chat(f"message {n}")
    for client in (student, teacher):  # nobody left: the export loads the session anew
        await _leave(client)
    archive = await _export(server, room.session_id, OPERATOR)
    rows = _csv(archive, "attendance.csv")
    assert [(r["name"], r["intervals"], r["present_now"]) for r in rows] == [
        ("Teacher", "1", "no"),
        ("Amani", "1", "no"),
    ]
    assert all(r["last_leave_utc"] for r in rows)
    texts = [m["text"] for m in _json(archive, "chat.json")["messages"]]
    assert texts == [f"message {n}" for n in range(30)]


async def test_a_worker_without_the_session_loaded_exports_it(
    server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    first, second = await two_servers_on_redis(server_factory, redis_server)
    room = await open_classroom(first)
    teacher = await room.teacher(0)
    await room.student(1, "Amani")
    await teacher.chat("Hello over Redis")
    archive = await _export(second, room.session_id, _bearer(room.teacher_token(1)))
    assert [m["text"] for m in _json(archive, "chat.json")["messages"]] == ["Hello over Redis"]
    assert len(_csv(archive, "attendance.csv")) == 2


async def test_two_workers_with_the_session_export_the_same_attendance(
    server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    """A pupil with a tab on each worker, and each worker keeping its own replica: one row,
    one visit, the same on both."""
    first, second = await two_servers_on_redis(server_factory, redis_server)
    room = await open_classroom(first)
    teacher = await room.teacher(0)
    token = await room.student_token(1, "Amani")
    tabs = [first.client(token), second.client(token)]
    await asyncio.gather(*(tab.connect() for tab in tabs))
    await teacher.chat("Both tabs?")
    await second.client(room.teacher_token(1)).connect()  # keeps a replica on the second
    exports = []
    for server in (first, second):
        archive = await _export(server, room.session_id, OPERATOR)
        rows = _csv(archive, "attendance.csv")
        exports.append([{k: v for k, v in r.items() if k != "minutes_present"} for r in rows])
    assert exports[0] == exports[1]
    amani = [r for r in exports[0] if r["name"] == "Amani"]
    assert [r["intervals"] for r in amani] == ["1"]
