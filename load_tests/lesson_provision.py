"""Create a lesson's sessions through the HTTP API (docs/api.md) with the operator key: K
classes from different countries, the lobby policy asked for, and per class one token for its
teacher, one for its station and one per student."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from load_tests.provision import _post
from load_tests.servers import Target

CLASSES = [
    {"name": "Turma 6B", "country": "PT", "timezone": "Europe/Lisbon", "language": "pt-PT"},
    {"name": "Grade 6 Kestrels", "country": "KE", "timezone": "Africa/Nairobi", "language": "en"},
    {"name": "Klasse 6a", "country": "DE", "timezone": "Europe/Berlin", "language": "de"},
    {"name": "Sixième C", "country": "SN", "timezone": "Africa/Dakar", "language": "fr"},
    {"name": "Grado 6 Sol", "country": "PE", "timezone": "America/Lima", "language": "es"},
    {"name": "Year 7 Tui", "country": "NZ", "timezone": "Pacific/Auckland", "language": "en"},
    {"name": "Kelas 6 Merpati", "country": "ID", "timezone": "Asia/Jakarta", "language": "id"},
    {"name": "Klasa 6b", "country": "PL", "timezone": "Europe/Warsaw", "language": "pl"},
]


@dataclass(frozen=True, slots=True)
class Seat:
    """One participant to simulate: its name in the run, role, class and join token."""

    name: str
    role: str  # teacher, station or student
    class_index: int
    token: str


@dataclass(frozen=True, slots=True)
class LessonSession:
    session_id: str
    seats: list[Seat]  # per class: teacher, station, then the students


def _create(
    base_url: str, api_key: str, index: int, classes: int, students: int, lobby: bool
) -> LessonSession:
    body = {
        "title": f"Lesson {index}",
        "classes": CLASSES[:classes],
        "settings": {"lobby": "everyone" if lobby else "open"},
    }
    created = _post(f"{base_url}/api/sessions", api_key, body)
    mint_url = f"{base_url}/api/sessions/{created['session_id']}/tokens"
    seats = []
    for c, described in enumerate(created["classes"]):
        roles = [("t", "teacher"), ("st", "station")]
        roles += [(f"p{i}", "student") for i in range(students)]
        for suffix, role in roles:
            name = f"s{index}c{c}{suffix}"
            grant = {"role": role, "class_id": described["id"], "name": name}
            seats.append(Seat(name, role, c, _post(mint_url, api_key, grant)["token"]))
    return LessonSession(created["session_id"], seats)


async def provision_lessons(
    target: Target, sessions: int, classes: int, students: int, lobby: bool
) -> list[LessonSession]:
    assert target.api_key is not None, "a spawned Classbridge"
    key = target.api_key
    return [
        await asyncio.to_thread(_create, target.base_url, key, s, classes, students, lobby)
        for s in range(sessions)
    ]
