"""Create the sessions of a run and one join token per simulated client.

Classbridge: through its HTTP API with the operator key (docs/api.md); each session has two
classes from different countries and the clients alternate between them. The ceiling has no
auth: a client's "token" is just its room's name.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

from load_tests.servers import Target

HTTP_TIMEOUT = 10.0
CLASSES = [
    {"name": "Turma 6B", "country": "PT", "timezone": "Europe/Lisbon", "language": "pt-PT"},
    {"name": "Grade 6 Kestrels", "country": "KE", "timezone": "Africa/Nairobi", "language": "en"},
]


def _post(url: str, api_key: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"authorization": f"Bearer {api_key}", "content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def session_title(index: int) -> str:
    return f"Load test session {index}"


def _session_tokens(
    base_url: str, api_key: str, index: int, roles: list[str]
) -> tuple[str, list[str]]:
    body = {"title": session_title(index), "classes": CLASSES}
    created = _post(f"{base_url}/api/sessions", api_key, body)
    mint_url = f"{base_url}/api/sessions/{created['session_id']}/tokens"
    tokens = []
    for client, role in enumerate(roles):
        class_id = created["classes"][client % len(CLASSES)]["id"]
        grant = {"role": role, "class_id": class_id, "name": f"Load s{index} c{client}"}
        tokens.append(_post(mint_url, api_key, grant)["token"])
    return created["session_id"], tokens


async def provision(target: Target, sessions: int, clients: int) -> list[list[str]]:
    """Tokens per session, per client (all students)."""
    if target.api_key is None:
        return [[f"room-{s}"] * clients for s in range(sessions)]
    created = await provision_roles(target, sessions, ["student"] * clients)
    return [tokens for _, tokens in created]


async def provision_roles(
    target: Target, sessions: int, roles: list[str]
) -> list[tuple[str, list[str]]]:
    """Per session: its id and one token per entry of ``roles`` (classes alternate)."""
    assert target.api_key is not None, "Classbridge only"
    api_key = target.api_key
    return [
        await asyncio.to_thread(_session_tokens, target.base_url, api_key, s, roles)
        for s in range(sessions)
    ]
