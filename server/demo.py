"""The demo session created at start-up when no operator API key is configured."""

from __future__ import annotations

from typing import Any

from server.api.sessions import open_session
from server.directory import SessionSpec
from server.rooms.state import ClassInfo, SessionSettings
from server.services import Services

DEMO_SPEC = SessionSpec(
    title="Water in our towns: Lisbon meets Nairobi",
    classes=[
        ClassInfo("c1", "Turma 6B, Escola Básica de Alfama", "PT", "Europe/Lisbon", "pt-PT"),
        ClassInfo("c2", "Grade 6 Kestrels, Nairobi", "KE", "Africa/Nairobi", "en-KE"),
    ],
    settings=SessionSettings(lobby="open", student_private_chat=False),
)


async def create_demo(services: Services) -> dict[str, Any]:
    return await open_session(services, DEMO_SPEC, host_name="Ms Ferreira (host)", host_class=0)


def describe_demo(created: dict[str, Any]) -> str:
    lines = [
        "",
        f"Demo session {created['session_id']}: {created['title']}",
        f"  Host (teacher in charge): {created['host_url']}",
    ]
    for info in created["classes"]:
        lines += [
            f"  Class {info['id']}: {info['name']} ({info['country']})",
            f"    teacher link:      {info['teacher_url']}",
            f"    student join code: {info['join_code']}  (or open {info['join_url']})",
        ]
    lines.append("")
    return "\n".join(lines)
