"""GET /api/sessions/{id}/boards/{board}.svg on a real server: drawn over WebSockets, exported
over HTTP, parsed as XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest

from server.client import ClassbridgeClient
from tests.conftest import ServerFactory
from tests.helpers import Classroom, open_classroom, two_servers_on_redis
from tests.live import API_KEY, LiveServer
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]

NS = "{http://www.w3.org/2000/svg}"
OPERATOR = {"authorization": f"Bearer {API_KEY}"}
RECT = {"x": 10, "y": 20, "w": 300, "h": 120, "color": "#1a2b3c", "width": 3, "fill": "#ffcc00"}
HOSTILE = "<script>alert('x')</script> & \"]]>"


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _export(
    server: LiveServer, session_id: str, headers: dict[str, str], board: str = "main"
) -> httpx.Response:
    return await server.http.get(f"/api/sessions/{session_id}/boards/{board}.svg", headers=headers)


async def _put(client: ClassbridgeClient, record_id: str, kind: str, props: dict[str, Any]) -> None:
    record = {"id": record_id, "kind": kind, "props": props}
    await client.request({"type": "board.put", "board": "main", "record": record})


def _svg(response: httpx.Response) -> ET.Element:
    assert response.status_code == 200, response.text
    return ET.fromstring(response.content)


async def test_a_teacher_exports_what_was_drawn(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    student = await classroom.student(1, "Amani")
    await _put(teacher, "r1", "rect", RECT)
    text = {"x": 40, "y": 60, "text": HOSTILE, "color": "#000000", "size": 20}
    await _put(student, "t1", "text", text)  # students type; the export must escape it

    response = await _export(
        classroom.server, classroom.session_id, _bearer(classroom.teacher_token(0))
    )
    root = _svg(response)
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"] == (
        'attachment; filename="water-in-our-towns-main.svg"'
    )
    assert root.findtext(f"{NS}title") == "Water in our towns — main"
    page, rect, text_element = list(root)[1:]
    assert page.get("fill") == "#ffffff"
    assert [rect.get(a) for a in ("x", "y", "width", "height", "stroke", "fill")] == [
        "10",
        "20",
        "300",
        "120",
        "#1a2b3c",
        "#ffcc00",
    ]
    assert "".join(text_element.itertext()) == HOSTILE
    assert b"<script" not in response.content


async def test_the_host_and_the_operator_may_export(classroom: Classroom) -> None:
    teacher = await classroom.teacher(1)
    await _put(teacher, "r1", "rect", RECT)
    for headers in (_bearer(classroom.created["host_token"]), OPERATOR):
        root = _svg(await _export(classroom.server, classroom.session_id, headers))
        assert [e.tag for e in root][2:] == [f"{NS}rect"]


async def test_another_board_exports_with_its_title(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    await teacher.request({"type": "board.create", "board": "ideas-2", "title": "Our ideas"})
    note = {"x": 0, "y": 0, "w": 200, "h": 200, "text": "Less plastic", "color": "#ffe066"}
    record = {"id": "n1", "kind": "note", "props": note}
    await teacher.request({"type": "board.put", "board": "ideas-2", "record": record})
    response = await _export(classroom.server, classroom.session_id, OPERATOR, "ideas-2")
    root = _svg(response)
    assert root.findtext(f"{NS}title") == "Water in our towns — Our ideas"
    assert "Less plastic" in "".join(root.itertext())
    assert 'filename="water-in-our-towns-ideas-2.svg"' in response.headers["content-disposition"]
    main = _svg(await _export(classroom.server, classroom.session_id, OPERATOR))
    assert len(main) == 2  # the note is on the other board only: title and page


async def test_an_empty_board_exports_as_a_blank_page(classroom: Classroom) -> None:
    root = _svg(await _export(classroom.server, classroom.session_id, OPERATOR))
    assert [e.tag for e in root] == [f"{NS}title", f"{NS}rect"]


@pytest.mark.parametrize("role", ["student", "station", "observer"])
async def test_other_roles_may_not_export(classroom: Classroom, role: str) -> None:
    token = await classroom.token(role, 0, f"A {role}")
    response = await _export(classroom.server, classroom.session_id, _bearer(token))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_a_self_joined_student_may_not_export(classroom: Classroom) -> None:
    token = await classroom.student_token(1, "Amani")
    response = await _export(classroom.server, classroom.session_id, _bearer(token))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_a_token_of_another_session_is_refused(classroom: Classroom) -> None:
    other = await open_classroom(classroom.server)
    for token in (other.teacher_token(0), other.created["host_token"]):
        response = await _export(classroom.server, classroom.session_id, _bearer(token))
        assert response.status_code == 403
        assert response.json()["code"] == "wrong_session"


async def test_credentials_are_required(classroom: Classroom) -> None:
    for headers, code in (({}, "unauthorized"), (_bearer("a.b.c"), "token_invalid")):
        response = await _export(classroom.server, classroom.session_id, headers)
        assert response.status_code == 401
        assert response.json()["code"] == code


async def test_an_unknown_board_is_not_found(classroom: Classroom) -> None:
    for headers in (OPERATOR, _bearer(classroom.teacher_token(0))):
        response = await _export(classroom.server, classroom.session_id, headers, "nope")
        assert response.status_code == 404
        body = response.json()
        assert body["code"] == "not_found"
        assert body["message"]


async def test_an_unknown_session_is_not_found(live_server: LiveServer) -> None:
    response = await _export(live_server, "s_doesnotexist", OPERATOR)
    assert response.status_code == 404
    assert response.json()["code"] == "session_not_found"


async def test_paths_without_the_svg_suffix_are_not_found(classroom: Classroom) -> None:
    base = f"/api/sessions/{classroom.session_id}/boards/main"
    for path in (base, f"{base}.png", f"{base}/svg"):
        response = await classroom.server.http.get(path, headers=OPERATOR)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"
    response = await classroom.server.http.post(f"{base}.svg", headers=OPERATOR)
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


async def test_a_worker_without_the_session_loaded_exports_it(
    server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    """Drawn through one server, exported through another that nobody of the session is on:
    it loads the session's replica from Redis for the request."""
    first, second = await two_servers_on_redis(server_factory, redis_server)
    room = await open_classroom(first)
    teacher = await room.teacher(0)
    await _put(teacher, "r1", "rect", RECT)
    stroke = {"points": [0, 0, 50, 50, 100, 0], "color": "#cc0000", "width": 4}
    await _put(teacher, "s1", "stroke", stroke)
    root = _svg(await _export(second, room.session_id, _bearer(room.teacher_token(0))))
    rect, polyline = list(root)[2:]
    assert rect.get("width") == "300"
    assert polyline.get("points") == "0,0 50,50 100,0"
