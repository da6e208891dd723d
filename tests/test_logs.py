"""What a real server logs, in both formats: ids where known, and never a secret.

A server with every secret set (signing secret, API key, TURN secret, metrics token) serves a
join with a token, API calls with the key, a page opened with a token in its link, a refused
join and a bad message, at the debug level; its output then holds none of the secrets.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from server.client import ClassbridgeClient, ClientError
from server.protocol.codec import WireFormat
from tests.live import API_KEY, SECRET, TWO_CLASSES
from tests.processes import Running, serve, wait_healthy

TURN_SECRET = "turn-static-auth-secret-0123456789"
METRICS_TOKEN = "metrics-token-0123456789abcdef"
PUPILS_WORDS = "my grandmother lives by the river"
FORGED_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmb3JnZWQifQ.Zm9yZ2VkLXNpZ25hdHVyZQ"
SERVE = (
    "--secret",
    SECRET,
    "--api-key",
    API_KEY,
    "--no-demo",
    "--log-level",
    "debug",
    "--turn-urls",
    "turn:turn.example.org:3478",
    "--turn-secret",
    TURN_SECRET,
    "--metrics-token",
    METRICS_TOKEN,
)


async def _rest_of_stdout(running: Running) -> list[str]:
    """What the server printed after its first line (uvicorn's access log goes to stdout in
    the text format); read once it has exited."""
    assert running.process.stdout is not None
    return (await running.process.stdout.read()).decode().splitlines(keepends=True)


async def _lesson(running: Running) -> dict[str, Any]:
    """Everything that handles a secret; returns the session and the secrets it handed out."""
    async with httpx.AsyncClient(base_url=running.url) as http:
        await wait_healthy(http)
        body = {"title": "Logs", "classes": TWO_CLASSES}
        headers = {"authorization": f"Bearer {API_KEY}"}
        created = (await http.post("/api/sessions", json=body, headers=headers)).json()
        code = created["classes"][1]["join_code"]
        student = (await http.post("/api/join", json={"code": code, "name": "Amani"})).json()
        teacher_token = created["classes"][0]["teacher_token"]
        assert (await http.get("/", params={"token": teacher_token})).status_code == 200
        assert (await http.get("/", params={"code": code})).status_code == 200
        metrics = await http.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
        assert metrics.status_code == 200
    ws_url = f"ws://127.0.0.1:{running.port}/ws"
    teacher = ClassbridgeClient(ws_url, teacher_token)
    await teacher.connect()
    await teacher.chat("hello")
    with pytest.raises(ClientError):
        await teacher.request({"type": "no.such.thing"})  # logged: "bad input" with the ids
    with pytest.raises(ConnectionError):
        await ClassbridgeClient(ws_url, FORGED_TOKEN).connect()
    # JSON frames are text: at the debug level the WebSocket library would log them.
    pupil = ClassbridgeClient(ws_url, student["token"], WireFormat.JSON)
    await pupil.connect()
    await pupil.chat(PUPILS_WORDS)  # what a child writes is not for the logs either
    await pupil.close()
    await teacher.close()
    secrets = [SECRET, API_KEY, TURN_SECRET, METRICS_TOKEN, FORGED_TOKEN, code, PUPILS_WORDS]
    for token in (teacher_token, student["token"]):
        secrets += [token, token.rsplit(".", 1)[1]]  # the whole token, and its signature
    return {"session": created["session_id"], "secrets": secrets}


@pytest.mark.slow
@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_no_secret_is_ever_logged(log_format: str) -> None:
    async with serve(*SERVE, "--log-format", log_format) as running:
        lesson = await _lesson(running)
    output = "".join(running.stdout + await _rest_of_stdout(running) + running.stderr)
    assert "bad input: unknown_type" in output  # the records were captured
    assert "token=[redacted]" in output  # the access log, with the links redacted
    assert "code=[redacted]" in output
    for secret in lesson["secrets"]:
        assert secret not in output


@pytest.mark.slow
async def test_json_records_carry_the_ids() -> None:
    async with serve(*SERVE, "--log-format", "json") as running:
        lesson = await _lesson(running)
    records = [json.loads(line) for line in running.stderr if line.strip()]
    assert records
    for record in records:
        assert {"ts", "level", "logger", "message"} <= record.keys()
        assert record["ts"].endswith("Z")
    [bad] = [r for r in records if r["message"].startswith("bad input")]
    assert bad["level"] == "info"
    assert bad["logger"] == "server.gateway"
    assert bad["session"] == lesson["session"]
    assert bad["participant"].startswith("p")
    assert isinstance(bad["connection"], int)
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert any("GET /?token=[redacted]" in r["message"] for r in access)
