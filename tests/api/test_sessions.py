"""POST /api/sessions and GET /api/sessions/{id} on a real server."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from server.auth import TokenService
from tests.conftest import SHARED_LOOP, ServerFactory
from tests.helpers import (
    Classroom,
    FlakyBroker,
    left_event_of,
    open_classroom,
    participant_of,
    wait_event,
)
from tests.live import API_KEY, SECRET, TWO_CLASSES, LiveServer

OPERATOR = {"authorization": f"Bearer {API_KEY}"}


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _create(
    server: LiveServer, body: Any, headers: dict[str, str] = OPERATOR
) -> httpx.Response:
    return await server.http.post("/api/sessions", json=body, headers=headers)


def _session(**changes: Any) -> dict[str, Any]:
    return {"title": "Rivers", "classes": [dict(c) for c in TWO_CLASSES], **changes}


def _with_class(**changes: Any) -> dict[str, Any]:
    return _session(classes=[{**TWO_CLASSES[0], **changes}, TWO_CLASSES[1]])


async def test_create_a_session(live_server: LiveServer) -> None:
    body = _session(settings={"student_private_chat": True}, host_name="Ms Ferreira", host_class=1)
    response = await _create(live_server, body)
    assert response.status_code == 201
    created = response.json()
    assert re.fullmatch(r"s_[A-Za-z0-9_-]+", created["session_id"])
    assert created["title"] == "Rivers"
    tokens = TokenService(SECRET)
    host = tokens.verify(created["host_token"])
    assert (host.session_id, host.actor.role, host.actor.class_id) == (
        created["session_id"],
        "host",
        "c2",
    )
    assert host.actor.name == "Ms Ferreira"
    assert created["host_url"].endswith(f"/?token={created['host_token']}")
    classes = created["classes"]
    assert [(c["id"], c["country"], c["timezone"], c["language"]) for c in classes] == [
        ("c1", "PT", "Europe/Lisbon", "pt-PT"),
        ("c2", "KE", "Africa/Nairobi", "en"),
    ]
    for info in classes:
        assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", info["join_code"])
        assert info["join_url"].endswith("?code=" + info["join_code"].replace("-", ""))
        teacher = tokens.verify(info["teacher_token"])
        assert (teacher.actor.role, teacher.actor.class_id) == ("teacher", info["id"])
    assert classes[0]["join_code"] != classes[1]["join_code"]
    summary = await live_server.http.get(f"/api/sessions/{created['session_id']}", headers=OPERATOR)
    assert summary.json()["settings"] == {"lobby": "open", "student_private_chat": True}


@SHARED_LOOP
async def test_country_codes_are_normalised(shared_server: LiveServer) -> None:
    response = await _create(shared_server, _with_class(country="pt"))
    assert response.status_code == 201
    assert response.json()["classes"][0]["country"] == "PT"


@SHARED_LOOP
@pytest.mark.parametrize(
    ("body", "detail"),
    [
        pytest.param(_with_class(country="Portugal"), "classes[0].country", id="country"),
        pytest.param(_with_class(country="P1"), "classes[0].country", id="country digits"),
        pytest.param(
            _with_class(timezone="Mars/Olympus_Mons"), "classes[0].timezone", id="timezone"
        ),
        pytest.param(_with_class(language="english!"), "classes[0].language", id="language"),
        pytest.param(_with_class(language=7), "classes[0].language", id="language not a string"),
        pytest.param(_with_class(name="  "), "classes[0].name", id="empty class name"),
        pytest.param(_session(title="   "), "title", id="empty title"),
        pytest.param(_session(title="t" * 201), "title", id="long title"),
        pytest.param(_session(title="bell\x07"), "title", id="control character"),
        pytest.param(_session(title=None), "title", id="no title"),
        pytest.param(_session(classes=[]), "classes", id="no classes"),
        pytest.param(_session(classes=[TWO_CLASSES[0]] * 9), "classes", id="too many classes"),
        pytest.param(_session(classes="c1,c2"), "classes", id="classes not a list"),
        pytest.param(_session(classes=["c1"]), "classes[0]", id="class not an object"),
        pytest.param(_session(settings={"recording": True}), "recording", id="unknown setting"),
        pytest.param(_session(settings={"lobby": "on"}), "lobby", id="setting type"),
        pytest.param(_session(settings=[]), "settings", id="settings not an object"),
        pytest.param(_session(host_class=2), "host_class", id="host class out of range"),
        pytest.param(_session(host_name=""), "host_name", id="empty host name"),
    ],
)
async def test_create_validation_errors(
    shared_server: LiveServer, body: dict[str, Any], detail: str
) -> None:
    response = await _create(shared_server, body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_message"
    assert response.json()["detail"] == detail
    assert response.json()["message"]


@SHARED_LOOP
@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2]", b'"a string"', b"\xff\xfe"],
    ids=["not JSON", "array", "string", "not UTF-8"],
)
async def test_create_needs_a_json_object(shared_server: LiveServer, content: bytes) -> None:
    response = await shared_server.http.post("/api/sessions", content=content, headers=OPERATOR)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_message"


@SHARED_LOOP
async def test_a_body_over_64_kib_is_too_large(shared_server: LiveServer) -> None:
    content = b'{"title": "' + b"x" * 70_000 + b'"}'
    response = await shared_server.http.post("/api/sessions", content=content, headers=OPERATOR)
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


async def test_create_needs_the_operator_key(classroom: Classroom) -> None:
    server = classroom.server
    cases = [
        ({}, 401, "unauthorized"),
        ({"authorization": API_KEY}, 401, "unauthorized"),  # no scheme
        ({"authorization": f"Basic {API_KEY}"}, 401, "unauthorized"),
        ({"authorization": "Bearer"}, 401, "unauthorized"),
        (_bearer("not-the-key"), 401, "unauthorized"),
        (_bearer(classroom.teacher_token(0)), 403, "forbidden"),
        (_bearer(classroom.created["host_token"]), 403, "forbidden"),
    ]
    for headers, status, code in cases:
        response = await _create(server, _session(), headers)
        assert (response.status_code, response.json()["code"]) == (status, code), headers


async def test_create_is_off_without_an_api_key(server_factory: ServerFactory) -> None:
    server = await server_factory(api_key=None)
    assert server.settings.api_key is None
    response = await _create(server, _session())
    assert (response.status_code, response.json()["code"]) == (403, "api_disabled")


async def test_summary_counts_per_class_and_shows_codes_to_teachers(
    server_factory: ServerFactory,
) -> None:
    room = await open_classroom(await server_factory(presence_grace=0.2))
    teacher = await room.teacher(0)
    await room.student(1, "Amani")
    leaving = await room.student(1, "Baraka")
    await leaving.close()
    await wait_event(teacher, "participant.left", left_event_of(participant_of(leaving)))
    student_token = await room.student_token(0, "Inês")  # has a token, never connected

    url = f"/api/sessions/{room.session_id}"
    codes = [room.join_code(0), room.join_code(1)]
    for headers in (OPERATOR, _bearer(room.teacher_token(1)), _bearer(room.created["host_token"])):
        summary = (await room.server.http.get(url, headers=headers)).json()
        assert summary["session_id"] == room.session_id
        assert summary["title"] == "Water in our towns"
        assert [(c["id"], c["present"], c["participants"]) for c in summary["classes"]] == [
            ("c1", 1, 1),
            ("c2", 1, 2),
        ]
        assert [c["join_code"] for c in summary["classes"]] == codes
        assert summary["seq"] == teacher.last_seq
        assert summary["epoch"] == teacher.epoch
    as_student = (await room.server.http.get(url, headers=_bearer(student_token))).json()
    assert [c["present"] for c in as_student["classes"]] == [1, 1]
    assert all("join_code" not in c for c in as_student["classes"])


async def test_summary_access(classroom: Classroom, live_server: LiveServer) -> None:
    url = f"/api/sessions/{classroom.session_id}"
    other = await live_server.create_session()
    cases = [
        (url, {}, 401, "unauthorized"),
        (url, _bearer("garbage"), 401, "unauthorized"),
        (url, _bearer(other["classes"][0]["teacher_token"]), 403, "wrong_session"),
        ("/api/sessions/s_nosuchsession", OPERATOR, 404, "session_not_found"),
    ]
    for path, headers, status, code in cases:
        response = await live_server.http.get(path, headers=headers)
        assert (response.status_code, response.json()["code"]) == (status, code)


@SHARED_LOOP
@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/nothing-here", 404, "not_found"),
        ("GET", "/no/such/page", 404, "not_found"),
        ("POST", "/healthz", 405, "method_not_allowed"),
        ("GET", "/api/join", 405, "method_not_allowed"),
        ("DELETE", "/api/sessions/s_x", 405, "method_not_allowed"),
        ("PUT", "/api/join", 405, "method_not_allowed"),
    ],
)
async def test_unknown_routes_answer_json(
    shared_server: LiveServer, method: str, path: str, status: int, code: str
) -> None:
    response = await shared_server.http.request(method, path)
    assert response.status_code == status
    if status == 405:
        assert method not in response.headers["allow"]
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == code


async def test_a_server_failure_is_answered_in_json(
    server_factory: ServerFactory,
) -> None:
    broker = FlakyBroker()
    server = await server_factory(broker=broker)
    created = await server.create_session()
    broker.failing.add("get_session")
    response = await server.http.get(f"/api/sessions/{created['session_id']}", headers=OPERATOR)
    assert response.status_code == 500
    assert response.json() == {"code": "internal_error", "message": "internal error"}
    assert "the broker is unavailable" not in response.text  # the details go to the log only


@SHARED_LOOP
async def test_health_and_the_demo_page(shared_server: LiveServer) -> None:
    assert (await shared_server.http.get("/healthz")).json()["status"] == "ok"
    page = await shared_server.http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")


@SHARED_LOOP
@pytest.mark.parametrize("timezone", ["localtime", "Factory", "utc", "europe/lisbon"])
async def test_time_zones_must_name_a_place(shared_server: LiveServer, timezone: str) -> None:
    response = await _create(shared_server, _with_class(timezone=timezone))
    assert response.status_code == 400
    assert response.json()["detail"] == "classes[0].timezone"


@SHARED_LOOP
async def test_a_null_host_name_means_the_default(shared_server: LiveServer) -> None:
    response = await _create(shared_server, _session(host_name=None))
    assert response.status_code == 201
