from __future__ import annotations

from tests.live import LiveServer


async def test_healthz_answers(live_server: LiveServer) -> None:
    response = await live_server.http.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_two_classes_chat(live_server: LiveServer) -> None:
    created = await live_server.create_session()
    joined = await live_server.self_join(created["classes"][1]["join_code"], "Amani")
    teacher = live_server.client(created["classes"][0]["teacher_token"])
    student = live_server.client(joined["token"])
    await teacher.connect()
    await student.connect()
    await student.chat("Habari from Nairobi")
    posted = await teacher.next_event("chat.posted")
    assert posted.data["text"] == "Habari from Nairobi"
    assert posted.data["class_id"] == "c2"
