"""Sessions of a realistic size and one student token each, minted through the operator API
(docs/api.md) from a few threads, each with one keep-alive HTTP connection: 10,000 tokens in
seconds rather than minutes."""

from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from load_tests.provision import CLASSES
from load_tests.servers import Target

HTTP_TIMEOUT = 30.0
MINT_THREADS = 4


class _Api:
    """One keep-alive connection per thread."""

    def __init__(self, base_url: str, api_key: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"authorization": f"Bearer {api_key}", "content-type": "application/json"}
        self.local = threading.local()
        self.opened: list[http.client.HTTPConnection] = []  # closed by ``close``

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=HTTP_TIMEOUT)
            self.local.connection = connection
            self.opened.append(connection)  # list.append is atomic: threads may share it
        connection.request("POST", path, json.dumps(body), self.headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status >= 300:
            raise RuntimeError(f"POST {path}: {response.status} {answer[:200]!r}")
        decoded: dict[str, Any] = json.loads(answer)
        return decoded

    def close(self) -> None:
        for connection in self.opened:
            connection.close()


def _session(api: _Api, index: int, students: int) -> list[str]:
    body = {"title": f"Crowd session {index}", "classes": CLASSES}
    created = api.post("/api/sessions", body)
    mint_path = f"/api/sessions/{created['session_id']}/tokens"
    tokens = []
    for seat in range(students):
        class_id = created["classes"][seat % len(CLASSES)]["id"]
        grant = {"role": "student", "class_id": class_id, "name": f"Student {index}-{seat}"}
        tokens.append(api.post(mint_path, grant)["token"])
    return tokens


def session_sizes(total: int, per_session: int) -> list[int]:
    """``total`` students in sessions of ``per_session`` (the last one may be smaller)."""
    full, rest = divmod(total, per_session)
    return [per_session] * full + ([rest] if rest else [])


def mint_students(target: Target, total: int, per_session: int) -> list[str]:
    """``total`` student tokens, session after session (so neighbours share a session)."""
    assert target.api_key is not None, "a spawned Classbridge"
    api = _Api(target.base_url, target.api_key)
    sizes = session_sizes(total, per_session)
    try:
        with ThreadPoolExecutor(MINT_THREADS) as pool:
            mint = pool.map(lambda item: _session(api, *item), enumerate(sizes))
            per_session_tokens = list(mint)
    finally:
        api.close()
    return [token for tokens in per_session_tokens for token in tokens]
