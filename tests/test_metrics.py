"""GET /metrics over a real server: the counters move by what clients did, and who may read it.

The figures belong to the test process (one registry for every in-process server), so each test
compares two scrapes and asserts the difference.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from server import gateway
from server.client import ClassbridgeClient, ClientError
from tests.conftest import ServerFactory
from tests.helpers import JSON, collect_until, open_classroom, participant_of, seq_of
from tests.live import LiveServer

Figures = dict[tuple[str, frozenset[tuple[str, str]]], float]
METRICS_TOKEN = "metrics-token-0123456789abcdef"
TEXT = "a long message to fill the queues quickly " * 35  # ~1.5 kB per event
FLOOD: dict[str, Any] = {
    "send_queue_bytes": 16384,
    "max_frame_bytes": 8192,
    "chat_per_second": 100_000.0,
    "chat_burst": 100_000,
    "messages_per_second": 100_000.0,
    "messages_burst": 100_000,
    "presence_grace": 0.3,
}


def parse(text: str) -> Figures:
    figures: Figures = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            figures[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return figures


async def scrape(http: httpx.AsyncClient, **headers: str) -> Figures:
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def value(figures: Figures, name: str, **labels: str) -> float:
    return figures.get((name, frozenset(labels.items())), 0.0)


def moved(before: Figures, after: Figures, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def test_counters_follow_what_the_clients_do(live_server: LiveServer) -> None:
    http = live_server.http
    start = await scrape(http)
    room = await open_classroom(live_server)
    teacher = await room.teacher(0)
    readers = [await room.student(0, "Inês", JSON), await room.student(1, "Amani")]
    joined = await scrape(http)
    assert moved(start, joined, "classbridge_connections_open") == 3
    assert moved(start, joined, "classbridge_sessions_loaded") == 1
    assert moved(start, joined, "classbridge_join_seconds_count", outcome="ok") == 3
    assert moved(start, joined, "classbridge_events_appended_total", family="presence") == 3

    posts = [seq_of(await teacher.chat(f"post {n}")) for n in range(2)]
    for reader in readers:
        await collect_until(reader, posts[-1])
    posted = await scrape(http)
    assert moved(joined, posted, "classbridge_events_appended_total", family="chat") == 2
    assert moved(joined, posted, "classbridge_events_appended_total", family="presence") == 0
    assert moved(joined, posted, "classbridge_events_delivered_total") == 2 * 3
    assert moved(joined, posted, "classbridge_fanout_seconds_count") == 2

    with pytest.raises(ClientError) as refused:
        await readers[0].request({"type": "no.such.thing"})
    assert refused.value.code == "unknown_type"
    await teacher.send_raw({"type": "leave"})
    assert await teacher.wait_closed() == 1000
    await readers[1].close()  # the client goes away: no close code from the server
    await _until(http, posted, "classbridge_connections_open", -2)
    ended = await scrape(http)
    assert moved(posted, ended, "classbridge_error_replies_total", code="unknown_type") == 1
    assert moved(posted, ended, "classbridge_closes_total", code="1000") == 1
    assert moved(posted, ended, "classbridge_closes_total", code="none") == 1


async def test_a_slow_consumer_is_counted(
    server_factory: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway, "CLOSE_TIMEOUT", 0.1)
    server = await server_factory(**FLOOD)
    room = await open_classroom(server)
    poster = await room.teacher(0)
    slow = server.client(
        await room.student_token(1, "Amani"), JSON, max_queue=1, receive_buffer=4096
    )
    await slow.connect()
    before = await scrape(server.http)
    slow.pause_reading()
    await _flood_until_closed(poster, participant_of(slow))
    slow.resume_reading()
    assert await slow.wait_closed() == 4008
    after = await scrape(server.http)
    assert moved(before, after, "classbridge_slow_consumer_closes_total") == 1
    assert moved(before, after, "classbridge_closes_total", code="4008") == 1


async def _flood_until_closed(poster: ClassbridgeClient, slow_id: str) -> None:
    for n in range(8000):
        await poster.chat(f"{n} {TEXT}")
        if n % 20 == 19 and any(
            e.kind == "participant.left" and e.data["participant_id"] == slow_id
            for e in poster.drain_events()
        ):
            return
    raise AssertionError("the slow consumer was never closed")


async def _until(http: httpx.AsyncClient, base: Figures, name: str, delta: float) -> None:
    async with asyncio.timeout(10):
        while True:  # the server sees the closes a moment after the clients
            if moved(base, await scrape(http), name) == delta:
                return
            await asyncio.sleep(0.02)


async def test_a_refused_join_is_timed_and_answered(live_server: LiveServer) -> None:
    before = await scrape(live_server.http)
    client = live_server.client("not-a-token")
    with pytest.raises(ConnectionError):
        await client.connect()
    after = await scrape(live_server.http)
    assert moved(before, after, "classbridge_join_seconds_count", outcome="refused") == 1
    assert moved(before, after, "classbridge_error_replies_total", code="token_invalid") == 1
    assert moved(before, after, "classbridge_closes_total", code="4010") == 1


async def test_with_a_token_metrics_need_it(server_factory: ServerFactory) -> None:
    server = await server_factory(metrics_token=METRICS_TOKEN)
    assert (await server.http.get("/metrics")).status_code == 401
    wrong = {"authorization": "Bearer not-the-metrics-token-at-all"}
    assert (await server.http.get("/metrics", headers=wrong)).status_code == 401
    await scrape(server.http, authorization=f"Bearer {METRICS_TOKEN}")


async def test_without_a_token_only_this_host_reads_metrics(
    server_factory: ServerFactory,
) -> None:
    # Behind a trusted proxy the client's own address counts: a remote one is refused.
    server = await server_factory(proxy_headers=True)
    remote = {"x-forwarded-for": "203.0.113.7"}
    response = await server.http.get("/metrics", headers=remote)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    await scrape(server.http, **{"x-forwarded-for": "127.0.0.1"})
