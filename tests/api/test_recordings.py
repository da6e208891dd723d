"""GET /api/sessions/{id}/recordings[/{name}] on a real server: who may list and download,
and names that try to leave the session's folder. The files are written here by hand, as the
recorder lays them out (tests/media/test_recording.py records real ones)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from server.client import ClientError
from server.media.recording_files import recording_name
from tests.conftest import ServerFactory
from tests.helpers import Classroom, open_classroom
from tests.live import API_KEY, LiveServer

OPERATOR = {"authorization": f"Bearer {API_KEY}"}
CONTENT = b"\x1aE\xdf\xa3 not really a webm"


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _write(root: Path, session_id: str, publisher: str, started: int, stopped: int | None) -> str:
    name = recording_name(session_id, started, publisher)
    folder = root / session_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(CONTENT)
    about = {
        "name": name,
        "session_id": session_id,
        "publisher": publisher,
        "class_id": "c1",
        "recording_started_at": 1_700_000_000_000,
        "started_at": started,
        "stopped_at": stopped,
    }
    (folder / name).with_suffix(".json").write_text(json.dumps(about))
    return name


@pytest.fixture
async def recorded(server_factory: ServerFactory, tmp_path: Path) -> tuple[Classroom, list[str]]:
    server = await server_factory(recordings_dir=str(tmp_path / "recordings"))
    room = await open_classroom(server)
    root = tmp_path / "recordings"
    names = [
        _write(root, room.session_id, "p_station_1", 1_700_000_001_000, 1_700_000_061_000),
        _write(root, room.session_id, "p_station_2", 1_700_000_002_500, None),  # still running
    ]
    (root / room.session_id / "notes.txt").write_text("not a recording")
    (tmp_path / "secret.webm").write_bytes(b"outside the recordings folder")
    (root / "secret.webm").write_bytes(b"outside the session's folder")
    return room, names


async def _list(server: LiveServer, session_id: str, headers: dict[str, str]) -> httpx.Response:
    return await server.http.get(f"/api/sessions/{session_id}/recordings", headers=headers)


async def test_teachers_hosts_and_the_operator_list_and_download(
    recorded: tuple[Classroom, list[str]],
) -> None:
    room, names = recorded
    for headers in (
        OPERATOR,
        _bearer(room.teacher_token(0)),
        _bearer(room.teacher_token(1)),
        _bearer(room.created["host_token"]),
    ):
        listed = await _list(room.server, room.session_id, headers)
        assert listed.status_code == 200, listed.text
        assert listed.headers["cache-control"] == "no-store"
        entries = listed.json()["recordings"]
        assert [e["name"] for e in entries] == sorted(names)
        assert entries[0] == {
            "name": names[0],
            "size": len(CONTENT),
            "media_type": "video/webm",
            "publisher": "p_station_1",
            "class_id": "c1",
            "recording_started_at": 1_700_000_000_000,
            "started_at": 1_700_000_001_000,
            "stopped_at": 1_700_000_061_000,
        }
        assert entries[1]["stopped_at"] is None
        fetched = await room.server.http.get(
            f"/api/sessions/{room.session_id}/recordings/{names[0]}", headers=headers
        )
        assert fetched.status_code == 200
        assert fetched.content == CONTENT
        assert fetched.headers["content-type"] == "video/webm"
        assert fetched.headers["cache-control"] == "no-store"
        assert names[0] in fetched.headers["content-disposition"]


async def test_students_other_sessions_and_strangers_are_refused(
    recorded: tuple[Classroom, list[str]],
) -> None:
    room, names = recorded
    other = await open_classroom(room.server)
    student = await room.student_token(0, "Amani")
    station = await room.token("station", 1, "7B room")
    cases = [
        ({}, 401, "unauthorized"),
        (_bearer("not-a-key"), 401, "unauthorized"),
        (_bearer(student), 403, "forbidden"),
        (_bearer(station), 403, "forbidden"),
        (_bearer(other.teacher_token(0)), 403, "wrong_session"),
    ]
    for headers, status, code in cases:
        for path in ("", f"/{names[0]}"):
            response = await room.server.http.get(
                f"/api/sessions/{room.session_id}/recordings{path}", headers=headers
            )
            assert (response.status_code, response.json()["code"]) == (status, code), path
    missing = await _list(room.server, "s_nosuchsession", OPERATOR)
    assert (missing.status_code, missing.json()["code"]) == (404, "session_not_found")
    empty = await _list(room.server, other.session_id, OPERATOR)
    assert empty.json() == {"recordings": []}


@pytest.mark.parametrize(
    "name",
    [
        "..%2Fsecret.webm",
        "..%2F..%2Fsecret.webm",
        "%2E%2E%2F%2E%2E%2Fsecret.webm",
        "..%5C..%5Csecret.webm",
        "%2E%2E",  # a bare ".." the HTTP client itself resolves before sending
        ".webm",
        "notes.txt",
        "x.json",
        "%2Fetc%2Fpasswd",
        "nothing-here.webm",
        "a%00.webm",
        "a%20b.webm",
    ],
)
async def test_names_never_leave_the_sessions_folder(
    recorded: tuple[Classroom, list[str]], name: str
) -> None:
    room, _ = recorded
    response = await room.server.http.get(
        f"/api/sessions/{room.session_id}/recordings/{name}", headers=OPERATOR
    )
    assert response.status_code == 404
    assert b"outside" not in response.content


async def test_a_server_without_a_recordings_folder(server_factory: ServerFactory) -> None:
    server = await server_factory()
    room = await open_classroom(server)
    listed = await _list(server, room.session_id, OPERATOR)
    assert (listed.status_code, listed.json()["code"]) == (404, "recording_disabled")
    teacher = await room.teacher(0)
    with pytest.raises(ClientError) as refused:
        await teacher.command({"type": "recording.start"})
    assert refused.value.code == "recording_disabled"
